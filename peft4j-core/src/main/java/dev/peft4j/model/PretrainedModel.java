package dev.peft4j.model;

import dev.peft4j.nn.Module;
import java.util.Optional;

/** A model whose module tree carries Hugging Face parameter names and loads from a checkpoint. */
public abstract class PretrainedModel extends Module {

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
