package dev.peft4j.cli;

import java.nio.file.NoSuchFileException;

/** Turns an exception into the one line the CLI prints. */
final class Errors {
  private Errors() {}

  static String describe(Throwable e) {
    if (e instanceof NoSuchFileException) {
      return "no such file: " + e.getMessage();
    }
    String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().strip();
    // libtorch appends a native backtrace after its message
    int trace = message.indexOf("\nException raised from");
    if (trace > 0) {
      message = message.substring(0, trace).strip();
    }
    int newline = message.indexOf('\n');
    return newline > 0 ? message.substring(0, newline) : message;
  }
}
