package dev.peft4j.io;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.tensor.DType;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The writer's bytes equal what Python's safetensors writes. Every expected header below is
 * written out by hand from the format's rules (tensors by decreasing dtype alignment, then name;
 * compact JSON, {@code __metadata__} first; spaces up to a multiple of 8), never taken from the
 * writer. The first and third cases are the ones safetensors' own Rust tests pin byte for byte.
 */
class SafeTensorsHeaderBytesTest {

  @TempDir Path dir;

  /** 8-byte little-endian header length, header (already padded), data. */
  private static byte[] expectedFile(long headerLength, String paddedHeader, byte[] data) {
    byte[] header = paddedHeader.getBytes(StandardCharsets.UTF_8);
    assertThat(header.length).as("hand-computed header length").isEqualTo(headerLength);
    assertThat(header.length % 8).as("padded to 8").isZero();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(headerLength)
        .array());
    out.writeBytes(header);
    out.writeBytes(data);
    return out.toByteArray();
  }

  private static byte[] floats(float... v) {
    ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    for (float f : v) {
      b.putFloat(f);
    }
    return b.array();
  }

  private byte[] written(Map<String, TensorData> tensors, Map<String, String> metadata)
      throws Exception {
    Path file = dir.resolve("t.safetensors");
    SafeTensorsWriter.write(file, tensors, metadata);
    return Files.readAllBytes(file);
  }

  @Test
  void singleTensorNeedingNoPadding() throws Exception {
    TensorData attn = TensorData.ofFloats(new long[] {1, 2, 3}, new float[] {0, 1, 2, 3, 4, 5});
    // 64 bytes of JSON: already a multiple of 8.
    String header = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
    assertThat(written(Map.of("attn.0", attn), Map.of()))
        .isEqualTo(expectedFile(64, header, floats(0, 1, 2, 3, 4, 5)));
  }

  @Test
  void singleTensorPaddedWithSevenSpaces() throws Exception {
    TensorData attn = TensorData.ofFloats(new long[] {1, 1, 2, 3}, new float[] {0, 1, 2, 3, 4, 5});
    // 65 bytes of JSON + 7 spaces = 72.
    String header =
        "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ";
    assertThat(written(Map.of("attn0", attn), Map.of()))
        .isEqualTo(expectedFile(72, header, floats(0, 1, 2, 3, 4, 5)));
  }

  @Test
  void emptyFileWithAndWithoutMetadata() throws Exception {
    // "{}" + 6 spaces.
    assertThat(written(Map.of(), Map.of())).isEqualTo(expectedFile(8, "{}      ", new byte[0]));
    // 35 bytes + 5 spaces.
    assertThat(written(Map.of(), Map.of("framework", "pt")))
        .isEqualTo(expectedFile(40, "{\"__metadata__\":{\"framework\":\"pt\"}}     ", new byte[0]));
  }

  @Test
  void metadataKeysAreSorted() throws Exception {
    Map<String, String> metadata = new LinkedHashMap<>();
    metadata.put("b", "2");
    metadata.put("a", "1");
    // 34 bytes + 6 spaces.
    assertThat(written(Map.of(), metadata))
        .isEqualTo(expectedFile(40, "{\"__metadata__\":{\"a\":\"1\",\"b\":\"2\"}}      ",
            new byte[0]));
  }

  @Test
  void mixedDtypesAreLaidOutByDecreasingAlignmentThenName() throws Exception {
    Map<String, TensorData> tensors = new LinkedHashMap<>();
    tensors.put("a", new TensorData(DType.F16, new long[] {3},
        SafeTensorsRoundTripTest.shorts(0x3C00, 0x4000, 0x4200))); // 1, 2, 3
    tensors.put("a2", new TensorData(DType.BF16, new long[] {1},
        SafeTensorsRoundTripTest.shorts(0x3F80))); // 1
    tensors.put("b", TensorData.ofFloats(new long[] {2}, new float[] {1f, 2f}));
    tensors.put("c", TensorData.ofLongs(new long[] {}, new long[] {5}));

    // I64 "c" [0,8), F32 "b" [8,16), BF16 "a2" [16,18), F16 "a" [18,24).
    // 250 bytes of JSON + 6 spaces = 256.
    String header = "{\"__metadata__\":{\"format\":\"pt\"},"
        + "\"c\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
        + "\"a2\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[16,18]},"
        + "\"a\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[18,24]}}"
        + "      ";
    byte[] data = {
      5, 0, 0, 0, 0, 0, 0, 0, // c = 5L
      0, 0, (byte) 0x80, 0x3F, 0, 0, 0, 0x40, // b = 1f, 2f
      (byte) 0x80, 0x3F, // a2 = bf16 1
      0, 0x3C, 0, 0x40, 0, 0x42 // a = f16 1, 2, 3
    };
    assertThat(written(tensors, Map.of("format", "pt"))).isEqualTo(expectedFile(256, header, data));
  }

  @Test
  void stringsAreEscapedAsSerdeJsonDoes() throws Exception {
    String name = "q\"b\\\n" + (char) 1 + "é";
    TensorData t = new TensorData(DType.U8, new long[] {2}, ByteBuffer.wrap(new byte[] {7, 9}));
    // JSON: "q\"b\\\n\u0001é" (é is 2 bytes of UTF-8): 68 bytes + 4 spaces.
    String header = "{\"q\\\"b\\\\\\n\\u0001é\":{\"dtype\":\"U8\",\"shape\":[2],"
        + "\"data_offsets\":[0,2]}}    ";
    assertThat(written(Map.of(name, t), Map.of()))
        .isEqualTo(expectedFile(72, header, new byte[] {7, 9}));
  }
}
