package dev.peft4j.io;

import dev.peft4j.tensor.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;

/**
 * A tensor's element type, shape and raw little-endian bytes, as stored in a safetensors file.
 *
 * <p>The bytes are exactly {@code numel × dtype.byteSize()} long (checked by the constructor,
 * which throws {@link IllegalArgumentException} otherwise). The record keeps a read-only view
 * of the caller's buffer (from its position to its limit) without copying; {@link #data()}
 * returns a fresh view each time, positioned at 0 and ordered little-endian. The bytes may be
 * memory-mapped, see {@link SafeTensorsFile#data(String)}.
 *
 * @param dtype element type
 * @param shape dimensions, outermost first; empty for a 0-d scalar (copied in and out)
 * @param data the elements, row-major, little-endian
 */
public record TensorData(DType dtype, long[] shape, ByteBuffer data) {

  public TensorData {
    Objects.requireNonNull(dtype, "dtype");
    shape = Objects.requireNonNull(shape, "shape").clone();
    Objects.requireNonNull(data, "data");
    long expected;
    try {
      expected = Math.multiplyExact(TensorInfo.numelOf(shape), dtype.byteSize());
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException(
          "shape " + Arrays.toString(shape) + " overflows 64 bits", e);
    }
    if (data.remaining() != expected) {
      throw new IllegalArgumentException(
          "shape " + Arrays.toString(shape) + " of " + dtype + " needs " + expected
              + " bytes, but the buffer holds " + data.remaining());
    }
    data = data.slice().asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }

  /** A float32 tensor holding {@code values} (copied), which must have {@code numel} elements. */
  public static TensorData ofFloats(long[] shape, float[] values) {
    ByteBuffer b = allocate(shape, values.length, DType.F32);
    b.asFloatBuffer().put(values);
    return new TensorData(DType.F32, shape, b);
  }

  /** An int64 tensor holding {@code values} (copied), which must have {@code numel} elements. */
  public static TensorData ofLongs(long[] shape, long[] values) {
    ByteBuffer b = allocate(shape, values.length, DType.I64);
    b.asLongBuffer().put(values);
    return new TensorData(DType.I64, shape, b);
  }

  /** An int32 tensor holding {@code values} (copied), which must have {@code numel} elements. */
  public static TensorData ofInts(long[] shape, int[] values) {
    ByteBuffer b = allocate(shape, values.length, DType.I32);
    b.asIntBuffer().put(values);
    return new TensorData(DType.I32, shape, b);
  }

  private static ByteBuffer allocate(long[] shape, int length, DType dtype) {
    long numel = TensorInfo.numelOf(shape);
    if (numel != length) {
      throw new IllegalArgumentException(
          "shape " + Arrays.toString(shape) + " has " + numel + " elements, but "
              + length + " values were given");
    }
    return ByteBuffer.allocate(Math.multiplyExact(length, dtype.byteSize()))
        .order(ByteOrder.LITTLE_ENDIAN);
  }

  /** The dimensions (a copy). */
  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** A read-only little-endian view of the bytes, positioned at 0; independent per call. */
  @Override
  public ByteBuffer data() {
    return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
  }

  /** Number of elements (1 for a scalar). */
  public long numel() {
    return TensorInfo.numelOf(shape);
  }

  /** Number of bytes: {@code numel × dtype.byteSize()}. */
  public long byteLength() {
    return data.capacity();
  }

  /**
   * The elements as floats, converting F16 and BF16 exactly. Meant for tests and small tensors:
   * it copies everything onto the Java heap.
   *
   * @throws IllegalStateException if the dtype is not F32, F16 or BF16, or if there are more
   *     than {@code Integer.MAX_VALUE} elements
   */
  public float[] toFloatArray() {
    float[] out = new float[heapLength("toFloatArray")];
    ByteBuffer b = data();
    switch (dtype) {
      case F32:
        b.asFloatBuffer().get(out);
        return out;
      case F16:
        for (int i = 0; i < out.length; i++) {
          out[i] = halfToFloat(b.getShort(2 * i));
        }
        return out;
      case BF16:
        for (int i = 0; i < out.length; i++) {
          out[i] = Float.intBitsToFloat((b.getShort(2 * i) & 0xFFFF) << 16);
        }
        return out;
      default:
        throw new IllegalStateException(
            "toFloatArray supports F32, F16 and BF16, not " + dtype);
    }
  }

  /**
   * The elements as longs, widening I32. Meant for tests and small tensors.
   *
   * @throws IllegalStateException if the dtype is not I64 or I32, or if there are more than
   *     {@code Integer.MAX_VALUE} elements
   */
  public long[] toLongArray() {
    long[] out = new long[heapLength("toLongArray")];
    ByteBuffer b = data();
    switch (dtype) {
      case I64:
        b.asLongBuffer().get(out);
        return out;
      case I32:
        for (int i = 0; i < out.length; i++) {
          out[i] = b.getInt(4 * i);
        }
        return out;
      default:
        throw new IllegalStateException("toLongArray supports I64 and I32, not " + dtype);
    }
  }

  private int heapLength(String method) {
    long n = numel();
    if (n > Integer.MAX_VALUE) {
      throw new IllegalStateException(method + ": " + n + " elements do not fit in a Java array");
    }
    return (int) n;
  }

  /** IEEE 754 binary16 bits to float; exact (every half value is representable as a float). */
  static float halfToFloat(short half) {
    int h = half & 0xFFFF;
    int sign = (h & 0x8000) << 16;
    int exponent = (h >>> 10) & 0x1F;
    int mantissa = h & 0x3FF;
    if (exponent == 0x1F) { // infinity or NaN, payload kept
      return Float.intBitsToFloat(sign | 0x7F80_0000 | (mantissa << 13));
    }
    if (exponent == 0) { // zero or subnormal: mantissa × 2^-24
      float magnitude = mantissa * 0x1p-24f;
      return sign == 0 ? magnitude : -magnitude;
    }
    // normal: rebias the exponent from 15 to 127
    return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
  }

  /** Equal dtype, shape and bytes. */
  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof TensorData)) {
      return false;
    }
    TensorData t = (TensorData) o;
    return dtype == t.dtype && Arrays.equals(shape, t.shape) && data.equals(t.data);
  }

  @Override
  public int hashCode() {
    return Objects.hash(dtype, Arrays.hashCode(shape), data);
  }

  @Override
  public String toString() {
    return "TensorData[" + dtype + " " + Arrays.toString(shape) + ", " + byteLength() + " bytes]";
  }
}
