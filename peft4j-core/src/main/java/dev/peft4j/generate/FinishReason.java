package dev.peft4j.generate;

/** Why a row stopped generating. */
public enum FinishReason {
  /** It produced one of the stop token ids (included in its ids, not in its text). */
  STOP_TOKEN,
  /** Its text came to contain a stop string (its text ends just before it). */
  STOP_STRING,
  /** It produced {@link GenerationConfig#maxNewTokens()} tokens. */
  LENGTH
}
