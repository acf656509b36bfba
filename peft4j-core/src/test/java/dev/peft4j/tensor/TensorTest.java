package dev.peft4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class TensorTest {
  @Test
  void dtypesRoundTrip() {
    for (DType d : new DType[] {DType.F32, DType.F16, DType.BF16, DType.F64, DType.I64, DType.I32, DType.BOOL}) {
      assertThat(Tensor.zeros(d, 2, 3).dtype()).as(d.name()).isEqualTo(d);
    }
    assertThat(Tensor.ofLongs(new long[] {1, 2, 3}, 1, 3).dtype()).isEqualTo(DType.I64);
  }

  @Test
  void valuesAndShapesRoundTrip() {
    Tensor t = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
    assertThat(t.shape()).containsExactly(2, 3);
    assertThat(t.transpose(0, 1).toFloatArray()).containsExactly(1, 4, 2, 5, 3, 6);
    assertThat(Tensor.ofLongs(new long[] {7, 8}, 2).add(1L).toLongArray()).containsExactly(8, 9);
    assertThatThrownBy(() -> Tensor.of(new float[5], 2, 3)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("needs 6 values, got 5");
  }

  @Test
  void fromBytesDecodesHalfPrecisionBitPatterns() {
    // bf16 0x3F80 = 1.0, 0xC000 = -2.0; f16 0x3C00 = 1.0, 0x3800 = 0.5 (IEEE 754 encodings)
    ByteBuffer bf16 = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putShort((short) 0x3F80).putShort((short) 0xC000).flip();
    assertThat(Tensor.fromBytes(bf16, DType.BF16, 2).toFloatArray()).containsExactly(1f, -2f);
    ByteBuffer f16 = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putShort((short) 0x3C00).putShort((short) 0x3800).flip();
    assertThat(Tensor.fromBytes(f16, DType.F16, 2).toFloatArray()).containsExactly(1f, 0.5f);
    assertThat(Tensor.fromBytes(bf16.rewind(), DType.BF16, 2).toBytes().array()).containsExactly(0x80, 0x3F, 0x00, 0xC0);
  }

  @Test
  void rmsNormMatchesItsClosedForm() {
    float[] x = {1, -2, 3, 0.5f};
    double meanSquare = (1 + 4 + 9 + 0.25) / 4;
    float[] w = {1, 2, 0.5f, -1};
    float[] y = Functional.rmsNorm(Tensor.of(x, 1, 4), Tensor.of(w, 4), 1e-6).toFloatArray();
    for (int i = 0; i < 4; i++) {
      assertThat(y[i]).isCloseTo((float) (x[i] / Math.sqrt(meanSquare + 1e-6) * w[i]), within(1e-6f));
    }
  }

  /**
   * The norm-based RMSNorm against libtorch's own {@code rms_norm} (a composite of other kernels):
   * outputs and the gradients of input and weight, in float32 within 1e-5 of the largest
   * magnitude; in bf16 the outputs within two bf16 units (both round once, from inverse RMS
   * values that may differ in their last float32 bit).
   */
  @Test
  void rmsNormAndItsGradientsMatchLibtorchsRmsNorm() {
    for (DType dtype : new DType[] {DType.F32, DType.BF16}) {
      try (Scope scope = Scope.open()) {
        Tensor x = Tensor.randn(DType.F32, 3, 5, 64).mul(3);
        x.narrow(0, 0, 1).mul_(1e-3); // rows where eps = 1e-5 is most of mean(x²)
        x = x.to(dtype);
        Tensor w = Tensor.randn(DType.F32, 64).to(dtype);
        Tensor g = Tensor.randn(DType.F32, 3, 5, 64).to(dtype);
        Tensor x1 = x.detach().requiresGrad(true);
        Tensor w1 = w.detach().requiresGrad(true);
        Tensor x2 = x.detach().requiresGrad(true);
        Tensor w2 = w.detach().requiresGrad(true);
        Tensor y1 = Functional.rmsNorm(x1, w1, 1e-5);
        Tensor y2 = new Tensor(org.bytedeco.pytorch.global.torch.rms_norm(x2.handle(), new long[] {64},
            new org.bytedeco.pytorch.TensorOptional(w2.handle()), new org.bytedeco.pytorch.DoubleOptional(1e-5)));
        y1.backward(g);
        y2.backward(g);
        assertThat(y1.dtype()).isEqualTo(dtype);
        if (dtype == DType.F32) {
          assertClose(y1, y2, 1e-5);
          assertClose(x1.grad(), x2.grad(), 1e-5);
          assertClose(w1.grad(), w2.grad(), 1e-5);
        } else {
          float[] a = y1.toFloatArray();
          float[] b = y2.toFloatArray();
          for (int i = 0; i < a.length; i++) {
            assertThat(a[i]).as("bf16 output %d", i).isCloseTo(b[i], within(Math.abs(b[i]) * 0x1p-7f + 1e-30f));
          }
        }
      }
    }
  }

  /** Every element within {@code rtol} times the reference's largest magnitude. */
  private static void assertClose(Tensor actual, Tensor expected, double rtol) {
    float[] a = actual.toFloatArray();
    float[] b = expected.toFloatArray();
    double scale = 0;
    for (float v : b) {
      scale = Math.max(scale, Math.abs(v));
    }
    assertThat(scale).isPositive();
    for (int i = 0; i < a.length; i++) {
      assertThat((double) a[i]).as("element %d", i).isCloseTo(b[i], within(rtol * scale));
    }
  }

  @Test
  void attentionWithOneKeyReturnsItsValueAndMaskedKeysAreIgnored() {
    Tensor q = Tensor.randn(DType.F32, 1, 2, 3, 4);
    Tensor k = Tensor.randn(DType.F32, 1, 1, 2, 4);
    Tensor v = Tensor.of(new float[] {1, 2, 3, 4, 9, 9, 9, 9}, 1, 1, 2, 4);
    // only key 0 allowed: every query gets value 0, for both query heads sharing the kv head
    Tensor mask = Tensor.of(new float[] {1, 0, 1, 0, 1, 0}, 1, 1, 3, 2).ne(0);
    float[] out = Functional.scaledDotProductAttention(q, k, v, mask, 0.5).toFloatArray();
    for (int i = 0; i < out.length; i += 4) {
      assertThat(new float[] {out[i], out[i + 1], out[i + 2], out[i + 3]}).containsExactly(1, 2, 3, 4);
    }
  }

  @Test
  void scopeFreesWhatItDoesNotKeepAndMovesKeptTensorsOutward() {
    Tensor kept;
    Tensor movedOut;
    Tensor freed;
    try (Scope outer = Scope.open()) {
      try (Scope inner = Scope.open()) {
        freed = Tensor.ones(DType.F32, 2);
        movedOut = inner.keep(Tensor.ones(DType.F32, 3));
      }
      assertThat(freed.handle().isNull()).isTrue();
      assertThat(movedOut.handle().isNull()).isFalse();
      assertThat(movedOut.sum().item()).isEqualTo(3.0);
      kept = outer.keep(movedOut.mul(2.0));
    }
    assertThat(movedOut.handle().isNull()).as("owned by the outer scope, freed with it").isTrue();
    assertThat(kept.sum().item()).isEqualTo(6.0);
    kept.close();
    assertThat(kept.handle().isNull()).isTrue();
  }

  @Test
  void retainedTensorsOutliveTheirScope() {
    Tensor weight;
    try (Scope scope = Scope.open()) {
      weight = Tensor.ones(DType.F32, 4).retain();
    }
    assertThat(weight.sum().item()).isEqualTo(4.0);
  }

  @Test
  void noGradRestoresThePreviousMode() {
    Tensor w = Tensor.ones(DType.F32, 2).requiresGrad(true);
    try (Engine.GradGuard g = Engine.noGrad()) {
      assertThat(w.mul(2.0).requiresGrad()).isFalse();
    }
    Tensor loss = w.mul(3.0).sum();
    assertThat(loss.requiresGrad()).isTrue();
    loss.backward();
    assertThat(w.grad().toFloatArray()).containsExactly(3, 3);
  }

  @Test
  void rngStateRestoresTheSampleSequence() {
    Engine.manualSeed(3);
    Tensor.randn(DType.F32, 5);
    byte[] state = Engine.rngState();
    float[] first = Tensor.randn(DType.F32, 5).toFloatArray();
    Engine.setRngState(state);
    assertThat(Tensor.randn(DType.F32, 5).toFloatArray()).containsExactly(first);
  }

  @Test
  void crossEntropyIgnoresMinus100AndMatchesClosedForm() {
    Tensor logits = Tensor.of(new float[] {0, 0, 0, 5, 1, 1}, 2, 3);
    Tensor targets = Tensor.ofLongs(new long[] {1, -100}, 2);
    // only row 0 counts: uniform logits over 3 classes -> ln 3
    assertThat(Functional.crossEntropy(logits, targets).item()).isCloseTo(Math.log(3), within(1e-6));
  }

  @Test
  void clearGradDropsTheAccumulatedGradient() {
    Tensor w = Tensor.ones(DType.F32, 2).requiresGrad(true);
    w.mul(2.0).sum().backward();
    w.clearGrad();
    assertThat(w.grad()).isNull();
  }

  @Test
  void causalAttentionEqualsTheLowerTriangularMaskWithGradients() {
    try (Scope scope = Scope.open()) {
      Engine.manualSeed(5);
      Tensor q = Tensor.randn(DType.F32, 2, 4, 9, 8).requiresGrad(true);
      Tensor k = Tensor.randn(DType.F32, 2, 2, 9, 8).requiresGrad(true);
      Tensor v = Tensor.randn(DType.F32, 2, 2, 9, 8);
      Tensor tril = Tensor.ones(DType.BOOL, 9, 9).tril(0).view(1, 1, 9, 9);
      Tensor weights = Tensor.randn(DType.F32, 2, 4, 9, 8);
      Functional.scaledDotProductAttention(q, k, v, null, true, 0.3).mul(weights).sum().backward();
      float[] causal = Functional.scaledDotProductAttention(q, k, v, null, true, 0.3).toFloatArray();
      float[] causalGradQ = q.grad().toFloatArray();
      float[] causalGradK = k.grad().toFloatArray();
      q.clearGrad();
      k.clearGrad();
      Functional.scaledDotProductAttention(q, k, v, tril, 0.3).mul(weights).sum().backward();
      float[] masked = Functional.scaledDotProductAttention(q, k, v, tril, 0.3).toFloatArray();
      assertThat(causal).containsExactly(masked, org.assertj.core.data.Offset.offset(1e-5f));
      assertThat(causalGradQ).containsExactly(q.grad().toFloatArray(), org.assertj.core.data.Offset.offset(1e-5f));
      assertThat(causalGradK).containsExactly(k.grad().toFloatArray(), org.assertj.core.data.Offset.offset(1e-5f));
    }
  }
}
