package dev.peft4j.tensor;

/**
 * An error raised by the native engine (libtorch) or by peft4j's use of it, as opposed to a
 * caller's bad argument ({@link IllegalArgumentException}) or wrong object state
 * ({@link IllegalStateException}).
 */
public final class EngineException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public EngineException(String message) {
    super(message);
  }

  public EngineException(String message, Throwable cause) {
    super(message, cause);
  }
}
