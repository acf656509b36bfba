package dev.peft4j.data;

/**
 * How a dataset reader treats bad records.
 *
 * @param skipMalformed skip records that are not valid (bad JSON, a missing or wrongly typed
 *     field, a CSV row with the wrong number of fields) and count them in {@link
 *     Dataset#skipped()}, instead of failing on the first one. Errors that make the rest of the
 *     file unreadable (invalid UTF-8, an unterminated CSV quote, a bad CSV header) always fail.
 */
public record ReadOptions(boolean skipMalformed) {
  /** Fail on the first malformed record. */
  public static final ReadOptions STRICT = new ReadOptions(false);

  /** Skip malformed records and count them. */
  public static final ReadOptions SKIP_MALFORMED = new ReadOptions(true);
}
