package dev.peft4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A single bf16/f16 row through {@link Functional#linear} (a matrix-vector product, or MKL's bf16
 * gemm without gradients) keeps the input's shape and dtype and gives the float32 result and
 * gradients to half precision.
 */
class SingleRowLinearTest {
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"bf16", "f16"})
  void aSingleHalfPrecisionRowMatchesFloat32(String name) {
    DType dtype = DType.parse(name);
    try (Scope scope = Scope.open()) {
      Engine.manualSeed(11);
      Tensor x32 = Tensor.randn(DType.F32, 1, 1, 24);
      Tensor w32 = Tensor.randn(DType.F32, 10, 24).mul(0.2);
      Tensor b32 = Tensor.randn(DType.F32, 10);
      for (boolean withBias : new boolean[] {false, true}) {
        Tensor x = x32.to(dtype).requiresGrad(true);
        Tensor w = w32.to(dtype).requiresGrad(true);
        Tensor b = withBias ? b32.to(dtype).requiresGrad(true) : null;
        Tensor y = Functional.linear(x, w, b);
        assertThat(y.shape()).containsExactly(1, 1, 10);
        assertThat(y.dtype()).isEqualTo(dtype);

        // the reference: float32 on the same (rounded) values
        Tensor xr = x.detach().to(DType.F32).requiresGrad(true);
        Tensor wr = w.detach().to(DType.F32).requiresGrad(true);
        Tensor br = withBias ? b.detach().to(DType.F32).requiresGrad(true) : null;
        Tensor reference = Functional.linear(xr, wr, br);
        assertThat(y.to(DType.F32).sub(reference).abs().max().item()).as("output").isLessThan(2e-2 * maxAbs(reference));

        Tensor upstream = Tensor.randn(DType.F32, 1, 1, 10);
        y.to(DType.F32).mul(upstream).sum().backward();
        reference.mul(upstream).sum().backward();
        assertClose(x.grad(), xr.grad(), "dx");
        assertClose(w.grad(), wr.grad(), "dW");
        if (withBias) {
          assertClose(b.grad(), br.grad(), "db");
        }
      }
    }
  }

  /**
   * Without gradients (decoding), a bf16 row may go to MKL's bf16 gemm: float32 accumulation
   * rounded once, so every output is within half a bf16 unit (2^-8 relative) of the float32
   * result on the same rounded inputs — including a row that is a strided view, and with a bias.
   */
  @org.junit.jupiter.api.Test
  void aBf16RowWithoutGradientsIsTheFloat32ResultRoundedOnce() {
    try (Scope scope = Scope.open(); Engine.GradGuard noGrad = Engine.noGrad()) {
      Engine.manualSeed(12);
      Tensor w = Tensor.randn(DType.F32, 300, 512).mul(0.05).to(DType.BF16);
      Tensor bias = Tensor.randn(DType.F32, 300).to(DType.BF16);
      Tensor wide = Tensor.randn(DType.F32, 1, 512, 2).to(DType.BF16);
      Tensor[] rows = {Tensor.randn(DType.F32, 1, 1, 512).to(DType.BF16), wide.select(2, 1).view(1, 1, 512)};
      for (Tensor x : rows) {
        for (Tensor b : new Tensor[] {null, bias}) {
          Tensor y = Functional.linear(x, w, b);
          assertThat(y.shape()).containsExactly(1, 1, 300);
          assertThat(y.dtype()).isEqualTo(DType.BF16);
          Tensor product = Functional.linear(x.to(DType.F32), w.to(DType.F32), null);
          Tensor reference = b == null ? product : product.add(b.to(DType.F32));
          Tensor error = y.to(DType.F32).sub(reference).abs();
          // rounded once; with a bias, the product is rounded and then the sum
          Tensor rounded = b == null ? reference.abs() : product.abs().add(reference.abs());
          Tensor halfUnits = rounded.mul(Math.scalb(1.0, -8) * 1.01).add(1e-6);
          assertThat(error.sub(halfUnits).max().item()).as("bias %s, row %s", b != null, x == rows[0] ? "contiguous" : "strided")
              .isLessThanOrEqualTo(0);
        }
      }
    }
  }

  private static void assertClose(Tensor actual, Tensor expected, String what) {
    assertThat(actual.dtype()).as(what).isNotEqualTo(DType.F32);
    assertThat(actual.shape()).as(what).containsExactly(expected.shape());
    assertThat(actual.to(DType.F32).sub(expected).abs().max().item()).as(what).isLessThan(2e-2 * maxAbs(expected));
  }

  private static double maxAbs(Tensor t) {
    return t.abs().max().item();
  }
}
