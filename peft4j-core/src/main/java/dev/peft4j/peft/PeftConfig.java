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
   * Whether the method adds virtual positions to the sequence: keys and values in front of the
   * attention's (prefix tuning) or tokens in front of the input (prompt tuning, P-tuning).
   */
  default boolean addsVirtualPositions() {
    return false;
  }

  /** Every field Hugging Face PEFT writes for this method, by its JSON name. */
  Map<String, Object> toJsonMap();
}
