package dev.peft4j.io.onnx;

import dev.peft4j.io.ModelFormatException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * An ONNX {@code TensorProto}: name, element type, dimensions and data, either as
 * {@code raw_data} (a view into the file, not copied) or as one of the typed repeated fields.
 *
 * @param dataType ONNX {@code TensorProto.DataType} code, see the constants
 * @param dims dimensions, outermost first; empty for a scalar
 * @param raw little-endian {@code raw_data}, or null
 * @param floatData {@code float_data}
 * @param int32Data {@code int32_data} (also holds FLOAT16/BFLOAT16 bit patterns)
 * @param int64Data {@code int64_data}
 */
record OnnxTensor(
    String name, int dataType, long[] dims, ByteBuffer raw, float[] floatData, long[] int32Data,
    long[] int64Data) {
  static final int FLOAT = 1;
  static final int INT32 = 6;
  static final int INT64 = 7;
  static final int FLOAT16 = 10;
  static final int DOUBLE = 11;
  static final int BFLOAT16 = 16;

  /** A FLOAT tensor holding {@code values} (a Constant node's {@code value_float(s)}). */
  static OnnxTensor ofFloats(String name, long[] dims, float[] values) {
    return new OnnxTensor(name, FLOAT, dims, null, values, new long[0], new long[0]);
  }

  /** An INT64 tensor holding {@code values} (a Constant node's {@code value_int(s)}). */
  static OnnxTensor ofLongs(String name, long[] dims, long[] values) {
    return new OnnxTensor(name, INT64, dims, null, new float[0], new long[0], values);
  }

  /** Parses a {@code TensorProto}; checks the dimensions and that the data fits them. */
  static OnnxTensor parse(ProtoReader r) throws ModelFormatException {
    String name = "";
    int dataType = 0;
    ProtoReader.LongList dims = new ProtoReader.LongList();
    ProtoReader.FloatList floats = new ProtoReader.FloatList();
    ProtoReader.LongList int32 = new ProtoReader.LongList();
    ProtoReader.LongList int64 = new ProtoReader.LongList();
    ByteBuffer raw = null;
    while (r.hasNext()) {
      switch (r.next()) {
        case 1: r.repeatedVarint(dims); break;
        case 2: dataType = r.int32(); break;
        case 4: r.repeatedFloat(floats); break;
        case 5: r.repeatedVarint(int32); break;
        case 7: r.repeatedVarint(int64); break;
        case 8: name = r.string(); break;
        case 9: raw = r.bytes(); break;
        case 13: // external_data
          throw r.error("tensor '" + name + "' keeps its data in an external file, which is not supported");
        default: r.skip();
      }
    }
    OnnxTensor t = new OnnxTensor(name, dataType, dims.toArray(), raw, floats.toArray(),
        int32.toArray(), int64.toArray());
    t.numel(); // validates the dims
    return t;
  }

  /** Number of elements; rejects negative dimensions and overflow. */
  long numel() throws ModelFormatException {
    long n = 1;
    for (long d : dims) {
      if (d < 0) {
        throw new ModelFormatException("tensor '" + name + "' has a negative dimension: "
            + Arrays.toString(dims));
      }
      try {
        n = Math.multiplyExact(n, d);
      } catch (ArithmeticException e) {
        throw new ModelFormatException("tensor '" + name + "' dimensions overflow: " + Arrays.toString(dims));
      }
    }
    return n;
  }

  int rank() {
    return dims.length;
  }

  boolean isFloatingPoint() {
    return dataType == FLOAT || dataType == FLOAT16 || dataType == BFLOAT16 || dataType == DOUBLE;
  }

  /** The elements as float32 (from FLOAT, FLOAT16, BFLOAT16 or DOUBLE). */
  float[] floats() throws ModelFormatException {
    int n = heapLength();
    switch (dataType) {
      case FLOAT: {
        ByteBuffer b = data(n, 4, floatData.length);
        float[] out = b == null ? floatData.clone() : new float[n];
        if (b != null) {
          b.asFloatBuffer().get(out);
        }
        return out;
      }
      case DOUBLE: {
        ByteBuffer b = data(n, 8, -1);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
          out[i] = (float) b.getDouble(8 * i);
        }
        return out;
      }
      case FLOAT16:
      case BFLOAT16: {
        ByteBuffer b = data(n, 2, int32Data.length);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
          int bits = (b != null ? b.getShort(2 * i) : (int) int32Data[i]) & 0xFFFF;
          out[i] = dataType == FLOAT16 ? halfToFloat(bits) : Float.intBitsToFloat(bits << 16);
        }
        return out;
      }
      default:
        throw new ModelFormatException("tensor '" + name + "' has data type " + dataType
            + ", not a float type");
    }
  }

  /** The elements as longs (from INT64 or INT32). */
  long[] longs() throws ModelFormatException {
    int n = heapLength();
    switch (dataType) {
      case INT64: {
        ByteBuffer b = data(n, 8, int64Data.length);
        long[] out = b == null ? int64Data.clone() : new long[n];
        if (b != null) {
          b.asLongBuffer().get(out);
        }
        return out;
      }
      case INT32: {
        ByteBuffer b = data(n, 4, int32Data.length);
        long[] out = b == null ? int32Data.clone() : new long[n];
        for (int i = 0; b != null && i < n; i++) {
          out[i] = b.getInt(4 * i);
        }
        return out;
      }
      default:
        throw new ModelFormatException("tensor '" + name + "' has data type " + dataType
            + ", not an integer type");
    }
  }

  /** The single value of a one-element float tensor. */
  double scalar() throws ModelFormatException {
    if (numel() != 1) {
      throw new ModelFormatException("tensor '" + name + "' is not a scalar: " + Arrays.toString(dims));
    }
    return isFloatingPoint() ? floats()[0] : longs()[0];
  }

  /** IEEE 754 binary16 bits to float (exact). */
  static float halfToFloat(int h) {
    int sign = (h & 0x8000) << 16;
    int exponent = (h >>> 10) & 0x1F;
    int mantissa = h & 0x3FF;
    if (exponent == 0x1F) {
      return Float.intBitsToFloat(sign | 0x7F80_0000 | (mantissa << 13));
    }
    if (exponent == 0) {
      float magnitude = mantissa * 0x1p-24f;
      return sign == 0 ? magnitude : -magnitude;
    }
    return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
  }

  private int heapLength() throws ModelFormatException {
    long n = numel();
    if (n > Integer.MAX_VALUE - 8) {
      throw new ModelFormatException("tensor '" + name + "' has " + n + " elements, too many for one array");
    }
    return (int) n;
  }

  /**
   * Checks, before anything is allocated, that the data holds exactly {@code n} elements:
   * returns the raw bytes if present, else null when the typed field has {@code n} values
   * ({@code typedLength} -1: no typed field exists for this type).
   */
  private ByteBuffer data(int n, int width, int typedLength) throws ModelFormatException {
    if (raw != null) {
      if (raw.remaining() != (long) n * width) {
        throw new ModelFormatException("tensor '" + name + "' " + Arrays.toString(dims) + " of type "
            + dataType + " needs " + (long) n * width + " bytes of raw_data, found " + raw.remaining());
      }
      return raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }
    if (typedLength != n) {
      throw new ModelFormatException("tensor '" + name + "' " + Arrays.toString(dims) + " needs "
          + n + " values, found " + Math.max(typedLength, 0));
    }
    return null;
  }
}
