package dev.peft4j.tensor;

import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Neural-network functions over tensors, after {@code torch.nn.functional}. */
public final class Functional {
  private Functional() {}

  /**
   * {@code x W^T + b}; {@code weight} is [out, in], {@code bias} [out] or null. A single row in
   * bf16/f16 (a decode step at batch 1) is a matrix-vector product: libtorch would send it through
   * oneDNN's matmul, which costs 1.1–1.5x as much for one row (docs/PERFORMANCE.md); with MKL
   * loaded and no gradient to track, a bf16 row goes to MKL's bf16 gemm, faster still.
   */
  public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
    boolean halfPrecision = x.dtype() == DType.BF16 || x.dtype() == DType.F16;
    if (halfPrecision && weight.dtype() == x.dtype() && weight.dim() == 2 && x.numel() == weight.size(1)) {
      long in = weight.size(1);
      long[] shape = x.shape();
      shape[shape.length - 1] = weight.size(0);
      Tensor y = MklBf16.serves(x, weight) ? MklBf16.linearRow(x, weight)
          : new Tensor(weight.handle().mv(x.handle().reshape(in)));
      return (bias == null ? y : y.add(bias)).reshape(shape);
    }
    return new Tensor(torch.linear(x.handle(), weight.handle(), optional(bias)));
  }

  /** Rows of {@code weight} [num, dim] picked by the int64 {@code ids}. */
  public static Tensor embedding(Tensor weight, Tensor ids) {
    return new Tensor(torch.embedding(weight.handle(), ids.handle()));
  }

  /** Layer normalization over the last dimension; {@code weight}/{@code bias} may be null. */
  public static Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, double eps) {
    return new Tensor(torch.layer_norm(
        x.handle(), new long[] {x.size(-1)}, optional(weight), optional(bias), eps, false));
  }

  /**
   * {@code x / sqrt(mean(x^2) + eps) * weight} over the last dimension (Zhang &amp; Sennrich 2019),
   * computed in float32 and rounded to x's dtype once, weight included, as libtorch's
   * {@code rms_norm} (Hugging Face's {@code LlamaRMSNorm} rounds before applying the weight, which
   * adds error in bf16). mean(x²) is taken as ‖x‖²/d from one fused norm kernel: libtorch's
   * {@code rms_norm} is a composite (upcast, pow, mean, add, rsqrt, products) whose backward makes
   * several more passes over x; this form is ~19% faster forward + backward at [4, 256, 512]
   * (docs/PERFORMANCE.md, notes §17).
   */
  public static Tensor rmsNorm(Tensor x, Tensor weight, double eps) {
    org.bytedeco.pytorch.Tensor norm = torch.linalg_vector_norm(x.handle(), new Scalar(2.0),
        new long[] {-1}, true, new ScalarTypeOptional(ScalarType.Float)); // [..., 1], float32
    org.bytedeco.pytorch.Tensor inverseRms = norm.square().div(new Scalar((double) x.size(-1)))
        .add(new Scalar(eps)).rsqrt();
    Tensor normalized = new Tensor(x.handle().mul(inverseRms)); // float32
    return (weight == null ? normalized : normalized.mul(weight)).to(x.dtype());
  }

  /** {@code x * sigmoid(x)}. */
  public static Tensor silu(Tensor x) {
    return new Tensor(torch.silu(x.handle()));
  }

  /** The logistic function {@code 1 / (1 + e^-x)}. */
  public static Tensor sigmoid(Tensor x) {
    return new Tensor(torch.sigmoid(x.handle()));
  }

  /** {@code max(x, 0)}. */
  public static Tensor relu(Tensor x) {
    return new Tensor(torch.relu(x.handle()));
  }

  /** Exact GELU, {@code x * Phi(x)} with the error function (BERT's "gelu"). */
  public static Tensor gelu(Tensor x) {
    return new Tensor(torch.gelu(x.handle()));
  }

  /** Tanh-approximated GELU (GPT-2's "gelu_new"). */
  public static Tensor geluTanh(Tensor x) {
    return new Tensor(torch.gelu(x.handle(), "tanh"));
  }

  public static Tensor softmax(Tensor x, long dim) {
    return new Tensor(torch.softmax(x.handle(), dim));
  }

  public static Tensor logSoftmax(Tensor x, long dim) {
    return new Tensor(x.handle().log_softmax(dim));
  }

  /**
   * Fused attention {@code softmax(q k^T * scale + mask) v}.
   *
   * @param q [B, H, Tq, D]
   * @param k [B, Hkv, Tk, D]; {@code H} must be a multiple of {@code Hkv} (grouped-query)
   * @param v [B, Hkv, Tk, D]
   * @param mask boolean [B or 1, 1 or H, Tq, Tk], true where attention is allowed; or null
   * @param scale the softmax scale, usually {@code 1/sqrt(D)}
   */
  public static Tensor scaledDotProductAttention(Tensor q, Tensor k, Tensor v, Tensor mask, double scale) {
    return scaledDotProductAttention(q, k, v, mask, false, scale);
  }

  /**
   * As above; with {@code causal} (and no mask), query i attends to keys 0..i only (libtorch's
   * {@code is_causal}: the upper triangle of a square Tq = Tk pass is skipped, not masked).
   */
  public static Tensor scaledDotProductAttention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal,
      double scale) {
    boolean gqa = q.size(1) != k.size(1);
    DType dtype = q.dtype();
    if ((dtype == DType.BF16 || dtype == DType.F16) && q.handle().is_cpu() && Engine.records(q, k, v)) {
      // libtorch's CPU flash-attention backward in bf16/f16 falls back to a scalar gemm and is
      // 10-20x slower than the same attention in f32 (docs/PERFORMANCE.md); when a backward
      // follows, attend in f32 and round the output once. The forward alone stays in bf16.
      org.bytedeco.pytorch.Tensor out = torch.scaled_dot_product_attention(
          q.handle().to(ScalarType.Float), k.handle().to(ScalarType.Float), v.handle().to(ScalarType.Float),
          optional(mask), 0.0, causal, new DoubleOptional(scale), gqa);
      return new Tensor(out.to(ScalarTypes.of(dtype)));
    }
    return new Tensor(torch.scaled_dot_product_attention(
        q.handle(), k.handle(), v.handle(), optional(mask), 0.0, causal, new DoubleOptional(scale), gqa));
  }

  /**
   * Mean cross-entropy of {@code logits} [N, C] against class ids {@code targets} [N] (int64);
   * targets equal to -100 are ignored (Hugging Face's label-masking convention).
   */
  public static Tensor crossEntropy(Tensor logits, Tensor targets) {
    return new Tensor(torch.cross_entropy(logits.handle(), targets.handle()));
  }

  /** Zeroes each element with probability {@code p} and scales the rest by 1/(1-p) when training. */
  public static Tensor dropout(Tensor x, double p, boolean training) {
    if (!training || p == 0) {
      return x;
    }
    return new Tensor(torch.dropout(x.handle(), p, true));
  }

  private static TensorOptional optional(Tensor t) {
    return t == null ? new TensorOptional() : new TensorOptional(t.handle());
  }
}
