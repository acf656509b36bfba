package dev.peft4j.io.hub;

import java.io.IOException;

/** Talking to the Hugging Face Hub or writing its cache failed. The message names the URL or path. */
public class HubException extends IOException {
  private static final long serialVersionUID = 1L;

  public HubException(String message) {
    super(message);
  }

  public HubException(String message, Throwable cause) {
    super(message, cause);
  }
}
