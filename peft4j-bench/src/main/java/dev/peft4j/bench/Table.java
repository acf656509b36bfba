package dev.peft4j.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** A plain-text table with aligned columns (numbers right-aligned). */
public final class Table {
  private final List<String> header;
  private final List<List<String>> rows = new ArrayList<>();

  public Table(String... header) {
    this.header = List.of(header);
  }

  /** Adds a row; each cell is formatted with {@link #cell}. */
  public Table row(Object... cells) {
    if (cells.length != header.size()) {
      throw new IllegalArgumentException("row has " + cells.length + " cells, header " + header.size());
    }
    List<String> r = new ArrayList<>();
    for (Object c : cells) {
      r.add(cell(c));
    }
    rows.add(r);
    return this;
  }

  public List<List<String>> rows() {
    return rows;
  }

  public List<String> header() {
    return header;
  }

  /** Doubles with 4 significant digits (no exponent below 1e7), null as "-". */
  public static String cell(Object value) {
    if (value == null) {
      return "-";
    }
    if (value instanceof Double || value instanceof Float) {
      double d = ((Number) value).doubleValue();
      if (!Double.isFinite(d)) {
        return String.valueOf(d);
      }
      double a = Math.abs(d);
      if (a >= 1000 || a == 0) {
        return String.format(Locale.ROOT, "%,.0f", d);
      }
      if (a >= 100) {
        return String.format(Locale.ROOT, "%.1f", d);
      }
      if (a >= 1) {
        return String.format(Locale.ROOT, "%.2f", d);
      }
      return String.format(Locale.ROOT, "%.3f", d);
    }
    return String.valueOf(value);
  }

  /** The table as aligned text, one line per row, ending in a newline. */
  public String render() {
    int[] width = new int[header.size()];
    for (int i = 0; i < width.length; i++) {
      width[i] = header.get(i).length();
      for (List<String> r : rows) {
        width[i] = Math.max(width[i], r.get(i).length());
      }
    }
    StringBuilder sb = new StringBuilder();
    line(sb, header, width, false);
    StringBuilder rule = new StringBuilder();
    for (int i = 0; i < width.length; i++) {
      rule.append(i == 0 ? "" : "  ").append("-".repeat(width[i]));
    }
    sb.append(rule).append('\n');
    for (List<String> r : rows) {
      line(sb, r, width, true);
    }
    return sb.toString();
  }

  /** The table as a GitHub-flavoured Markdown table. */
  public String markdown() {
    StringBuilder sb = new StringBuilder("| ").append(String.join(" | ", header)).append(" |\n|");
    for (int i = 0; i < header.size(); i++) {
      sb.append(i == 0 ? " --- |" : " ---: |");
    }
    sb.append('\n');
    for (List<String> r : rows) {
      sb.append("| ").append(String.join(" | ", r)).append(" |\n");
    }
    return sb.toString();
  }

  private static void line(StringBuilder sb, List<String> cells, int[] width, boolean alignNumbers) {
    for (int i = 0; i < cells.size(); i++) {
      String c = cells.get(i);
      boolean right = alignNumbers && i > 0 && looksNumeric(c);
      String pad = " ".repeat(width[i] - c.length());
      sb.append(i == 0 ? "" : "  ").append(right ? pad + c : c + (i == cells.size() - 1 ? "" : pad));
    }
    sb.append('\n');
  }

  private static boolean looksNumeric(String c) {
    return c.matches("[-+]?[\\d,]+(\\.\\d+)?%?") || c.equals("-");
  }
}
