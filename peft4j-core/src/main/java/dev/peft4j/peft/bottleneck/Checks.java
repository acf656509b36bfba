package dev.peft4j.peft.bottleneck;

/** Argument checks whose message template is formatted only on failure (Guava's checkArgument). */
final class Checks {
  private Checks() {}

  /** @throws IllegalArgumentException with {@code String.format(template, args)} unless {@code condition} */
  static void require(boolean condition, String template, Object... args) {
    if (!condition) {
      throw new IllegalArgumentException(String.format(java.util.Locale.ROOT, template, args));
    }
  }
}
