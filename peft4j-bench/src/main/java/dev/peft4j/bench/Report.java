package dev.peft4j.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one benchmark case measured: a JSON object ({@code "case"} first, snake_case keys,
 * sizes in MiB, times in ms) and the same figures as a human table with notes.
 */
public final class Report {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String title;
  private final Map<String, Object> json = new LinkedHashMap<>();
  private final List<Table> tables = new ArrayList<>();
  private final List<String> notes = new ArrayList<>();

  public Report(String caseName, String title) {
    this.title = title;
    json.put("case", caseName);
    json.put("measured_at", java.time.OffsetDateTime.now(java.time.ZoneOffset.UTC)
        .truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
  }

  /** Adds a JSON field; doubles are rounded to 4 significant digits. */
  public Report put(String key, Object value) {
    json.put(key, round(value));
    return this;
  }

  public Report table(Table table) {
    tables.add(table);
    return this;
  }

  public Report note(String note) {
    notes.add(note);
    return this;
  }

  public String title() {
    return title;
  }

  public Map<String, Object> json() {
    return json;
  }

  public List<Table> tables() {
    return tables;
  }

  public List<String> notes() {
    return notes;
  }

  /** The JSON object on one line. */
  public String toJson() {
    try {
      return JSON.writeValueAsString(json);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The human form: title, tables, notes. */
  public String toText() {
    StringBuilder sb = new StringBuilder("== ").append(title).append(" ==\n");
    for (Table t : tables) {
      sb.append(t.render()).append('\n');
    }
    for (String n : notes) {
      sb.append("  ").append(n).append('\n');
    }
    return sb.toString();
  }

  /** Prints one JSON line ({@code json}) or the human form. */
  public void print(PrintStream out, boolean asJson) {
    out.println(asJson ? toJson() : toText());
    out.flush();
  }

  @SuppressWarnings("unchecked")
  static Object round(Object value) {
    if (value instanceof Double) {
      double d = (Double) value;
      if (!Double.isFinite(d) || d == 0) {
        return Double.isFinite(d) ? d : null;
      }
      return new java.math.BigDecimal(d).round(new java.math.MathContext(4)).doubleValue();
    }
    if (value instanceof Map) {
      Map<String, Object> out = new LinkedHashMap<>();
      ((Map<String, Object>) value).forEach((k, v) -> out.put(k, round(v)));
      return out;
    }
    if (value instanceof List) {
      List<Object> out = new ArrayList<>();
      ((List<Object>) value).forEach(v -> out.add(round(v)));
      return out;
    }
    return value;
  }
}
