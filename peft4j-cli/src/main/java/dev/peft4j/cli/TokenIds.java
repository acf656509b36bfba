package dev.peft4j.cli;

import java.util.ArrayList;
import java.util.List;

/** Parses {@code --input-ids 1,5,7;1,9,4,2}: sequences separated by ';', ids by ','. */
final class TokenIds {
  private TokenIds() {}

  static long[][] parse(String text) {
    List<long[]> rows = new ArrayList<>();
    for (String row : text.split(";", -1)) {
      String trimmed = row.strip();
      if (trimmed.isEmpty()) {
        throw new IllegalArgumentException("--input-ids has an empty sequence: '" + text + "'");
      }
      String[] parts = trimmed.split(",", -1);
      long[] ids = new long[parts.length];
      for (int i = 0; i < parts.length; i++) {
        try {
          ids[i] = Long.parseLong(parts[i].strip());
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("--input-ids: '" + parts[i].strip() + "' is not a token id");
        }
      }
      rows.add(ids);
    }
    return rows.toArray(new long[0][]);
  }
}
