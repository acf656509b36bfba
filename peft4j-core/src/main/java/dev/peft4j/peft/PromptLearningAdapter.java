package dev.peft4j.peft;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.TensorData;
import dev.peft4j.nn.Parameter;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What prefix tuning, prompt tuning and P-tuning share: a {@link PromptSource} whose parameters
 * live outside the base model's module tree, named {@code prompt_encoder.<adapter>.…} as in PEFT,
 * and one saved tensor, {@code prompt_embeddings}, the table with any reparameterisation folded in
 * (PEFT's {@code get_prompt_embedding_to_save}). Loading keeps only that table, as PEFT loads for
 * inference.
 */
public abstract class PromptLearningAdapter implements UnmergeableAdapter {
  private final PeftConfig config;
  private final String name;
  private final String architecture;
  private final PromptSource source;

  protected PromptLearningAdapter(PeftConfig config, String name, String architecture, PromptSource source) {
    this.config = config;
    this.name = name;
    this.architecture = architecture;
    this.source = source;
  }

  /** The shape of {@code prompt_embeddings} for this adapter on this model. */
  protected abstract long[] savedShape();

  @Override
  public PeftConfig config() {
    return config;
  }

  /** {@code prompt_encoder.<name>.embedding.weight}, plus the reparameterisation's parameters until folded. */
  @Override
  public Map<String, Parameter> trainableParameters() {
    Map<String, Parameter> out = new LinkedHashMap<>();
    source.namedParameters().forEach((path, p) -> out.put("prompt_encoder." + name + "." + path, p));
    return out;
  }

  /** Whether the table is still computed through a reparameterisation (false after {@link #fold()} or loading). */
  public boolean reparameterised() {
    return source.reparameterised();
  }

  /**
   * Computes the table through the reparameterisation once and keeps only the result; the model's
   * outputs do not change. Training continues on the plain table.
   */
  public void fold() {
    if (source.reparameterised()) {
      try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
        source.fold(source.table());
      }
    }
  }

  /** {@code prompt_embeddings}: the table, any reparameterisation folded in. */
  @Override
  public Map<String, Parameter> savedTensors() {
    try (Engine.GradGuard g = Engine.noGrad()) {
      return Map.of(PromptTensors.PROMPT_EMBEDDINGS, PromptTensors.saved(source.table()));
    }
  }

  /** Loads the plain table; a reparameterisation is dropped. */
  @Override
  public void load(Map<String, TensorData> tensors, String file) throws ModelFormatException {
    PromptTensors.check(tensors, Map.of(PromptTensors.PROMPT_EMBEDDINGS, savedShape()), config.peftType(), architecture, file);
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      source.fold(PromptTensors.read(tensors, PromptTensors.PROMPT_EMBEDDINGS));
    }
  }
}
