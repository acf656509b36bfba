package dev.peft4j.generate;

import dev.peft4j.text.Tokenizer;
import java.util.Arrays;
import java.util.List;

/**
 * The decoded text of one row while it grows: finds stop strings and hands out the pieces that
 * are safe to stream. A piece never ends in an incomplete UTF-8 character (the decoder shows one
 * as U+FFFD until its last byte arrives) nor in a prefix of a stop string, so the pieces always
 * concatenate to the final text. Public for servers that decode one request at a time
 * ({@link #of}); not thread-safe.
 */
public final class RowText {
  private static final char REPLACEMENT = '\uFFFD';

  private final Tokenizer tokenizer;
  private final List<String> stopStrings;
  private final boolean incremental;
  private int[] ids = new int[16];
  private int count;
  private String text = "";
  private int emitted;
  private boolean stopped;

  /**
   * The text of one generated sequence.
   *
   * @param stopStrings texts that end the sequence (the text is cut before the first one)
   * @param streaming hand out pieces from {@link #add} (decodes after every token); otherwise
   *     {@link #add} returns "" and the text comes from {@link #finish()}
   */
  public static RowText of(Tokenizer tokenizer, List<String> stopStrings, boolean streaming) {
    return new RowText(tokenizer, List.copyOf(stopStrings), streaming);
  }

  /**
   * @param incremental decode after every token (for streaming or stop strings); otherwise only
   *     {@link #finish()} decodes
   */
  RowText(Tokenizer tokenizer, List<String> stopStrings, boolean incremental) {
    this.tokenizer = tokenizer;
    this.stopStrings = stopStrings;
    this.incremental = incremental || !stopStrings.isEmpty();
  }

  /**
   * Adds a generated token (not a stop token) and returns the text that became safe to stream,
   * possibly empty. Afterwards {@link #stoppedByString()} tells whether a stop string appeared.
   */
  public String add(long id) {
    if (count == ids.length) {
      ids = Arrays.copyOf(ids, 2 * count);
    }
    ids[count++] = Math.toIntExact(id);
    if (!incremental) {
      return "";
    }
    String full = decode();
    int stop = firstStop(full);
    if (stop >= 0) {
      stopped = true;
      text = full.substring(0, stop);
      return flush();
    }
    text = full;
    if (emitted > full.length()) {
      return ""; // the decoder changed earlier text; the rest is flushed at the end
    }
    int end = Math.max(emitted, Math.min(withoutPartialChar(full), full.length() - heldForStop(full)));
    String piece = full.substring(emitted, end);
    emitted = end;
    return piece;
  }

  /** Whether the text came to contain a stop string (then it ends just before it). */
  public boolean stoppedByString() {
    return stopped;
  }

  /** Ends the row: returns the text not streamed yet. */
  public String finish() {
    if (!incremental) {
      text = decode();
    }
    return flush();
  }

  /** The row's text: all of it after {@link #finish()}. */
  public String text() {
    return text;
  }

  private String flush() {
    String piece = text.substring(Math.min(emitted, text.length()));
    emitted = text.length();
    return piece;
  }

  private String decode() {
    return tokenizer.decode(Arrays.copyOf(ids, count), true);
  }

  /** The earliest start of a stop string at or after the streamed text, or -1. */
  private int firstStop(String full) {
    int first = -1;
    for (String s : stopStrings) {
      int at = full.indexOf(s, emitted);
      if (at >= 0 && (first < 0 || at < first)) {
        first = at;
      }
    }
    return first;
  }

  /** The length of {@code full} without a trailing run of U+FFFD (an incomplete character). */
  private static int withoutPartialChar(String full) {
    int end = full.length();
    while (end > 0 && full.charAt(end - 1) == REPLACEMENT) {
      end--;
    }
    return end;
  }

  /** The length of the longest suffix of {@code full} that is a proper prefix of a stop string. */
  private int heldForStop(String full) {
    int held = 0;
    for (String s : stopStrings) {
      for (int n = Math.min(s.length() - 1, full.length()); n > held; n--) {
        if (full.regionMatches(full.length() - n, s, 0, n)) {
          held = n;
          break;
        }
      }
    }
    return held;
  }
}
