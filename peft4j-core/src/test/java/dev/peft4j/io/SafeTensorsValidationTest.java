package dev.peft4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Broken and hostile files, crafted byte by byte; each must fail with a precise message. */
class SafeTensorsValidationTest {

  @TempDir Path dir;
  private int count;

  /** Writes {@code prefix} (the 8-byte length, LE), then {@code header}, then zero data bytes. */
  private Path craft(long declaredLength, byte[] header, int dataBytes) throws IOException {
    Path file = dir.resolve("crafted" + (count++) + ".safetensors");
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW,
        StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataBytes)
          .order(ByteOrder.LITTLE_ENDIAN);
      b.putLong(declaredLength).put(header).position(b.capacity()).flip();
      while (b.hasRemaining()) {
        ch.write(b);
      }
    }
    return file;
  }

  /** A file whose header is {@code json} (its true length) followed by {@code dataBytes}. */
  private Path craft(String json, int dataBytes) throws IOException {
    byte[] header = json.getBytes(StandardCharsets.UTF_8);
    return craft(header.length, header, dataBytes);
  }

  private static AbstractThrowableAssert<?, ? extends Throwable> assertRejected(Path file) {
    return assertThatThrownBy(() -> SafeTensorsFile.open(file).close())
        .isInstanceOf(SafeTensorsFormatException.class)
        .hasMessageStartingWith(file.toString() + ": ");
  }

  private static AbstractThrowableAssert<?, ? extends Throwable> assertRejected(Path file,
      String tensor) {
    return assertRejected(file)
        .hasMessageStartingWith(file + ": tensor '" + tensor + "': ")
        .satisfies(e -> assertThat(((SafeTensorsFormatException) e).tensor()).contains(tensor));
  }

  private static String entry(String dtype, String shape, String offsets) {
    return "{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
  }

  @Test
  void fileShorterThanTheLengthPrefix() throws IOException {
    Path file = dir.resolve("short.safetensors");
    Files.write(file, new byte[] {1, 2, 3, 4, 5});
    assertRejected(file).hasMessageContaining("file is 5 bytes long, shorter than the 8-byte");
  }

  @Test
  void hugeHeaderLengthsAreRejectedBeforeAllocating() throws IOException {
    Path file = craft(1L << 60, "{}".getBytes(StandardCharsets.UTF_8), 0);
    assertRejected(file)
        .hasMessageContaining("header length 1152921504606846976 exceeds the limit");
    // u64 max reads as -1 in Java: must not slip through as a negative length
    assertRejected(craft(-1L, new byte[0], 0)).hasMessageContaining("18446744073709551615");
    assertRejected(craft(SafeTensorsFile.MAX_HEADER_BYTES + 1, new byte[0], 0))
        .hasMessageContaining("exceeds the limit of 104857600 bytes");
  }

  @Test
  void headerLongerThanTheFileIsTruncation() throws IOException {
    Path file = craft(1000, "{}".getBytes(StandardCharsets.UTF_8), 0);
    assertRejected(file).hasMessageContaining("truncated: header length 1000 but only 2 bytes");
  }

  @Test
  void headerMustBeUtf8() throws IOException {
    byte[] header = {'{', '"', 'a', (byte) 0xFF, '"', ':', '1', '}'};
    assertRejected(craft(header.length, header, 0)).hasMessageContaining("not valid UTF-8");
  }

  @Test
  void headerMustBeAJsonObject() throws IOException {
    assertRejected(craft("{\"a\": ", 0)).hasMessageContaining("header is not valid JSON");
    assertRejected(craft("[]", 0)).hasMessageContaining("must be a JSON object, found an array");
    assertRejected(craft("", 0)).hasMessageContaining("must be a JSON object, found nothing");
    assertRejected(craft("{}{}", 0)).hasMessageContaining("content after its JSON object");
    assertRejected(craft("{\"a\":[1]}", 0), "a")
        .hasMessageContaining("entry must be an object with dtype, shape and data_offsets");
  }

  @Test
  void duplicateKeys() throws IOException {
    String a = entry("F32", "[1]", "[0,4]");
    assertRejected(craft("{\"a\":" + a + ",\"a\":" + a + "}", 4), "a")
        .hasMessageContaining("duplicate key 'a' in header");
    assertRejected(craft("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[1],"
        + "\"data_offsets\":[0,4]}}", 4), "a")
        .hasMessageContaining("duplicate key 'dtype' in its entry");
    assertRejected(craft("{\"__metadata__\":{},\"__metadata__\":{}}", 0))
        .hasMessageContaining("duplicate key '__metadata__'");
    assertRejected(craft("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0))
        .hasMessageContaining("duplicate key 'k' in __metadata__");
  }

  @Test
  void dtypeMustBePresentAndKnown() throws IOException {
    assertRejected(craft("{\"w\":{\"shape\":[1],\"data_offsets\":[0,1]}}", 1), "w")
        .hasMessageContaining("entry has no \"dtype\"");
    assertRejected(craft("{\"w\":" + entry("F8_E4M3", "[1]", "[0,1]") + "}", 1), "w")
        .hasMessageContaining("unsupported dtype 'F8_E4M3'");
    assertRejected(craft("{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,1]}}", 1), "w")
        .hasMessageContaining("\"dtype\" must be a string, found 4");
  }

  @Test
  void shapeMustBeNonNegativeIntegers() throws IOException {
    assertRejected(craft("{\"w\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}", 1), "w")
        .hasMessageContaining("entry has no \"shape\"");
    assertRejected(craft("{\"w\":" + entry("U8", "[-1]", "[0,1]") + "}", 1), "w")
        .hasMessageContaining("\"shape\" must contain non-negative 64-bit integers, found -1");
    assertRejected(craft("{\"w\":" + entry("U8", "[1.0]", "[0,1]") + "}", 1), "w")
        .hasMessageContaining("found 1.0 at index 0");
    assertRejected(craft("{\"w\":" + entry("U8", "[1,18446744073709551616]", "[0,1]") + "}", 1),
        "w").hasMessageContaining("found 18446744073709551616 at index 1");
    assertRejected(craft("{\"w\":" + entry("U8", "\"1\"", "[0,1]") + "}", 1), "w")
        .hasMessageContaining("\"shape\" must be an array");
  }

  @Test
  void dataOffsetsMustBeAnOrderedPairInsideTheDataSection() throws IOException {
    assertRejected(craft("{\"w\":{\"dtype\":\"U8\",\"shape\":[1]}}", 1), "w")
        .hasMessageContaining("entry has no \"data_offsets\"");
    assertRejected(craft("{\"w\":" + entry("U8", "[1]", "[0,1,2]") + "}", 2), "w")
        .hasMessageContaining("must be [begin, end], found 3 numbers");
    assertRejected(craft("{\"w\":" + entry("U8", "[0]", "[-1,-1]") + "}", 1), "w")
        .hasMessageContaining("\"data_offsets\" must contain non-negative");
    assertRejected(craft("{\"w\":" + entry("U8", "[4]", "[8,4]") + "}", 8), "w")
        .hasMessageContaining("data_offsets [8, 4] end before they begin");
  }

  @Test
  void byteCountMustMatchShapeTimesDtypeSize() throws IOException {
    assertRejected(craft("{\"w\":" + entry("F32", "[2,2]", "[0,12]") + "}", 16), "w")
        .hasMessageContaining(
            "shape [2, 2] of F32 needs 16 bytes, but data_offsets [0, 12] span 12");
  }

  @Test
  void byteCountOverflowIsDetected() throws IOException {
    // 2^32 * 2^32 elements overflow before the dtype size is applied ...
    assertRejected(craft("{\"w\":" + entry("F32", "[4294967296,4294967296]", "[0,0]") + "}", 0),
        "w").hasMessageContaining("shape [4294967296, 4294967296] of F32 overflows");
    // ... and 2^62 elements of 4 bytes overflow on the size (2^62 * 4 = 2^64 wraps to 0)
    assertRejected(craft("{\"w\":" + entry("F32", "[4611686018427387904]", "[0,0]") + "}", 0),
        "w").hasMessageContaining("overflows a 64-bit byte count");
  }

  @Test
  void tensorPastTheEndOfTheFileIsTruncation() throws IOException {
    String header = "{\"a\":" + entry("F32", "[2]", "[0,8]") + ",\"b\":"
        + entry("F32", "[4]", "[8,24]") + "}";
    assertRejected(craft(header, 20), "b").hasMessageContaining(
        "file is truncated: the tensor ends at byte 24 of the data section, which holds only 20");
  }

  @Test
  void overlappingTensors() throws IOException {
    String header = "{\"a\":" + entry("F32", "[2]", "[0,8]") + ",\"b\":"
        + entry("F32", "[2]", "[4,12]") + "}";
    assertRejected(craft(header, 12), "b")
        .hasMessageContaining("bytes [4, 12) overlap tensor 'a' [0, 8)");
    String same = "{\"a\":" + entry("U8", "[4]", "[0,4]") + ",\"b\":"
        + entry("U8", "[4]", "[0,4]") + "}";
    assertRejected(craft(same, 4), "b").hasMessageContaining("overlap tensor 'a'");
  }

  @Test
  void metadataMustMapStringsToStrings() throws IOException {
    assertRejected(craft("{\"__metadata__\":{\"k\":1}}", 0))
        .hasMessageContaining("\"__metadata__\" value of key 'k' must be a string, found 1");
    assertRejected(craft("{\"__metadata__\":{\"k\":null}}", 0))
        .hasMessageContaining("value of key 'k' must be a string, found null");
    assertRejected(craft("{\"__metadata__\":[]}", 0))
        .hasMessageContaining("\"__metadata__\" must be an object of strings, found an array");
  }

  @Test
  void acceptsWhatPythonMightAlsoWrite() throws IOException {
    // gaps, trailing bytes, unknown entry fields, an empty tensor sharing an offset, padding,
    // and tensors listed out of offset order
    String header = "{\"b\":" + entry("U8", "[2]", "[4,6]") + ",\"a\":"
        + "{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2],\"extra\":{\"x\":[1]}},"
        + "\"e\":" + entry("F32", "[0]", "[5,5]") + ",\"__metadata__\":{}}   ";
    try (SafeTensorsFile f = SafeTensorsFile.open(craft(header, 10))) {
      assertThat(f.tensors()).extracting(TensorInfo::name).containsExactly("a", "b", "e");
      assertThat(f.metadata()).isEmpty();
      assertThat(f.data("b").remaining()).isEqualTo(2);
    }
  }
}
