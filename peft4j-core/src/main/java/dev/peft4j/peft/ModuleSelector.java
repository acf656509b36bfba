package dev.peft4j.peft;

import java.util.List;
import java.util.regex.Pattern;

/**
 * How a config names modules ({@code target_modules}, {@code exclude_modules}): a list of names
 * (exact or suffix match), a regular expression (full match), or {@code "all-linear"}.
 */
public sealed interface ModuleSelector {

  /** Exact names or dotted suffixes, e.g. {@code ["q_proj", "v_proj"]}. */
  record Names(List<String> names) implements ModuleSelector {
    public Names {
      names = List.copyOf(names);
      if (names.isEmpty()) {
        throw new IllegalArgumentException("a module name list must not be empty");
      }
    }
  }

  /** A Python-style regular expression matched against the whole module name. */
  record Regex(String regex, Pattern pattern) implements ModuleSelector {
    public Regex(String regex) {
      this(regex, Pattern.compile(regex));
    }
  }

  /** PEFT's {@code "all-linear"}: every linear layer except the output head. */
  record AllLinear() implements ModuleSelector {}

  /** Parses a JSON value: a list of strings, {@code "all-linear"}, or a regex string. */
  static ModuleSelector fromJson(Object value) {
    if (value instanceof List) {
      return new Names(((List<?>) value).stream().map(String::valueOf).sorted().toList());
    }
    String s = (String) value;
    return s.equals("all-linear") ? new AllLinear() : new Regex(s);
  }

  /** The JSON value PEFT writes: a sorted list or a string. */
  default Object toJson() {
    if (this instanceof Names) {
      return ((Names) this).names().stream().sorted().toList();
    }
    return this instanceof Regex ? ((Regex) this).regex() : "all-linear";
  }

  static ModuleSelector names(String... names) {
    return new Names(List.of(names));
  }
}
