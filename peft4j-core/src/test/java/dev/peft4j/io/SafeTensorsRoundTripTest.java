package dev.peft4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.tensor.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ReadOnlyBufferException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsRoundTripTest {

  @TempDir Path dir;

  /** Little-endian 16-bit patterns as a buffer, for F16 / BF16 tensors with known values. */
  static ByteBuffer shorts(int... bits) {
    ByteBuffer b = ByteBuffer.allocate(2 * bits.length).order(ByteOrder.LITTLE_ENDIAN);
    for (int v : bits) {
      b.putShort((short) v);
    }
    return b.flip();
  }

  private static Map<String, TensorData> sample() {
    Map<String, TensorData> t = new LinkedHashMap<>();
    t.put("f32", TensorData.ofFloats(new long[] {2, 3},
        new float[] {1f, -2f, 3.5f, -0f, Float.MIN_VALUE, Float.MAX_VALUE}));
    // 1.0, -2.0, 2^-24 (smallest subnormal), 65504 (largest finite)
    t.put("f16", new TensorData(DType.F16, new long[] {4},
        shorts(0x3C00, 0xC000, 0x0001, 0x7BFF)));
    // 1.0, -3.0, 3.140625, 0
    t.put("bf16", new TensorData(DType.BF16, new long[] {2, 2},
        shorts(0x3F80, 0xC040, 0x4049, 0x0000)));
    t.put("i64", TensorData.ofLongs(new long[] {3},
        new long[] {Long.MIN_VALUE, 0, Long.MAX_VALUE}));
    t.put("scalar", TensorData.ofFloats(new long[] {}, new float[] {42f}));
    t.put("empty", TensorData.ofFloats(new long[] {0, 5}, new float[0]));
    return t;
  }

  @Test
  void roundTripsEveryDtypeWithMetadataScalarAndEmptyTensor() throws Exception {
    Path file = dir.resolve("model.safetensors");
    Map<String, TensorData> tensors = sample();
    Map<String, String> metadata = Map.of("format", "pt", "peft4j", "0.1.0");

    SafeTensorsWriter.write(file, tensors, metadata);

    try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
      assertThat(f.path()).isEqualTo(file);
      assertThat(f.metadata()).isEqualTo(metadata);
      assertThat(f.tensors()).extracting(TensorInfo::name)
          .containsExactlyInAnyOrderElementsOf(tensors.keySet());
      assertThat(f.tensors()).isSortedAccordingTo(Comparator.comparingLong(TensorInfo::begin));
      for (Map.Entry<String, TensorData> e : tensors.entrySet()) {
        assertThat(f.read(e.getKey())).as(e.getKey()).isEqualTo(e.getValue());
        TensorInfo info = f.info(e.getKey()).orElseThrow();
        assertThat(info.dtype()).isEqualTo(e.getValue().dtype());
        assertThat(info.shape()).isEqualTo(e.getValue().shape());
        // laid out by decreasing alignment: every tensor starts at a multiple of its element size
        assertThat(info.begin() % info.dtype().byteSize()).isZero();
      }

      assertThat(f.read("f32").toFloatArray())
          .containsExactly(1f, -2f, 3.5f, -0f, Float.MIN_VALUE, Float.MAX_VALUE);
      assertThat(f.read("f16").toFloatArray()).containsExactly(1f, -2f, 0x1p-24f, 65504f);
      assertThat(f.read("bf16").toFloatArray()).containsExactly(1f, -3f, 3.140625f, 0f);
      assertThat(f.read("i64").toLongArray()).containsExactly(Long.MIN_VALUE, 0, Long.MAX_VALUE);

      TensorInfo scalar = f.info("scalar").orElseThrow();
      assertThat(scalar.rank()).isZero();
      assertThat(scalar.numel()).isEqualTo(1);
      assertThat(scalar.byteLength()).isEqualTo(4);
      assertThat(f.read("scalar").toFloatArray()).containsExactly(42f);

      TensorInfo empty = f.info("empty").orElseThrow();
      assertThat(empty.shape()).containsExactly(0, 5);
      assertThat(empty.numel()).isZero();
      assertThat(empty.byteLength()).isZero();
      assertThat(f.data("empty").remaining()).isZero();
      assertThat(f.read("empty").toFloatArray()).isEmpty();
    }
  }

  @Test
  void dataIsAReadOnlyLittleEndianMappingThatOutlivesClose() throws Exception {
    Path file = dir.resolve("a.safetensors");
    SafeTensorsWriter.write(file, Map.of("w", TensorData.ofFloats(new long[] {2},
        new float[] {1.5f, -7f})), Map.of());

    SafeTensorsFile f = SafeTensorsFile.open(file);
    ByteBuffer data = f.data("w");
    assertThat(data.isDirect()).isTrue();
    assertThat(data.isReadOnly()).isTrue();
    assertThat(data.order()).isEqualTo(ByteOrder.LITTLE_ENDIAN);
    assertThat(data.remaining()).isEqualTo(8);
    assertThatThrownBy(() -> data.put(0, (byte) 1)).isInstanceOf(ReadOnlyBufferException.class);
    f.close();
    f.close(); // idempotent
    assertThatThrownBy(() -> f.data("w")).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
    assertThat(data.getFloat(0)).isEqualTo(1.5f);
    assertThat(data.getFloat(4)).isEqualTo(-7f);
  }

  @Test
  void metadataIsEmptyWhenAbsentAndUnknownNamesAreRejected() throws Exception {
    Path file = dir.resolve("a.safetensors");
    SafeTensorsWriter.write(file, Map.of("w", TensorData.ofLongs(new long[] {1}, new long[] {7})));
    try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
      assertThat(f.metadata()).isEmpty();
      assertThat(f.info("nope")).isEmpty();
      assertThatThrownBy(() -> f.data("nope")).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining(file.toString()).hasMessageContaining("'nope'");
      assertThatThrownBy(() -> f.read("nope")).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void writesAFileWithNoTensors() throws Exception {
    Path file = dir.resolve("none.safetensors");
    SafeTensorsWriter.write(file, Map.of(), Map.of("k", "v"));
    try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
      assertThat(f.tensors()).isEmpty();
      assertThat(f.metadata()).containsExactly(Map.entry("k", "v"));
    }
  }

  @Test
  void namesAndMetadataSurviveEscapingAndNonAscii() throws Exception {
    Path file = dir.resolve("odd.safetensors");
    String name = "layer \"0\"\\\n\t\u0001/ünï😀";
    Map<String, String> metadata = Map.of("ключ", "значение\u001f", "", "");
    SafeTensorsWriter.write(file, Map.of(name, TensorData.ofFloats(new long[] {1},
        new float[] {3f})), metadata);
    try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
      assertThat(f.read(name).toFloatArray()).containsExactly(3f);
      assertThat(f.metadata()).isEqualTo(metadata);
    }
  }

  @Test
  void overwritesAnExistingFile() throws Exception {
    Path file = dir.resolve("a.safetensors");
    Files.writeString(file, "old content");
    SafeTensorsWriter.write(file, Map.of("x", TensorData.ofFloats(new long[] {1},
        new float[] {2f})));
    try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
      assertThat(f.read("x").toFloatArray()).containsExactly(2f);
    }
    try (var listing = Files.list(dir)) {
      assertThat(listing).containsExactly(file);
    }
  }

  @Test
  void writerRejectsReservedNamesUnpairedSurrogatesAndNulls() {
    Path file = dir.resolve("a.safetensors");
    TensorData t = TensorData.ofFloats(new long[] {1}, new float[] {1f});
    assertThatThrownBy(() -> SafeTensorsWriter.write(file, Map.of("__metadata__", t)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("reserved");
    assertThatThrownBy(() -> SafeTensorsWriter.write(file, Map.of("bad\uD800", t)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unpaired surrogate");
    assertThatThrownBy(() -> SafeTensorsWriter.write(file, Map.of("x", t), Map.of("k", "\uDC00")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("metadata value");
    Map<String, TensorData> withNull = new LinkedHashMap<>();
    withNull.put("x", null);
    assertThatThrownBy(() -> SafeTensorsWriter.write(file, withNull))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("'x'");
    assertThat(file).doesNotExist();
  }
}
