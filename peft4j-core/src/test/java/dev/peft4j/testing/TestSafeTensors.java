package dev.peft4j.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Minimal safetensors writer for test fixtures, independent of peft4j's reader. Layout: 8-byte
 * little-endian header length N, N bytes of JSON header (padded with spaces so N is a multiple
 * of 8), then the little-endian tensor data; offsets in the header are relative to the data.
 */
public final class TestSafeTensors {
  private TestSafeTensors() {}

  /**
   * Writes {@code data} in map order with element type {@code dtype} ("F32" or "BF16", the
   * latter rounded to nearest even). The header shape comes from {@code shapes} (or [length]
   * when absent) and is not checked against the data, so broken files can be made on purpose;
   * data_offsets always describe the bytes actually written.
   */
  public static void write(Path file, Map<String, float[]> data, Map<String, long[]> shapes, String dtype) {
    int elementSize = elementSize(dtype);
    StringBuilder header = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
    long offset = 0;
    for (Map.Entry<String, float[]> e : data.entrySet()) {
      long[] shape = shapes == null ? null : shapes.get(e.getKey());
      if (shape == null) {
        shape = new long[] {e.getValue().length};
      }
      long end = offset + (long) e.getValue().length * elementSize;
      header.append(',').append(quote(e.getKey())).append(":{\"dtype\":").append(quote(dtype))
          .append(",\"shape\":[");
      for (int i = 0; i < shape.length; i++) {
        header.append(i == 0 ? "" : ",").append(shape[i]);
      }
      header.append("],\"data_offsets\":[").append(offset).append(',').append(end).append("]}");
      offset = end;
    }
    header.append('}');
    while (header.toString().getBytes(StandardCharsets.UTF_8).length % 8 != 0) {
      header.append(' ');
    }
    ByteBuffer bytes = ByteBuffer.allocate(Math.toIntExact(offset)).order(ByteOrder.LITTLE_ENDIAN);
    for (float[] values : data.values()) {
      for (float v : values) {
        if (elementSize == 4) {
          bytes.putFloat(v);
        } else {
          bytes.putShort((short) bf16Bits(v));
        }
      }
    }
    writeHeaderAndBytes(file, header.toString(), bytes.array());
  }

  /** Raw writer for hostile files: length prefix, header exactly as given (no padding), data. */
  public static void writeHeaderAndBytes(Path file, String headerJson, byte[] data) {
    byte[] header = headerJson.getBytes(StandardCharsets.UTF_8);
    ByteBuffer buf = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    buf.putLong(header.length).put(header).put(data);
    try {
      Files.write(file, buf.array());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Bytes per element of a supported dtype name. */
  public static int elementSize(String dtype) {
    if (!dtype.equals("F32") && !dtype.equals("BF16")) {
      throw new IllegalArgumentException("unsupported fixture dtype " + dtype);
    }
    return dtype.equals("F32") ? 4 : 2;
  }

  /** The 16 bf16 bits of {@code f}, rounded to nearest, ties to even (NaN stays a quiet NaN). */
  public static int bf16Bits(float f) {
    int bits = Float.floatToRawIntBits(f);
    if (Float.isNaN(f)) {
      return ((bits >>> 16) | 0x40) & 0xFFFF;
    }
    int lsb = (bits >>> 16) & 1;
    return ((bits + 0x7FFF + lsb) >>> 16) & 0xFFFF;
  }

  /** {@code f} rounded to the nearest bf16 value, as a float. */
  public static float roundToBf16(float f) {
    return Float.intBitsToFloat(bf16Bits(f) << 16);
  }

  static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char ch : s.toCharArray()) {
      if (ch == '"' || ch == '\\') {
        b.append('\\').append(ch);
      } else if (ch < 0x20) {
        b.append(String.format("\\u%04x", (int) ch));
      } else {
        b.append(ch);
      }
    }
    return b.append('"').toString();
  }
}
