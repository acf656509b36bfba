package dev.peft4j.generate;

/**
 * Receives generated text while it is produced, on the thread that runs
 * {@link Generator#generate}. For each row, the pieces concatenate to that row's final
 * {@link GenerationResult#text()}: text is held back while it ends in an incomplete UTF-8
 * character or in what may be the start of a stop string.
 */
@FunctionalInterface
public interface TextStreamer {

  /**
   * The next piece of text of prompt {@code row} (its index in the prompt list); never empty.
   */
  void onText(int row, String piece);

  /** Row {@code row} has finished; called once per row, after its last piece. */
  default void onFinish(int row, FinishReason reason) {}
}
