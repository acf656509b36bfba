package dev.peft4j.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MarkedSectionTest {
  private static final String B = "<!-- t:begin -->";
  private static final String E = "<!-- t:end -->";

  @TempDir Path dir;

  @Test
  void onlyTheLinesBetweenTheMarkersChange() throws Exception {
    String head = "a — ü\r\nline\n  " + B + "  \n";
    String tail = "   " + E + " trailing\n\nz";
    Path file = Files.writeString(dir.resolve("f.md"), head + "old\nold 2\n" + tail, StandardCharsets.UTF_8);
    byte[] headBytes = head.getBytes(StandardCharsets.UTF_8);
    byte[] tailBytes = tail.getBytes(StandardCharsets.UTF_8);
    MarkedSection.replace(file, "t", "new");
    byte[] out = Files.readAllBytes(file);
    assertThat(new String(out, StandardCharsets.UTF_8)).isEqualTo(head + "new\n" + tail);
    assertThat(java.util.Arrays.copyOfRange(out, 0, headBytes.length)).isEqualTo(headBytes);
    assertThat(java.util.Arrays.copyOfRange(out, out.length - tailBytes.length, out.length)).isEqualTo(tailBytes);
    // twice gives the same file
    MarkedSection.replace(file, "t", "new\n");
    assertThat(Files.readAllBytes(file)).isEqualTo(out);
  }

  @Test
  void badMarkersAreClearErrors() {
    assertThatThrownBy(() -> MarkedSection.replace("x\n" + E + "\n", "t", "c"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no '" + B + "' marker");
    assertThatThrownBy(() -> MarkedSection.replace(B + "\nx\n", "t", "c"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no '" + E + "' marker");
    assertThatThrownBy(() -> MarkedSection.replace(E + "\n" + B + "\n", "t", "c"))
        .hasMessageContaining("comes before");
    assertThatThrownBy(() -> MarkedSection.replace(B + "\n" + B + "\n" + E + "\n", "t", "c"))
        .hasMessageContaining("appears more than once");
    assertThatThrownBy(() -> MarkedSection.replace(B + " " + E + "\n", "t", "c"))
        .hasMessageContaining("must end its line");
  }

  @Test
  void theFileNamesItselfInErrors() throws Exception {
    Path file = Files.writeString(dir.resolve("g.md"), "nothing\n");
    assertThatThrownBy(() -> MarkedSection.replace(file, "t", "c")).hasMessageStartingWith(file + ": no");
    assertThat(Files.readString(file)).isEqualTo("nothing\n");
  }
}
