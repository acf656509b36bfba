package dev.peft4j.peft;

/** Hugging Face PEFT's {@code task_type}: what the adapted model is used for. */
public enum TaskType {
  CAUSAL_LM,
  SEQ_CLS,
  FEATURE_EXTRACTION,
  TOKEN_CLS,
  SEQ_2_SEQ_LM,
  QUESTION_ANS;

  /** Parses PEFT's name; null stays null (PEFT allows no task type). */
  public static TaskType parse(String name) {
    if (name == null) {
      return null;
    }
    try {
      return valueOf(name);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("unknown task_type '" + name + "'");
    }
  }
}
