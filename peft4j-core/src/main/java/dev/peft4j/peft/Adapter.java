package dev.peft4j.peft;

import dev.peft4j.io.TensorData;
import dev.peft4j.nn.Parameter;
import dev.peft4j.tensor.DType;
import java.io.IOException;
import java.util.Map;

/** One PEFT method injected into a model under a name: its parameters, file form and merge. */
public interface Adapter {

  /**
   * The dtype of the tensors a method trains on a model of dtype {@code model}: float32 on a
   * bf16/f16 model, as PEFT's default {@code autocast_adapter_dtype=True} keeps them (stable
   * training), else the model's.
   */
  static DType trainedDType(DType model) {
    return model == DType.BF16 || model == DType.F16 ? DType.F32 : model;
  }

  PeftConfig config();

  /** The module names the method was attached to. */
  java.util.List<String> targetedModules();

  /** Parameters this method trains, by their path in the model. */
  Map<String, Parameter> trainableParameters();

  /**
   * The saved tensor name of each trainable parameter, in Hugging Face PEFT's naming
   * (e.g. {@code base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight}).
   */
  Map<String, Parameter> savedTensors();

  /**
   * Copies saved tensors into the parameters after checking that names and shapes fit exactly.
   *
   * @throws IOException listing missing and unexpected names, or naming a tensor whose shape
   *     does not fit (an adapter for another model)
   */
  void load(Map<String, TensorData> tensors, String source) throws IOException;

  /** Folds the method into the base weights; afterwards it no longer runs separately. */
  void merge();

  /** Undoes {@link #merge()}. */
  void unmerge();

  /** Whether {@link #merge()} is in effect. */
  boolean merged();

  /** Whether this method can be merged into the base weights at all. */
  boolean mergeable();

  /** Why {@link #mergeable()} is false, for the exception message. */
  default String whyNotMergeable() {
    return config().peftType() + " cannot be merged into the weights";
  }

  /**
   * Modules of the base model this method trains in full (e.g. layer norms per task), by path.
   * {@link PeftModel} treats them as {@code modules_to_save}: trained, saved under
   * {@code base_model.model.<path>}, and restored to their original values while adapters are
   * disabled. None by default.
   */
  default java.util.List<String> modulesTrainedInFull() {
    return java.util.List.of();
  }

  /** Detaches the method from the model (after merging, this leaves a plain model). */
  void unload();

}
