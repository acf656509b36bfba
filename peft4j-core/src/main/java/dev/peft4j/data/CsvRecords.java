package dev.peft4j.data;

import java.util.ArrayList;
import java.util.List;

/**
 * An RFC 4180 parser over a whole text: fields separated by commas, records by CRLF, LF or CR;
 * a field in double quotes may hold commas, line breaks and doubled quotes ({@code ""} for one
 * {@code "}). Completely empty lines are skipped.
 */
final class CsvRecords {
  /** One record and the 1-based line it starts on. */
  record Row(List<String> fields, int line) {}

  /** The text cannot be split into records; fatal for the rest of the file. */
  static final class SyntaxException extends Exception {
    private static final long serialVersionUID = 1L;
    final int line;

    SyntaxException(int line, String message) {
      super(message, null, false, false);
      this.line = line;
    }
  }

  private final String text;
  private int pos;
  private int line = 1;

  CsvRecords(String text) {
    this.text = text;
  }

  /** The next record, or {@code null} at the end of the text. */
  Row next() throws SyntaxException {
    while (pos < text.length() && isLineBreak(text.charAt(pos))) { // blank lines
      lineBreak();
    }
    if (pos >= text.length()) {
      return null;
    }
    int start = line;
    List<String> fields = new ArrayList<>();
    while (true) {
      fields.add(pos < text.length() && text.charAt(pos) == '"' ? quoted() : unquoted());
      if (pos >= text.length()) {
        return new Row(fields, start);
      }
      char c = text.charAt(pos);
      if (c == ',') {
        pos++;
      } else { // a line break: quoted() and unquoted() stop only at ',', a line break or the end
        lineBreak();
        return new Row(fields, start);
      }
    }
  }

  private String unquoted() throws SyntaxException {
    int begin = pos;
    while (pos < text.length()) {
      char c = text.charAt(pos);
      if (c == ',' || isLineBreak(c)) {
        break;
      }
      if (c == '"') {
        throw new SyntaxException(line, "a double quote inside an unquoted field (quote the whole field and double"
            + " the quote: \"a \"\"b\"\"\")");
      }
      pos++;
    }
    return text.substring(begin, pos);
  }

  private String quoted() throws SyntaxException {
    int startLine = line;
    pos++; // opening quote
    StringBuilder out = new StringBuilder();
    while (true) {
      if (pos >= text.length()) {
        throw new SyntaxException(startLine, "unterminated quoted field (no closing double quote)");
      }
      char c = text.charAt(pos);
      if (c == '"') {
        if (pos + 1 < text.length() && text.charAt(pos + 1) == '"') {
          out.append('"');
          pos += 2;
          continue;
        }
        pos++; // closing quote
        if (pos < text.length() && text.charAt(pos) != ',' && !isLineBreak(text.charAt(pos))) {
          throw new SyntaxException(line, "unexpected character '" + text.charAt(pos)
              + "' after a closing double quote (expected a comma or the end of the line)");
        }
        return out.toString();
      }
      if (isLineBreak(c)) {
        int before = pos;
        lineBreak();
        out.append(text, before, pos);
      } else {
        out.append(c);
        pos++;
      }
    }
  }

  /** Consumes one CRLF, LF or CR at {@code pos} and counts the line. */
  private void lineBreak() {
    if (text.charAt(pos) == '\r' && pos + 1 < text.length() && text.charAt(pos + 1) == '\n') {
      pos++;
    }
    pos++;
    line++;
  }

  private static boolean isLineBreak(char c) {
    return c == '\n' || c == '\r';
  }
}
