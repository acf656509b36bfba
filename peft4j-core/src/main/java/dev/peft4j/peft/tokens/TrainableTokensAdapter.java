package dev.peft4j.peft.tokens;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.TensorData;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Embedding;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.peft.DeltaAdapter;
import dev.peft4j.peft.AdapterFormat;
import dev.peft4j.peft.ModuleSelector;
import dev.peft4j.peft.TargetMatcher;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Trainable tokens alone ({@link TrainableTokensConfig}) attached to a model under one adapter
 * name: one {@link TrainableTokensDelta} per targeted embedding. A head tied to a targeted table
 * sees the trained rows too, and PEFT saves them a second time under the head's name.
 */
public final class TrainableTokensAdapter extends DeltaAdapter<TrainableTokensDelta> {
  /** The module name of a tied output head in Hugging Face's LLaMA and GPT-2 models. */
  private static final String TIED_HEAD = "lm_head";

  private TrainableTokensAdapter(PretrainedModel model, String name, TrainableTokensConfig config,
      Map<String, TrainableTokensDelta> deltas) {
    super(model, name, config, deltas);
  }

  /**
   * Attaches {@code config} as adapter {@code name}: the rows in the model's input embedding, or
   * in every embedding {@code target_modules} selects (PEFT's matching). Everything is checked first.
   *
   * @throws IllegalArgumentException if the targets select no embedding or something else, or an id is outside a table
   */
  public static TrainableTokensAdapter attach(PretrainedModel model, TrainableTokensConfig config, String name,
      AdapterControl control) {
    Map<String, TokenRows> rows = config.targetModules() == null
        ? TokenRows.ofInputEmbedding(model, config.tokenIndices(), "token_indices")
        : selected(model, config);
    TokenRows.check(rows, name, "token_indices");
    return new TrainableTokensAdapter(model, name, config, TokenRows.attach(rows, name, config.initWeights(), control));
  }

  private static Map<String, TokenRows> selected(PretrainedModel model, TrainableTokensConfig config) {
    ModuleSelector targets = config.targetModules();
    if (targets instanceof ModuleSelector.AllLinear) {
      throw new IllegalArgumentException("target_modules of trainable tokens names embeddings, not all-linear");
    }
    Map<String, TokenRows> rows = new LinkedHashMap<>();
    model.namedModules().forEach((path, m) -> {
      if (!path.isEmpty() && TargetMatcher.matches(targets, path)) {
        if (!(m instanceof Embedding table)) {
          throw new IllegalArgumentException("target_modules " + targets.toJson() + " selects '" + path + "' ("
              + m.getClass().getSimpleName() + "); trainable tokens train rows of embeddings only");
        }
        rows.put(path, new TokenRows(table, config.tokenIndices()));
      }
    });
    if (rows.isEmpty()) {
      throw new IllegalArgumentException("target_modules " + targets.toJson() + " selects no embedding of "
          + model.architecture());
    }
    return rows;
  }

  @Override
  protected String describe() {
    return "the trainable tokens";
  }

  /** For a table tied to the output head, the same rows again as {@code lm_head.trainable_tokens_delta}, as PEFT writes them. */
  @Override
  protected Map<String, Parameter> extraSavedTensors() {
    String tied = tiedTable();
    return tied == null ? Map.of() : Map.of(saved(TIED_HEAD), deltas.get(tied).delta());
  }

  private static String saved(String module) {
    return AdapterFormat.TUNER_PREFIX + module + "." + TrainableTokensDelta.PARAMETER;
  }

  /** The targeted table the output head shares, or null. */
  private String tiedTable() {
    Embedding tied = model.tiedEmbedding();
    Map<String, Module> modules = model.namedModules();
    return deltas.keySet().stream().filter(table -> modules.get(table) == tied).findFirst().orElse(null);
  }

  /** Loads the rows; the tied head's copy is optional and, when present, must hold the same rows as its table. */
  @Override
  public void load(Map<String, TensorData> tensors, String source) throws ModelFormatException {
    String tied = tiedTable();
    if (tied == null) {
      loadExactly(tensors, source, List.of());
      return;
    }
    TensorData copy = tensors.get(saved(TIED_HEAD));
    TensorData rows = tensors.get(saved(tied));
    if (copy != null && rows != null && !copy.data().equals(rows.data())) {
      throw new ModelFormatException(source + ": " + saved(TIED_HEAD) + " holds other rows than " + saved(tied)
          + ", the table the head is tied to");
    }
    loadExactly(tensors, source, List.of(saved(TIED_HEAD)));
  }
}
