package dev.peft4j.data;

/** One record of a dataset file is not valid; the reader adds the file and line. */
final class MalformedRecordException extends Exception {
  private static final long serialVersionUID = 1L;

  MalformedRecordException(String message) {
    super(message, null, false, false);
  }
}
