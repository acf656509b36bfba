package dev.peft4j.tensor;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.ShortPointer;
import org.bytedeco.mkl.global.mkl_rt;
import org.bytedeco.pytorch.global.torch;

/**
 * One bf16 row times a bf16 weight in MKL's {@code cblas_gemm_bf16bf16f32}, for decoding steps
 * when MKL is loaded ({@link Engine#usesMkl()}): products accumulated in float32 and rounded to
 * bf16 once, as libtorch's own kernels do, at 1.5-2.8x the speed of libtorch's bf16
 * matrix-vector product in the three shapes measured (docs/PERFORMANCE.md §16). The call bypasses autograd, so it serves only
 * products that autograd would not record (gradients off, or neither operand requiring one).
 */
final class MklBf16 {
  private MklBf16() {}

  /** Whether {@link #linearRow} can compute {@code x W^T} for these tensors, which have the same dtype. */
  static boolean serves(Tensor x, Tensor weight) {
    return Engine.usesMkl() && x.dtype() == DType.BF16 && weight.handle().is_contiguous() && weight.handle().is_cpu()
        && !Engine.records(x, weight);
  }

  /**
   * @param x one bf16 row, any shape of {@code in} elements
   * @param weight bf16 [out, in], contiguous
   * @return {@code x W^T} as bf16 [out]
   */
  static Tensor linearRow(Tensor x, Tensor weight) {
    int out = Math.toIntExact(weight.size(0));
    int in = Math.toIntExact(weight.size(1));
    org.bytedeco.pytorch.Tensor row = x.handle().contiguous();
    org.bytedeco.pytorch.Tensor y = torch.empty(new long[] {out}, Tensor.options(DType.F32),
        new org.bytedeco.pytorch.MemoryFormatOptional());
    // row-major C[1, out] = A[1, in] · B[out, in]ᵀ
    mkl_rt.cblas_gemm_bf16bf16f32(mkl_rt.CblasRowMajor, mkl_rt.CblasNoTrans, mkl_rt.CblasTrans, 1, out, in, 1f,
        new ShortPointer(row.data_ptr()), in, new ShortPointer(weight.handle().data_ptr()), in, 0f,
        new FloatPointer(y.data_ptr()), out);
    return new Tensor(y.to(ScalarTypes.of(DType.BF16)));
  }
}
