package dev.peft4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TestSafeTensors;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SafeTensorsFile.share/copy: tensors taken from libtorch's mapping of the file. */
class SafeTensorsShareTest {
  @TempDir Path dir;

  @Test
  void aTensorOver2GiBIsSharedWhole() throws IOException {
    long numel = (1L << 29) + 2; // 2 GiB + 8 bytes of f32: more than one ByteBuffer holds
    String header = "{\"big\":{\"dtype\":\"F32\",\"shape\":[" + numel + "],\"data_offsets\":[0,"
        + 4 * numel + "]}}";
    header += " ".repeat((8 - header.length() % 8) % 8);
    Path file = dir.resolve("big.safetensors");
    TestSafeTensors.writeHeaderAndBytes(file, header, new byte[0]);
    long dataStart = 8 + header.length();
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.setLength(dataStart + 4 * numel); // sparse: reads as zeros, costs no disk
      raf.seek(dataStart + 4 * (numel - 1));
      raf.writeInt(Integer.reverseBytes(Float.floatToIntBits(42.5f))); // little-endian
    }
    try (SafeTensorsFile f = SafeTensorsFile.open(file); Scope scope = Scope.open()) {
      assertThatThrownBy(() -> f.data("big")).isInstanceOf(UnsupportedOperationException.class);
      Tensor big = f.share("big");
      assertThat(big.numel()).isEqualTo(numel);
      assertThat(big.narrow(0, numel - 1, 1).item()).isEqualTo(42.5);
      assertThat(big.narrow(0, 0, 1).item()).isEqualTo(0.0);
    }
  }

  @Test
  void shareAndCopyFailOnceClosedAndNameUnknownTensors() throws IOException {
    Path file = dir.resolve("t.safetensors");
    TestSafeTensors.writeHeaderAndBytes(file,
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}  ", new byte[8]);
    SafeTensorsFile f = SafeTensorsFile.open(file);
    Tensor w = f.share("w").retain(); // header of 56 bytes: aligned, so shared, not copied
    assertThatThrownBy(() -> f.copy("v")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no tensor named 'v'");
    f.close();
    assertThatThrownBy(() -> f.share("w")).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    assertThat(w.toFloatArray()).containsExactly(0f, 0f); // shared tensors outlive the file object
  }
}
