package dev.peft4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TensorTest {
  @Test
  void dtypesRoundTrip() {
    for (DType d : new DType[] {DType.F32, DType.F16, DType.BF16, DType.F64, DType.I64, DType.I32, DType.BOOL}) {
      assertThat(Tensor.zeros(d, 2, 3).dtype()).as(d.name()).isEqualTo(d);
    }
    assertThat(Tensor.ofLongs(new long[] {1, 2, 3}, 1, 3).dtype()).isEqualTo(DType.I64);
  }
}
