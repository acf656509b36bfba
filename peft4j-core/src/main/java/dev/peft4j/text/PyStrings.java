package dev.peft4j.text;

/** Python string behaviour that chat templates rely on, written once. */
final class PyStrings {
  private PyStrings() {}

  /**
   * Python's {@code str.strip()} with no argument, which is also what Jinja's {@code trim} filter
   * calls. Python's whitespace ({@code str.isspace}) includes the no-break spaces and U+0085 that
   * {@link String#strip()} keeps, so this is not {@code String.strip}.
   */
  static String strip(String s) {
    int start = 0;
    int end = s.length();
    while (start < end && isSpace(s.charAt(start))) {
      start++;
    }
    while (end > start && isSpace(s.charAt(end - 1))) {
      end--;
    }
    return s.substring(start, end);
  }

  /** Python's {@code str.isspace()} for one UTF-16 unit (all such code points are in the BMP). */
  static boolean isSpace(char c) {
    return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085';
  }
}
