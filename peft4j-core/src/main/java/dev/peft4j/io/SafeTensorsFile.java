package dev.peft4j.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.MappedFile;
import dev.peft4j.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A safetensors file opened for reading: the header is parsed and validated once, and each
 * tensor's bytes are memory-mapped on request, without copying: as a Java buffer
 * ({@link #data}) or as a libtorch tensor sharing a copy-on-write mapping of the file
 * ({@link #share}; {@link #copy} gives one that owns its memory).
 *
 * <p>Layout: an unsigned 64-bit little-endian header length {@code n}, then {@code n} bytes of
 * UTF-8 JSON mapping each tensor name to {@code {"dtype", "shape", "data_offsets": [begin,
 * end]}} (plus an optional {@code "__metadata__"} object of strings), then the data section the
 * offsets point into.
 *
 * <p>{@link #open} rejects, with a {@link SafeTensorsFormatException} naming the file and tensor:
 * a file shorter than 8 bytes; a header longer than 100 MiB or than the rest of the file (checked
 * before anything is allocated); a header that is not UTF-8, not a JSON object, or has duplicate
 * keys; an entry with a missing or unsupported dtype, a shape that is not a list of non-negative
 * integers, data offsets that are not {@code 0 <= begin <= end}, a byte count that does not match
 * shape × dtype size (computed without overflow), or an end past the data section (a truncated
 * file); overlapping tensors; non-string metadata values. Unknown fields inside an entry are
 * ignored, as Python's safetensors does. Gaps between tensors and trailing bytes are allowed.
 *
 * <p>Instances are thread-safe. Buffers returned by {@link #data} stay valid after {@link #close}
 * (the mapping lives until the buffer is garbage-collected), and so do tensors returned by
 * {@link #share} (the mapping lives until the last of them is freed); new calls after close
 * fail.
 */
public final class SafeTensorsFile implements AutoCloseable {

  /** Largest header {@link #open} accepts: 100 MiB. */
  public static final long MAX_HEADER_BYTES = 100L << 20;

  static final String METADATA_KEY = "__metadata__";

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path path;
  private final FileChannel channel;
  private final long dataStart;
  private final long fileSize;
  private final Map<String, String> metadata;
  private final List<TensorInfo> tensors;
  private final Map<String, TensorInfo> byName;
  private volatile boolean closed;
  private MappedFile mapping; // the whole file for share/copy, mapped on first use; guarded by this

  private SafeTensorsFile(Path path, FileChannel channel, long dataStart, long fileSize,
      Map<String, String> metadata, List<TensorInfo> tensors) {
    this.path = path;
    this.channel = channel;
    this.dataStart = dataStart;
    this.fileSize = fileSize;
    this.metadata = Collections.unmodifiableMap(metadata);
    this.tensors = List.copyOf(tensors);
    Map<String, TensorInfo> index = new HashMap<>();
    for (TensorInfo t : tensors) {
      index.put(t.name(), t);
    }
    this.byName = index;
  }

  /**
   * Opens {@code path} and validates its whole header before mapping or allocating anything
   * sized by the file's contents.
   *
   * @throws SafeTensorsFormatException if the file is malformed (see the class comment)
   * @throws IOException if the file cannot be read
   */
  public static SafeTensorsFile open(Path path) throws IOException {
    FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
    try {
      long fileSize = channel.size();
      if (fileSize < 8) {
        throw new SafeTensorsFormatException(path, null, "file is " + fileSize
            + " bytes long, shorter than the 8-byte header length that starts a safetensors file");
      }
      ByteBuffer prefix = readFully(path, channel, 0, 8);
      long headerLength = prefix.order(ByteOrder.LITTLE_ENDIAN).getLong(0);
      if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) { // < 0: u64 above 2^63
        throw new SafeTensorsFormatException(path, null, "header length "
            + Long.toUnsignedString(headerLength) + " exceeds the limit of " + MAX_HEADER_BYTES
            + " bytes (100 MiB)");
      }
      if (headerLength > fileSize - 8) {
        throw new SafeTensorsFormatException(path, null, "file is truncated: header length "
            + headerLength + " but only " + (fileSize - 8) + " bytes follow it");
      }
      String json = decodeUtf8(path, readFully(path, channel, 8, (int) headerLength));
      long dataSize = fileSize - 8 - headerLength;
      HeaderParser parsed = new HeaderParser(path, dataSize);
      parsed.parse(json);
      return new SafeTensorsFile(path, channel, 8 + headerLength, fileSize, parsed.metadata,
          parsed.tensors);
    } catch (IOException | RuntimeException | Error e) {
      try {
        channel.close();
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /** The file this was opened from. */
  public Path path() {
    return path;
  }

  /** The header's {@code "__metadata__"} strings, in file order; empty if absent. */
  public Map<String, String> metadata() {
    return metadata;
  }

  /** Every tensor's header entry, sorted by begin offset (then end, then name). */
  public List<TensorInfo> tensors() {
    return tensors;
  }

  /** The header entry of {@code name}, if the file has such a tensor. */
  public Optional<TensorInfo> info(String name) {
    return Optional.ofNullable(byName.get(name));
  }

  /**
   * The bytes of tensor {@code name}: a read-only little-endian buffer memory-mapped from the
   * file (one mapping per call, no copy; files larger than 2 GiB work).
   *
   * @throws IllegalArgumentException if there is no such tensor
   * @throws IllegalStateException if this file is closed
   * @throws UnsupportedOperationException if the tensor alone exceeds 2 GiB, the limit of a
   *     {@link ByteBuffer}
   * @throws UncheckedIOException if mapping fails
   */
  public ByteBuffer data(String name) {
    TensorInfo t = require(name);
    if (closed) {
      throw new IllegalStateException(path + ": closed");
    }
    long length = t.byteLength();
    if (length > Integer.MAX_VALUE) {
      throw new UnsupportedOperationException(path + ": tensor '" + name + "' is " + length
          + " bytes; a single ByteBuffer holds at most " + Integer.MAX_VALUE);
    }
    if (length == 0) {
      return ByteBuffer.allocate(0).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }
    try {
      return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + t.begin(), length)
          .order(ByteOrder.LITTLE_ENDIAN);
    } catch (ClosedChannelException e) {
      throw new IllegalStateException(path + ": closed", e);
    } catch (IOException e) {
      throw new UncheckedIOException(path + ": cannot map tensor '" + name + "'", e);
    }
  }

  /**
   * Tensor {@code name}'s dtype, shape and mapped bytes together; same failures as
   * {@link #data}.
   */
  public TensorData read(String name) {
    TensorInfo t = require(name);
    return new TensorData(t.dtype(), t.shape(), data(name));
  }

  /**
   * Tensor {@code name} in its stored dtype, sharing the file's copy-on-write mapping: no copy,
   * and the pages are read when first used (see {@link MappedFile}: in-place writes copy the
   * page and never reach the file; the mapping lives as long as the tensor). A tensor whose
   * bytes are not aligned to its element size in the file (the format does not require it) is
   * copied instead, as by {@link #copy}.
   *
   * @throws IllegalArgumentException if there is no such tensor
   * @throws IllegalStateException if this file is closed
   * @throws dev.peft4j.tensor.EngineException if the file cannot be mapped (e.g. it was
   *     truncated after {@link #open})
   */
  public Tensor share(String name) {
    TensorInfo t = require(name);
    long offset = dataStart + t.begin();
    return MappedFile.aligned(offset, t.dtype())
        ? mapping().share(offset, t.dtype(), t.shape())
        : mapping().copy(offset, t.dtype(), t.shape());
  }

  /**
   * Tensor {@code name} in its stored dtype, copied out of the file's mapping into memory it
   * owns (one {@code memcpy}; no mapping stays behind). Same failures as {@link #share}.
   */
  public Tensor copy(String name) {
    TensorInfo t = require(name);
    return mapping().copy(dataStart + t.begin(), t.dtype(), t.shape());
  }

  /**
   * Closes the file; idempotent. Buffers and shared tensors already returned stay readable.
   */
  @Override
  public void close() {
    closed = true;
    synchronized (this) {
      if (mapping != null) {
        mapping.close();
        mapping = null;
      }
    }
    try {
      channel.close();
    } catch (IOException e) {
      throw new UncheckedIOException(path + ": close failed", e);
    }
  }

  @Override
  public String toString() {
    return "SafeTensorsFile[" + path + ", " + tensors.size() + " tensors]";
  }

  private synchronized MappedFile mapping() {
    if (closed) {
      throw new IllegalStateException(path + ": closed");
    }
    if (mapping == null) {
      mapping = MappedFile.map(path, fileSize);
    }
    return mapping;
  }

  private TensorInfo require(String name) {
    TensorInfo t = byName.get(name);
    if (t == null) {
      throw new IllegalArgumentException(path + ": no tensor named '" + name + "'");
    }
    return t;
  }

  private static ByteBuffer readFully(Path path, FileChannel channel, long position, int length)
      throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate(length);
    while (buffer.hasRemaining()) {
      if (channel.read(buffer, position + buffer.position()) < 0) {
        throw new SafeTensorsFormatException(path, null, "file is truncated: it ended while "
            + "reading the header");
      }
    }
    return buffer.flip();
  }

  private static String decodeUtf8(Path path, ByteBuffer bytes) throws SafeTensorsFormatException {
    try {
      return StandardCharsets.UTF_8.newDecoder().decode(bytes).toString();
    } catch (CharacterCodingException e) {
      throw new SafeTensorsFormatException(path, null, "header is not valid UTF-8 (near byte "
          + (8 + bytes.position()) + " of the file)", e);
    }
  }

  /** Parses and validates the header JSON against a data section of {@code dataSize} bytes. */
  private static final class HeaderParser {
    private final Path path;
    private final long dataSize;
    final Map<String, String> metadata = new LinkedHashMap<>();
    final List<TensorInfo> tensors = new ArrayList<>();

    HeaderParser(Path path, long dataSize) {
      this.path = path;
      this.dataSize = dataSize;
    }

    void parse(String json) throws SafeTensorsFormatException {
      try (JsonParser p = JSON.createParser(json)) {
        if (p.nextToken() != JsonToken.START_OBJECT) {
          throw fail(null, "header must be a JSON object, found " + describe(p.currentToken()));
        }
        Map<String, Boolean> seen = new HashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String key = p.currentName();
          boolean isMetadata = METADATA_KEY.equals(key);
          if (seen.put(key, Boolean.TRUE) != null) {
            throw fail(isMetadata ? null : key, "duplicate key '" + key + "' in header");
          }
          p.nextToken();
          if (isMetadata) {
            parseMetadata(p);
          } else {
            tensors.add(parseEntry(p, key));
          }
        }
        if (p.nextToken() != null) {
          throw fail(null, "header has content after its JSON object");
        }
      } catch (JsonProcessingException e) {
        throw new SafeTensorsFormatException(path, null,
            "header is not valid JSON: " + e.getOriginalMessage(), e);
      } catch (SafeTensorsFormatException e) {
        throw e;
      } catch (IOException e) { // reading from a String: only JSON errors are possible
        throw new SafeTensorsFormatException(path, null, "header is not valid JSON", e);
      }
      tensors.sort(Comparator.comparingLong(TensorInfo::begin)
          .thenComparingLong(TensorInfo::end).thenComparing(TensorInfo::name));
      checkNoOverlap();
    }

    private void parseMetadata(JsonParser p) throws IOException {
      if (p.currentToken() != JsonToken.START_OBJECT) {
        throw fail(null, "\"" + METADATA_KEY + "\" must be an object of strings, found "
            + describe(p.currentToken()));
      }
      for (Map.Entry<String, JsonNode> e : fields(p, null, METADATA_KEY).entrySet()) {
        if (!e.getValue().isTextual()) {
          throw fail(null, "\"" + METADATA_KEY + "\" value of key '" + e.getKey()
              + "' must be a string, found " + abbreviate(e.getValue()));
        }
        metadata.put(e.getKey(), e.getValue().textValue());
      }
    }

    private TensorInfo parseEntry(JsonParser p, String name) throws IOException {
      if (p.currentToken() != JsonToken.START_OBJECT) {
        throw fail(name, "entry must be an object with dtype, shape and data_offsets, found "
            + describe(p.currentToken()));
      }
      Map<String, JsonNode> f = fields(p, name, "its entry");
      DType dtype = parseDtype(name, f.get("dtype"));
      long[] shape = parseNonNegativeLongs(name, "shape", f.get("shape"));
      long[] offsets = parseNonNegativeLongs(name, "data_offsets", f.get("data_offsets"));
      if (offsets.length != 2) {
        throw fail(name, "\"data_offsets\" must be [begin, end], found " + offsets.length
            + " numbers");
      }
      long begin = offsets[0];
      long end = offsets[1];
      if (begin > end) {
        throw fail(name, "data_offsets [" + begin + ", " + end + "] end before they begin");
      }
      long needed;
      try {
        needed = Math.multiplyExact(TensorInfo.numelOf(shape), dtype.byteSize());
      } catch (ArithmeticException e) {
        throw fail(name, "shape " + Arrays.toString(shape) + " of " + dtype
            + " overflows a 64-bit byte count");
      }
      if (needed != end - begin) {
        throw fail(name, "shape " + Arrays.toString(shape) + " of " + dtype + " needs " + needed
            + " bytes, but data_offsets [" + begin + ", " + end + "] span " + (end - begin));
      }
      if (end > dataSize) {
        throw fail(name, "file is truncated: the tensor ends at byte " + end
            + " of the data section, which holds only " + dataSize + " bytes");
      }
      return new TensorInfo(name, dtype, shape, begin, end);
    }

    private DType parseDtype(String name, JsonNode node) throws SafeTensorsFormatException {
      if (node == null) {
        throw fail(name, "entry has no \"dtype\"");
      }
      if (!node.isTextual()) {
        throw fail(name, "\"dtype\" must be a string, found " + abbreviate(node));
      }
      return DType.fromSafetensorsName(node.textValue()).orElseThrow(() -> fail(name,
          "unsupported dtype '" + node.textValue() + "' (supported: "
              + Arrays.toString(DType.values()) + ")"));
    }

    private long[] parseNonNegativeLongs(String name, String field, JsonNode node)
        throws SafeTensorsFormatException {
      if (node == null) {
        throw fail(name, "entry has no \"" + field + "\"");
      }
      if (!node.isArray()) {
        throw fail(name, "\"" + field + "\" must be an array of non-negative integers, found "
            + abbreviate(node));
      }
      long[] values = new long[node.size()];
      for (int i = 0; i < values.length; i++) {
        JsonNode v = node.get(i);
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
          throw fail(name, "\"" + field + "\" must contain non-negative 64-bit integers, found "
              + abbreviate(v) + " at index " + i);
        }
        values[i] = v.longValue();
      }
      return values;
    }

    /** Reads the object at the current token into a map, rejecting duplicate keys. */
    private Map<String, JsonNode> fields(JsonParser p, String tensor, String where)
        throws IOException {
      Map<String, JsonNode> out = new LinkedHashMap<>();
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String key = p.currentName();
        p.nextToken();
        JsonNode value = p.readValueAsTree();
        if (out.put(key, value == null ? NullNode.getInstance() : value) != null) {
          throw fail(tensor, "duplicate key '" + key + "' in " + where);
        }
      }
      return out;
    }

    private void checkNoOverlap() throws SafeTensorsFormatException {
      TensorInfo previous = null; // the non-empty tensor reaching furthest so far
      for (TensorInfo t : tensors) {
        if (t.byteLength() == 0) {
          continue;
        }
        if (previous != null && t.begin() < previous.end()) {
          throw fail(t.name(), "bytes [" + t.begin() + ", " + t.end() + ") overlap tensor '"
              + previous.name() + "' [" + previous.begin() + ", " + previous.end() + ")");
        }
        previous = t;
      }
    }

    private SafeTensorsFormatException fail(String tensor, String detail) {
      return new SafeTensorsFormatException(path, tensor, detail);
    }

    private static String describe(JsonToken token) {
      if (token == null) {
        return "nothing";
      }
      switch (token) {
        case START_ARRAY: return "an array";
        case START_OBJECT: return "an object";
        case VALUE_STRING: return "a string";
        case VALUE_NUMBER_INT: case VALUE_NUMBER_FLOAT: return "a number";
        case VALUE_TRUE: case VALUE_FALSE: return "a boolean";
        case VALUE_NULL: return "null";
        default: return token.toString();
      }
    }

    private static String abbreviate(JsonNode node) {
      String s = node.toString();
      return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
  }
}
