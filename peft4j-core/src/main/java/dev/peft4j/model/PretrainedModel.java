package dev.peft4j.model;

import dev.peft4j.io.HfConfig;
import dev.peft4j.nn.Embedding;
import dev.peft4j.nn.Module;
import java.util.Optional;

/** A model whose module tree carries Hugging Face parameter names and loads from a checkpoint. */
public abstract class PretrainedModel extends Module {
  private HfConfig hfConfig;
  private String sourceName;

  /** Records where the model came from (set by {@link AutoModel}). */
  final void setSource(HfConfig config, String name) {
    this.hfConfig = config;
    this.sourceName = name;
  }

  /** The config.json this model was built from, or null if built in code. */
  public final HfConfig hfConfig() {
    return hfConfig;
  }

  /** The config.json {@link ModelWriter} writes for this model: the one it was built from, unless it changed. */
  public HfConfig savedConfig() {
    return hfConfig;
  }

  /** The directory or repo id the model was loaded from, or null. */
  public final String sourceName() {
    return sourceName;
  }

  /**
   * The embedding whose table the output head multiplies by too (tied word embeddings), or null:
   * a change to its weight changes the head as well.
   */
  public Embedding tiedEmbedding() {
    return null;
  }

  /** The Hugging Face class this model reproduces, e.g. {@code LlamaForCausalLM}. */
  public abstract String architecture();

  /** The {@code model_type} of the config it was built from. */
  public abstract String modelType();

  /**
   * The parameter path that checkpoint tensor {@code name} fills. Names are normalised here
   * (e.g. a missing {@code transformer.} prefix); a known buffer or tied copy that holds no
   * parameter maps to empty. A name whose path is not a parameter is unexpected.
   */
  public abstract Optional<String> parameterPath(String checkpointName);
}
