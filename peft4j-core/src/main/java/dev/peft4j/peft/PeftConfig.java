package dev.peft4j.peft;

import java.util.Map;

/**
 * The configuration of one PEFT method: immutable hyperparameters only, saved as
 * {@code adapter_config.json}. Each method family implements it in its own package.
 */
public interface PeftConfig {

  /** PEFT's {@code peft_type}, e.g. {@code "LORA"}. */
  String peftType();

  /** What the adapted model is for; may be null. */
  TaskType taskType();

  /** The base model this adapter was made for (path or repo id); may be null. */
  String baseModelNameOrPath();

  /** Modules trained in full and saved with the adapter ({@code modules_to_save}), or null. */
  java.util.List<String> modulesToSave();

  /**
   * How many positions the method puts in front of a sequence (prefix keys/values or virtual
   * tokens); they count against the model's context length. 0 for methods that change weights or
   * layers.
   */
  default int virtualPositions() {
    return 0;
  }

  /** Every field Hugging Face PEFT writes for this method, by its JSON name. */
  Map<String, Object> toJsonMap();
}
