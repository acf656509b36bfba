package dev.peft4j.peft.ia3;

import dev.peft4j.nn.Module;
import dev.peft4j.nn.OutputDelta;
import dev.peft4j.nn.Parameter;
import dev.peft4j.nn.Projection;
import dev.peft4j.peft.Adapter;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.peft.MergeableDelta;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Tensor;

/**
 * One (IA)³ vector on a projection (PEFT's {@code ia3_l}): l [out, 1] rescaling its output,
 * {@code l ⊙ (W x + b)}, or on a feed-forward projection l [1, in] rescaling its input,
 * {@code W (l ⊙ x) + b}. The product is taken in l's dtype (float32 on a bf16 model) and rounded
 * back, as PEFT does. In a mixed batch, rows that do not use the adapter keep a factor of one.
 *
 * <p>Merging multiplies the weight's rows (outputs, and the bias with them) or columns (inputs) by
 * l; unmerging divides by l again. Division cannot undo a zero entry of l, so a merge by a vector
 * with zeros keeps a copy of the weight and bias to restore.
 */
final class Ia3Delta extends Module implements OutputDelta, MergeableDelta {
  private final Projection host;
  private final boolean feedforward;
  private final AdapterControl control;
  private final Parameter vector; // l: [out, 1], or [1, in] on a feed-forward projection
  private Tensor[] beforeMerge; // weight and bias before a merge by a vector with zeros, else null
  private boolean merged;

  /** @param ones l starts at one (the projection unchanged); else N(0, 1) */
  Ia3Delta(Projection host, boolean feedforward, boolean ones, AdapterControl control) {
    this.host = host;
    this.feedforward = feedforward;
    this.control = control;
    long n = feedforward ? host.inFeatures() : host.outFeatures();
    this.vector = parameter("ia3_l", feedforward ? 1 : n, feedforward ? n : 1); // PEFT's name
    DType dtype = Adapter.trainedDType(host.weight().value().dtype());
    try (Engine.GradGuard g = Engine.noGrad()) {
      vector.set((ones ? Tensor.ones(DType.F32, vector.shape()) : Tensor.randn(DType.F32, vector.shape())).to(dtype));
    }
  }

  boolean feedforward() {
    return feedforward;
  }

  @Override
  public boolean active() {
    return control.enabled() && !merged;
  }

  /** {@code l ⊙ input} on a feed-forward projection; the input itself otherwise. */
  @Override
  public Tensor rescaleInput(Tensor input) {
    return feedforward ? rescale(input, false) : input;
  }

  /** {@code l ⊙ output}, unless this is a feed-forward projection (whose input was rescaled). */
  @Override
  public Tensor applyTo(Tensor output, Tensor input) {
    return feedforward ? output : rescale(output, true);
  }

  /**
   * {@code x ⊙ l} in x's dtype, l taken per row in a mixed batch. At one token a step costs little
   * besides the calls into libtorch, so the common case is one: a product with l as stored (a
   * feed-forward [1, in] broadcasts as it is), in place on a fresh output when autograd does not record.
   *
   * @param x [B, ..., n]
   * @param fresh whether x is the projection's own new output (which may be changed in place)
   */
  private Tensor rescale(Tensor x, boolean fresh) {
    Tensor l = feedforward ? vector.value() : vector.value().view(-1);
    Tensor factor = control.rows() == null ? l : perRow(l.view(-1), x);
    if (x.dtype() != l.dtype()) { // PEFT: the product in l's dtype (float32 on a bf16 model), rounded back
      return x.to(l.dtype()).mul(factor).to(x.dtype());
    }
    return fresh && !Engine.records(x, l) ? x.mul_(factor) : x.mul(factor);
  }

  /** [B, 1, ..., n]: l for the rows of the mixed batch that use this adapter, ones for the others. */
  private Tensor perRow(Tensor l, Tensor x) {
    long[] shape = new long[x.dim()];
    java.util.Arrays.fill(shape, 1);
    shape[0] = x.size(0);
    shape[x.dim() - 1] = l.size(0);
    Tensor changes = l.add(-1.0).unsqueeze(0).expand(control.rows().numel(), l.size(0));
    return Tensor.ones(l.dtype(), x.size(0), l.size(0)).indexAdd(0, control.rows(), changes).view(shape);
  }

  /**
   * Computes the host's weight multiplied by l — its output rows and bias, or for a feed-forward
   * projection its input columns — and returns what writes them in.
   *
   * @throws IllegalStateException naming {@code module} if they would not be finite
   */
  @Override
  public Runnable prepareMerge(String module) {
    Tensor weight = scaled(host.weight().value(), false);
    Tensor bias = rescalesBiasToo() ? scaled(host.bias().value(), false) : null;
    if (!weight.allFinite() || (bias != null && !bias.allFinite())) {
      throw new IllegalStateException("(IA)³ vector of '" + module + "' has NaN or infinite values; nothing merged");
    }
    return () -> {
      if (vector.value().eq(0).sum().item() > 0) {
        beforeMerge = new Tensor[] {host.weight().value().copy().retain(),
            bias == null ? null : host.bias().value().copy().retain()};
      }
      host.weight().value().copy_(weight);
      if (bias != null) {
        host.bias().value().copy_(bias);
      }
      merged = true;
    };
  }

  /** Whether merging rescales the bias: an output vector on a projection with a bias. */
  private boolean rescalesBiasToo() {
    return !feedforward && host.bias() != null;
  }

  /** Divides the weight (and bias) by l again, or restores the copy a vector with zeros needed. */
  @Override
  public void unmerge() {
    Tensor weight = beforeMerge != null ? beforeMerge[0] : scaled(host.weight().value(), true);
    host.weight().value().copy_(weight);
    if (rescalesBiasToo()) {
      host.bias().value().copy_(beforeMerge != null ? beforeMerge[1] : scaled(host.bias().value(), true));
    }
    if (beforeMerge != null) {
      for (Tensor t : beforeMerge) {
        if (t != null) {
          t.close();
        }
      }
      beforeMerge = null;
    }
    merged = false;
  }

  /**
   * {@code t} (the host's weight, or its bias) times l, or divided by l, in float32 and rounded to
   * t's dtype: l lies along the outputs (the weight's rows, or its columns when stored [in, out]),
   * or along the inputs of a feed-forward projection.
   */
  private Tensor scaled(Tensor t, boolean divide) {
    Tensor l = vector.value().to(DType.F32).reshape(-1);
    boolean alongLastDim = t.dim() == 1 || (feedforward != host.weightTransposed());
    Tensor factor = alongLastDim ? l : l.unsqueeze(1);
    Tensor f32 = t.to(DType.F32);
    return (divide ? f32.div(factor) : f32.mul(factor)).to(t.dtype());
  }
}
