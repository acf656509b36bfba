package dev.peft4j.io;

import dev.peft4j.tensor.DType;
import java.util.Arrays;
import java.util.Objects;

/**
 * One entry of a safetensors header: a tensor's name, element type, shape and where its bytes
 * are.
 *
 * <p>Invariants (checked by the constructor, which throws {@link IllegalArgumentException}):
 * every dimension is non-negative, {@code 0 <= begin <= end}, and {@code end - begin} equals
 * {@link #numel()} × {@code dtype.byteSize()} without overflow.
 *
 * @param name the tensor's name in the file, e.g. {@code model.layers.0.self_attn.q_proj.weight}
 * @param dtype element type
 * @param shape dimensions, outermost first (row-major); empty for a 0-d scalar. Copied in and
 *     out, so the record is immutable.
 * @param begin first byte, relative to the start of the data section (just after the header)
 * @param end one past the last byte, relative to the start of the data section
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {

  public TensorInfo {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(dtype, "dtype");
    shape = Objects.requireNonNull(shape, "shape").clone();
    if (begin < 0 || end < begin) {
      throw new IllegalArgumentException(
          "tensor '" + name + "': invalid byte range [" + begin + ", " + end + ")");
    }
    long expected;
    try {
      expected = Math.multiplyExact(numelOf(shape), dtype.byteSize());
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException(
          "tensor '" + name + "': shape " + Arrays.toString(shape) + " overflows 64 bits", e);
    }
    if (expected != end - begin) {
      throw new IllegalArgumentException(
          "tensor '" + name + "': shape " + Arrays.toString(shape) + " of " + dtype
              + " needs " + expected + " bytes, but the range [" + begin + ", " + end
              + ") holds " + (end - begin));
    }
  }

  /** The dimensions (a copy). */
  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** Number of dimensions; 0 for a scalar. */
  public int rank() {
    return shape.length;
  }

  /** Number of elements: the product of the dimensions (1 for a scalar, 0 if any is 0). */
  public long numel() {
    return numelOf(shape);
  }

  /** Bytes the tensor occupies: {@code end - begin}. */
  public long byteLength() {
    return end - begin;
  }

  /**
   * Product of the dimensions: 1 for a scalar, 0 if any dimension is 0.
   *
   * @throws IllegalArgumentException if a dimension is negative
   * @throws ArithmeticException if the product overflows a {@code long}
   */
  static long numelOf(long[] shape) {
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
      }
      if (d == 0) {
        return 0;
      }
    }
    long n = 1;
    for (long d : shape) {
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof TensorInfo)) {
      return false;
    }
    TensorInfo t = (TensorInfo) o;
    return name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape)
        && begin == t.begin && end == t.end;
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
  }

  @Override
  public String toString() {
    return "TensorInfo[" + name + " " + dtype + " " + Arrays.toString(shape)
        + " @ [" + begin + ", " + end + ")]";
  }
}
