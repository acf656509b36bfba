package dev.peft4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.tensor.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class SafeTensorsTensorDataTest {

  @Test
  void constructorChecksTheByteCount() {
    assertThatThrownBy(() -> new TensorData(DType.F32, new long[] {2, 3}, ByteBuffer.allocate(20)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("shape [2, 3] of F32 needs 24 bytes, but the buffer holds 20");
    assertThatThrownBy(() -> new TensorData(DType.F32, new long[] {-1}, ByteBuffer.allocate(0)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("negative");
    assertThatThrownBy(() -> new TensorData(DType.I64, new long[] {1L << 61},
        ByteBuffer.allocate(0))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("overflows");
    assertThatThrownBy(() -> TensorData.ofFloats(new long[] {2}, new float[3]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("has 2 elements, but 3 values were given");
  }

  @Test
  void keepsTheBytesBetweenPositionAndLimitAsAnImmutableLittleEndianView() {
    ByteBuffer big = ByteBuffer.allocate(12).order(ByteOrder.BIG_ENDIAN);
    big.order(ByteOrder.LITTLE_ENDIAN).putInt(0, 99).putFloat(4, 1.25f).putFloat(8, -4f);
    big.position(4);
    TensorData t = new TensorData(DType.F32, new long[] {2}, big);
    big.position(0);

    ByteBuffer view = t.data();
    assertThat(view.position()).isZero();
    assertThat(view.remaining()).isEqualTo(8);
    assertThat(view.order()).isEqualTo(ByteOrder.LITTLE_ENDIAN);
    assertThat(view.isReadOnly()).isTrue();
    view.position(8); // moving one view does not move the next
    assertThat(t.data().remaining()).isEqualTo(8);
    assertThat(t.toFloatArray()).containsExactly(1.25f, -4f);
    assertThat(t.byteLength()).isEqualTo(8);

    long[] shape = t.shape();
    shape[0] = 5;
    assertThat(t.shape()).containsExactly(2);
  }

  @Test
  void equalityIsByValue() {
    TensorData a = TensorData.ofFloats(new long[] {2}, new float[] {1f, 2f});
    TensorData b = TensorData.ofFloats(new long[] {2}, new float[] {1f, 2f});
    assertThat(a).isEqualTo(b).hasSameHashCodeAs(b);
    assertThat(a).isNotEqualTo(TensorData.ofFloats(new long[] {1, 2}, new float[] {1f, 2f}));
    assertThat(a).isNotEqualTo(TensorData.ofFloats(new long[] {2}, new float[] {1f, 3f}));
    assertThat(a.toString()).isEqualTo("TensorData[F32 [2], 8 bytes]");
  }

  @Test
  void halfPrecisionConversionCoversEveryClassOfValue() {
    assertThat(TensorData.halfToFloat((short) 0x0000)).isEqualTo(0f);
    assertThat(Float.floatToIntBits(TensorData.halfToFloat((short) 0x8000)))
        .isEqualTo(Float.floatToIntBits(-0f));
    assertThat(TensorData.halfToFloat((short) 0x0001)).isEqualTo(0x1p-24f); // min subnormal
    assertThat(TensorData.halfToFloat((short) 0x03FF)).isEqualTo(1023 * 0x1p-24f); // max subnormal
    assertThat(TensorData.halfToFloat((short) 0x0400)).isEqualTo(0x1p-14f); // min normal
    assertThat(TensorData.halfToFloat((short) 0x3555)).isEqualTo(0x1.554p-2f); // ~1/3
    assertThat(TensorData.halfToFloat((short) 0xFBFF)).isEqualTo(-65504f);
    assertThat(TensorData.halfToFloat((short) 0x7C00)).isEqualTo(Float.POSITIVE_INFINITY);
    assertThat(TensorData.halfToFloat((short) 0xFC00)).isEqualTo(Float.NEGATIVE_INFINITY);
    assertThat(TensorData.halfToFloat((short) 0x7E00)).isNaN();
  }

  @Test
  void integerConversions() {
    assertThat(TensorData.ofInts(new long[] {3}, new int[] {-1, 0, Integer.MAX_VALUE})
        .toLongArray()).containsExactly(-1, 0, Integer.MAX_VALUE);
    assertThatThrownBy(() -> TensorData.ofLongs(new long[] {1}, new long[] {1}).toFloatArray())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("not I64");
    assertThatThrownBy(() -> TensorData.ofFloats(new long[] {1}, new float[] {1}).toLongArray())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("not F32");
  }
}
