package dev.peft4j.io.onnx;

import dev.peft4j.io.ModelFormatException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A cursor over one protobuf message in wire format: tags, varints, fixed-width numbers and
 * length-delimited fields. Every length is checked against the bytes that remain, so a corrupt
 * or truncated input fails with a {@link ModelFormatException} instead of over-allocating or looping;
 * each read consumes at least one byte.
 */
final class ProtoReader {
  static final int VARINT = 0;
  static final int FIXED64 = 1;
  static final int LENGTH_DELIMITED = 2;
  static final int FIXED32 = 5;

  private final ByteBuffer buffer; // little-endian view of [position, limit) of the message
  private final String what;       // message type, for errors
  private int tag;

  /** Reads the bytes from {@code buffer}'s position to its limit (the buffer is not modified). */
  ProtoReader(ByteBuffer buffer, String what) {
    this.buffer = buffer.slice().order(ByteOrder.LITTLE_ENDIAN);
    this.what = what;
  }

  /** Whether another field follows. */
  boolean hasNext() {
    return buffer.hasRemaining();
  }

  /** Reads the next tag; returns its field number. */
  int next() throws ModelFormatException {
    long key = readVarint();
    int field = (int) (key >>> 3);
    if (field <= 0 || key >>> 3 > 0x1FFF_FFFFL) {
      throw error("invalid field number " + (key >>> 3));
    }
    tag = (int) key;
    int wire = wireType();
    if (wire != VARINT && wire != FIXED64 && wire != LENGTH_DELIMITED && wire != FIXED32) {
      throw error("field " + field + " has unsupported wire type " + wire);
    }
    return field;
  }

  /** The wire type of the field just read by {@link #next()}. */
  int wireType() {
    return tag & 7;
  }

  int field() {
    return tag >>> 3;
  }

  /** Skips the value of the current field. */
  void skip() throws ModelFormatException {
    switch (wireType()) {
      case VARINT:
        readVarint();
        break;
      case FIXED64:
        advance(8);
        break;
      case FIXED32:
        advance(4);
        break;
      default:
        bytes();
    }
  }

  long readVarint() throws ModelFormatException {
    long result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!buffer.hasRemaining()) {
        throw error("truncated varint");
      }
      byte b = buffer.get();
      result |= (long) (b & 0x7F) << shift;
      if (b >= 0) {
        return result;
      }
    }
    throw error("varint longer than 10 bytes");
  }

  /** A varint field (wire type checked). */
  long varint() throws ModelFormatException {
    expect(VARINT);
    return readVarint();
  }

  /** A varint field that must fit in an {@code int}, e.g. an enum. */
  int int32() throws ModelFormatException {
    long v = varint();
    if (v != (int) v) {
      throw error("field " + field() + " value " + v + " does not fit in 32 bits");
    }
    return (int) v;
  }

  float fixed32Float() throws ModelFormatException {
    expect(FIXED32);
    return readFloat();
  }

  /** A length-delimited field's bytes as a read-only little-endian view (no copy). */
  ByteBuffer bytes() throws ModelFormatException {
    expect(LENGTH_DELIMITED);
    long length = readVarint();
    if (length < 0 || length > buffer.remaining()) {
      throw error("field " + field() + " declares " + Long.toUnsignedString(length)
          + " bytes but only " + buffer.remaining() + " remain (truncated or corrupt file)");
    }
    ByteBuffer view = buffer.slice().limit((int) length);
    buffer.position(buffer.position() + (int) length);
    return view.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }

  /** A nested message field. */
  ProtoReader message(String type) throws ModelFormatException {
    return new ProtoReader(bytes(), type);
  }

  String string() throws ModelFormatException {
    ByteBuffer b = bytes();
    byte[] a = new byte[b.remaining()];
    b.get(a);
    return new String(a, StandardCharsets.UTF_8);
  }

  /**
   * Appends a repeated integer field to {@code out}, packed (one length-delimited run) or not
   * (one varint); returns {@code out}.
   */
  LongList repeatedVarint(LongList out) throws ModelFormatException {
    if (wireType() == VARINT) {
      out.add(readVarint());
      return out;
    }
    ProtoReader packed = new ProtoReader(bytes(), what);
    while (packed.hasNext()) {
      out.add(packed.readVarint());
    }
    return out;
  }

  /** Appends a repeated float field, packed or not. */
  FloatList repeatedFloat(FloatList out) throws ModelFormatException {
    if (wireType() == FIXED32) {
      out.add(readFloat());
      return out;
    }
    ByteBuffer packed = bytes();
    if (packed.remaining() % 4 != 0) {
      throw error("packed float field " + field() + " has " + packed.remaining() + " bytes, not a multiple of 4");
    }
    while (packed.hasRemaining()) {
      out.add(packed.getFloat());
    }
    return out;
  }

  ModelFormatException error(String message) {
    return new ModelFormatException(what + ": " + message);
  }

  private float readFloat() throws ModelFormatException {
    if (buffer.remaining() < 4) {
      throw error("truncated 32-bit value");
    }
    return buffer.getFloat();
  }

  private void advance(int n) throws ModelFormatException {
    if (buffer.remaining() < n) {
      throw error("truncated " + 8 * n + "-bit value");
    }
    buffer.position(buffer.position() + n);
  }

  private void expect(int wire) throws ModelFormatException {
    if (wireType() != wire) {
      throw error("field " + field() + " has wire type " + wireType() + ", expected " + wire);
    }
  }

  /** A growable list of longs whose size is bounded by the input it was read from. */
  static final class LongList {
    private long[] values = new long[4];
    private int size;

    void add(long v) {
      if (size == values.length) {
        values = Arrays.copyOf(values, size * 2);
      }
      values[size++] = v;
    }

    long[] toArray() {
      return Arrays.copyOf(values, size);
    }
  }

  /** A growable list of floats. */
  static final class FloatList {
    private float[] values = new float[4];
    private int size;

    void add(float v) {
      if (size == values.length) {
        values = Arrays.copyOf(values, size * 2);
      }
      values[size++] = v;
    }

    int size() {
      return size;
    }

    float[] toArray() {
      return Arrays.copyOf(values, size);
    }
  }
}
