package dev.peft4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A failed write leaves an existing file byte-for-byte intact and no temporary file behind. */
class SafeTensorsAtomicWriteTest {

  @TempDir Path dir;
  private Path file;
  private byte[] original;

  @BeforeEach
  void writeOriginal() throws IOException {
    file = dir.resolve("adapter_model.safetensors");
    SafeTensorsWriter.write(file, Map.of("old", TensorData.ofFloats(new long[] {2},
        new float[] {1f, 2f})), Map.of("v", "1"));
    original = Files.readAllBytes(file);
  }

  private void assertOriginalIntactAndNoTemporaryFile() throws IOException {
    assertThat(Files.readAllBytes(file)).isEqualTo(original);
    try (var listing = Files.list(dir)) {
      assertThat(listing).containsExactly(file);
    }
  }

  @Test
  void failureWhileWritingTheTemporaryFileKeepsTheOldFile() throws IOException {
    Map<String, TensorData> tensors = Map.of("new", TensorData.ofFloats(new long[] {1 << 20},
        new float[1 << 20]));
    // An interrupted thread makes the first write to the (already created) temporary file
    // fail: FileChannel is interruptible. Deterministic, and independent of being root.
    Thread.currentThread().interrupt();
    try {
      assertThatThrownBy(() -> SafeTensorsWriter.write(file, tensors, Map.of()))
          .isInstanceOf(ClosedByInterruptException.class);
    } finally {
      Thread.interrupted(); // clear the flag for the next tests
    }
    assertOriginalIntactAndNoTemporaryFile();
  }

  @Test
  void failureWhileRenamingKeepsTheOldFile() throws IOException {
    // The target is a non-empty directory: everything is written, then the rename fails.
    Path target = dir.resolve("occupied.safetensors");
    Files.createDirectory(target);
    Files.writeString(target.resolve("keep"), "x");
    assertThatThrownBy(() -> SafeTensorsWriter.write(target, Map.of("x",
        TensorData.ofFloats(new long[] {1}, new float[] {1f})))).isInstanceOf(IOException.class);
    assertThat(target.resolve("keep")).hasContent("x");
    try (var listing = Files.list(dir)) {
      assertThat(listing).containsExactlyInAnyOrder(file, target);
    }
  }

  @Test
  void invalidInputIsRejectedBeforeAnythingIsWritten() throws IOException {
    assertThatThrownBy(() -> SafeTensorsWriter.write(file, Map.of("__metadata__",
        TensorData.ofFloats(new long[] {1}, new float[] {1f})))).isInstanceOf(
            IllegalArgumentException.class);
    assertOriginalIntactAndNoTemporaryFile();
  }

  @Test
  void missingDirectoryFailsWithoutCreatingIt() {
    Path elsewhere = dir.resolve("missing").resolve("a.safetensors");
    assertThatThrownBy(() -> SafeTensorsWriter.write(elsewhere, Map.of()))
        .isInstanceOf(NoSuchFileException.class);
    assertThat(dir.resolve("missing")).doesNotExist();
  }

  @Test
  void successfulWriteReplacesTheFileAndLeavesNoTemporaryFile() throws IOException {
    SafeTensorsWriter.write(file, Map.of("new", TensorData.ofLongs(new long[] {1},
        new long[] {9})));
    try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
      assertThat(f.info("old")).isEmpty();
      assertThat(f.read("new").toLongArray()).containsExactly(9);
      assertThat(f.metadata()).isEmpty();
    }
    try (var listing = Files.list(dir)) {
      assertThat(listing).containsExactly(file);
    }
  }
}
