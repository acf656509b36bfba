package dev.peft4j.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import dev.peft4j.tensor.DType;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
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

/**
 * A safetensors file opened for reading: the header is parsed and validated once, and each
 * tensor's bytes are read as a {@link TensorFile}'s, without copying.
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
 */
public final class SafeTensorsFile extends TensorFile {

  /** Largest header {@link #open} accepts: 100 MiB. */
  public static final long MAX_HEADER_BYTES = 100L << 20;

  static final String METADATA_KEY = "__metadata__";

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Map<String, String> metadata;

  private SafeTensorsFile(Path path, FileChannel channel, long dataStart, long fileSize,
      Map<String, String> metadata, List<TensorInfo> tensors) {
    super(path, channel, dataStart, fileSize, tensors);
    this.metadata = Collections.unmodifiableMap(metadata);
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
      ByteBuffer prefix = readFully(channel, 0, 8);
      long headerLength = prefix.getLong(0);
      if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) { // < 0: u64 above 2^63
        throw new SafeTensorsFormatException(path, null, "header length "
            + Long.toUnsignedString(headerLength) + " exceeds the limit of " + MAX_HEADER_BYTES
            + " bytes (100 MiB)");
      }
      if (headerLength > fileSize - 8) {
        throw new SafeTensorsFormatException(path, null, "file is truncated: header length "
            + headerLength + " but only " + (fileSize - 8) + " bytes follow it");
      }
      String json = decodeUtf8(path, readFully(channel, 8, (int) headerLength));
      long dataSize = fileSize - 8 - headerLength;
      HeaderParser parsed = new HeaderParser(path, dataSize);
      parsed.parse(json);
      return new SafeTensorsFile(path, channel, 8 + headerLength, fileSize, parsed.metadata,
          parsed.tensors);
    } catch (EOFException e) { // the file shrank after its size was read
      closeAfter(channel, e);
      throw new SafeTensorsFormatException(path, null, e.getMessage(), e);
    } catch (IOException | RuntimeException | Error e) {
      closeAfter(channel, e);
      throw e;
    }
  }

  /** The header's {@code "__metadata__"} strings, in file order; empty if absent. */
  public Map<String, String> metadata() {
    return metadata;
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
