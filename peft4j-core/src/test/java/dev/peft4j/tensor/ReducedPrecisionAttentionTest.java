package dev.peft4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * bf16 attention with autograd runs in f32 (libtorch's bf16 CPU flash-attention backward is a
 * scalar fallback): the output keeps the input dtype, matches f32 attention to bf16 precision,
 * and gradients reach q, k and v.
 */
class ReducedPrecisionAttentionTest {
  @Test
  void bf16AttentionWithGradMatchesF32AndBackpropagates() {
    try (Scope scope = Scope.open()) {
      Engine.manualSeed(3);
      Tensor q32 = Tensor.randn(DType.F32, 2, 4, 5, 8);
      Tensor k32 = Tensor.randn(DType.F32, 2, 2, 5, 8);
      Tensor v32 = Tensor.randn(DType.F32, 2, 2, 5, 8);
      Tensor mask = Tensor.arange(5).view(1, 5).le(Tensor.arange(5).view(5, 1)).view(1, 1, 5, 5);
      Tensor q = q32.to(DType.BF16).requiresGrad(true);
      Tensor k = k32.to(DType.BF16).requiresGrad(true);
      Tensor v = v32.to(DType.BF16).requiresGrad(true);

      Tensor out = Functional.scaledDotProductAttention(q, k, v, mask, 0.25);
      assertThat(out.dtype()).isEqualTo(DType.BF16);
      Tensor reference = Functional.scaledDotProductAttention(
          q.detach().to(DType.F32), k.detach().to(DType.F32), v.detach().to(DType.F32), mask, 0.25);
      assertThat(out.to(DType.F32).sub(reference).abs().max().item()).isLessThan(2e-2);

      out.to(DType.F32).sum().backward();
      for (Tensor t : new Tensor[] {q, k, v}) {
        assertThat(t.grad()).isNotNull();
        assertThat(t.grad().dtype()).isEqualTo(DType.BF16);
        assertThat(t.grad().allFinite()).isTrue();
      }
      try (Engine.GradGuard g = Engine.noGrad()) {
        Tensor inference = Functional.scaledDotProductAttention(q, k, v, mask, 0.25);
        assertThat(inference.to(DType.F32).sub(reference).abs().max().item()).isLessThan(2e-2);
      }
    }
  }
}
