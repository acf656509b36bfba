package dev.peft4j.io;

import dev.peft4j.tensor.DType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes safetensors files byte-for-byte as Python's {@code safetensors} writes them.
 *
 * <p>Layout, as in its {@code prepare()}: tensors are sorted by dtype alignment, largest first
 * (I64, F64, F32, I32, BF16, F16, I8, U8, BOOL: the reverse of the Rust {@code Dtype} enum
 * order), then by name (UTF-8 byte order); data is laid out contiguously in that order, so each
 * tensor starts at a multiple of its element size. The header is compact JSON with
 * {@code "__metadata__"} first (only when metadata is non-empty; its keys sorted by name, where
 * Python's order is a hash map's), then the tensors in layout order, each as
 * {@code {"dtype":..,"shape":[..],"data_offsets":[begin,end]}}, padded with spaces to a multiple
 * of 8 bytes. Strings are escaped as serde_json does ({@code \"}, {@code \\}, {@code \n}-style
 * short forms, other control characters as lower-case <code>&#92;u00xx</code>; non-ASCII kept
 * as UTF-8).
 *
 * <p>The file is written to a temporary file in the target's directory, forced to disk, and
 * atomically renamed over the target, so an existing file is never left half-written: on any
 * failure the target is untouched and the temporary file is deleted.
 */
public final class SafeTensorsWriter {

  /** Bytes handed to the channel per write call, bounding the JDK's temporary direct buffer. */
  private static final int CHUNK_BYTES = 8 << 20;

  private SafeTensorsWriter() {}

  /** Writes {@code tensors} without metadata; see {@link #write(Path, Map, Map)}. */
  public static void write(Path file, Map<String, TensorData> tensors) throws IOException {
    write(file, tensors, Map.of());
  }

  /**
   * Writes {@code tensors} and {@code metadata} to {@code file}, atomically replacing it if it
   * exists.
   *
   * @param file the target; its directory must exist
   * @param tensors name → tensor; names may be any string except {@code "__metadata__"}
   * @param metadata string → string, stored under {@code "__metadata__"} when non-empty
   * @throws IllegalArgumentException if a name is {@code "__metadata__"}, a string has an
   *     unpaired surrogate, or the header would exceed {@link SafeTensorsFile#MAX_HEADER_BYTES};
   *     checked before anything is written
   * @throws IOException if writing or renaming fails; the target is then unchanged
   */
  public static void write(Path file, Map<String, TensorData> tensors,
      Map<String, String> metadata) throws IOException {
    Objects.requireNonNull(file, "file");
    List<Entry> layout = layout(Objects.requireNonNull(tensors, "tensors"));
    byte[] header = header(layout, Objects.requireNonNull(metadata, "metadata"));

    Path target = file.toAbsolutePath();
    Path temp = target.resolveSibling("." + target.getFileName() + "."
        + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
    try {
      // CREATE_NEW with default permissions: the result gets the umask's mode, as a plain write.
      try (FileChannel channel =
          FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        ByteBuffer prefix = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
        prefix.putLong(header.length).put(header).flip();
        writeFully(channel, prefix);
        for (Entry e : layout) {
          writeFully(channel, e.tensor.data());
        }
        channel.force(true);
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (Throwable t) {
      try {
        Files.deleteIfExists(temp);
      } catch (IOException suppressed) {
        t.addSuppressed(suppressed);
      }
      throw t;
    }
  }

  /** One tensor in layout order, with its offsets in the data section. */
  private static final class Entry {
    final String name;
    final byte[] utf8Name;
    final TensorData tensor;
    long begin;
    long end;

    Entry(String name, TensorData tensor) {
      this.name = name;
      this.utf8Name = name.getBytes(StandardCharsets.UTF_8);
      this.tensor = tensor;
    }
  }

  private static List<Entry> layout(Map<String, TensorData> tensors) {
    List<Entry> entries = new ArrayList<>(tensors.size());
    for (Map.Entry<String, TensorData> e : tensors.entrySet()) {
      String name = Objects.requireNonNull(e.getKey(), "tensor name");
      if (SafeTensorsFile.METADATA_KEY.equals(name)) {
        throw new IllegalArgumentException(
            "'" + SafeTensorsFile.METADATA_KEY + "' is reserved and cannot name a tensor");
      }
      entries.add(new Entry(name,
          Objects.requireNonNull(e.getValue(), () -> "tensor '" + name + "' is null")));
    }
    entries.sort(Comparator.<Entry>comparingInt(e -> -alignmentRank(e.tensor.dtype()))
        .thenComparing((a, b) -> Arrays.compareUnsigned(a.utf8Name, b.utf8Name)));
    long offset = 0;
    for (Entry e : entries) {
      e.begin = offset;
      offset = Math.addExact(offset, e.tensor.byteLength());
      e.end = offset;
    }
    return entries;
  }

  /** The dtype's position in the Rust safetensors {@code Dtype} enum (increasing alignment). */
  private static int alignmentRank(DType dtype) {
    switch (dtype) {
      case BOOL: return 0;
      case U8: return 1;
      case I8: return 2;
      case F16: return 7;
      case BF16: return 8;
      case I32: return 9;
      case F32: return 11;
      case F64: return 12;
      case I64: return 13;
      default:
        throw new IllegalArgumentException("no safetensors layout rank for dtype " + dtype);
    }
  }

  private static byte[] header(List<Entry> layout, Map<String, String> metadata) {
    StringBuilder json = new StringBuilder("{");
    if (!metadata.isEmpty()) {
      json.append('"').append(SafeTensorsFile.METADATA_KEY).append("\":{");
      List<Map.Entry<String, String>> sorted = new ArrayList<>(metadata.size());
      for (Map.Entry<String, String> m : metadata.entrySet()) {
        Objects.requireNonNull(m.getKey(), "metadata key");
        Objects.requireNonNull(m.getValue(), () -> "metadata value of '" + m.getKey() + "'");
        sorted.add(m);
      }
      sorted.sort(Comparator.comparing(
          (Map.Entry<String, String> m) -> m.getKey().getBytes(StandardCharsets.UTF_8),
          Arrays::compareUnsigned));
      String separator = "";
      for (Map.Entry<String, String> m : sorted) {
        json.append(separator);
        appendString(json, m.getKey(), "metadata key");
        json.append(':');
        appendString(json, m.getValue(), "metadata value");
        separator = ",";
      }
      json.append('}');
      if (!layout.isEmpty()) {
        json.append(',');
      }
    }
    String separator = "";
    for (Entry e : layout) {
      json.append(separator);
      appendString(json, e.name, "tensor name");
      json.append(":{\"dtype\":\"").append(e.tensor.dtype().safetensorsName())
          .append("\",\"shape\":[");
      long[] shape = e.tensor.shape();
      for (int i = 0; i < shape.length; i++) {
        json.append(i == 0 ? "" : ",").append(shape[i]);
      }
      json.append("],\"data_offsets\":[").append(e.begin).append(',').append(e.end).append("]}");
      separator = ",";
    }
    json.append('}');

    byte[] utf8 = json.toString().getBytes(StandardCharsets.UTF_8);
    int padding = (8 - utf8.length % 8) % 8;
    if ((long) utf8.length + padding > SafeTensorsFile.MAX_HEADER_BYTES) {
      throw new IllegalArgumentException("header would be " + (utf8.length + padding)
          + " bytes, over the " + SafeTensorsFile.MAX_HEADER_BYTES + "-byte limit readers accept");
    }
    byte[] padded = Arrays.copyOf(utf8, utf8.length + padding);
    Arrays.fill(padded, utf8.length, padded.length, (byte) ' ');
    return padded;
  }

  /** Appends {@code s} as a JSON string literal, escaped exactly as serde_json escapes it. */
  private static void appendString(StringBuilder json, String s, String what) {
    json.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"': json.append("\\\""); break;
        case '\\': json.append("\\\\"); break;
        case '\b': json.append("\\b"); break;
        case '\f': json.append("\\f"); break;
        case '\n': json.append("\\n"); break;
        case '\r': json.append("\\r"); break;
        case '\t': json.append("\\t"); break;
        default:
          if (c < 0x20) {
            json.append("\\u00").append(Character.forDigit(c >> 4, 16))
                .append(Character.forDigit(c & 0xF, 16));
          } else if (Character.isHighSurrogate(c) && i + 1 < s.length()
              && Character.isLowSurrogate(s.charAt(i + 1))) {
            json.append(c).append(s.charAt(++i));
          } else if (Character.isSurrogate(c)) {
            throw new IllegalArgumentException(what + " has an unpaired surrogate at index " + i
                + ", which UTF-8 cannot encode: " + s.replace(c, '?'));
          } else {
            json.append(c);
          }
      }
    }
    json.append('"');
  }

  private static void writeFully(FileChannel channel, ByteBuffer source) throws IOException {
    ByteBuffer rest = source.duplicate();
    while (rest.hasRemaining()) {
      ByteBuffer chunk = rest.duplicate();
      chunk.limit(chunk.position() + Math.min(rest.remaining(), CHUNK_BYTES));
      while (chunk.hasRemaining()) {
        channel.write(chunk);
      }
      rest.position(chunk.position());
    }
  }
}
