package dev.peft4j.peft.loha;

import dev.peft4j.nn.Module;
import dev.peft4j.nn.OutputDelta;
import dev.peft4j.nn.Parameter;
import dev.peft4j.nn.Projection;
import dev.peft4j.peft.Adapter;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.peft.MergeableDelta;
import dev.peft4j.peft.Inits;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.DerivedTensor;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;

/**
 * LoHa on one Linear: {@code Δ(x) = x ΔWᵀ} with {@code ΔW = s · (W1a W1b) ⊙ (W2a W2b)} (the
 * Hadamard product has no low-rank shortcut), in the factors' dtype (float32 on a bf16 model) and
 * added in the output's. Under autograd ΔW is formed at every pass; without it, it is kept while
 * the factors are the same tensors at the same versions (forming it is an [out, in] pass). While training, rank dropout zeroes output rows of ΔW and
 * module dropout skips the update, as PEFT's LycorisLayer does.
 */
final class LoHaDelta extends Module implements OutputDelta, MergeableDelta {
  private final Projection host;
  private final Parameter w1a; // hada_w1_a [out, r]
  private final Parameter w1b; // hada_w1_b [r, in]
  private final Parameter w2a; // hada_w2_a [out, r]
  private final Parameter w2b; // hada_w2_b [r, in]
  private final double scaling;
  private final double rankDropout;
  private final double moduleDropout;
  private final AdapterControl control;
  private boolean merged;
  private final DerivedTensor cachedDelta = new DerivedTensor(); // ΔW without autograd

  LoHaDelta(Projection host, int rank, double scaling, LoHaConfig config, AdapterControl control) {
    this.host = host;
    this.scaling = scaling;
    this.rankDropout = config.rankDropout();
    this.moduleDropout = config.moduleDropout();
    this.control = control;
    long out = host.outFeatures();
    long in = host.inFeatures();
    w1a = parameter("hada_w1_a", out, rank);
    w1b = parameter("hada_w1_b", rank, in);
    w2a = parameter("hada_w2_a", out, rank);
    w2b = parameter("hada_w2_b", rank, in);
    DType dtype = Adapter.trainedDType(host.weight().value().dtype());
    try (Engine.GradGuard g = Engine.noGrad()) { // W2b = 0 keeps the model as it was; false: all random
      w1a.set(Inits.kaimingUniform(out, rank).to(dtype));
      w1b.set(Inits.kaimingUniform(rank, in).to(dtype));
      w2a.set(Inits.kaimingUniform(out, rank).to(dtype));
      w2b.set((config.initWeights() ? Tensor.zeros(DType.F32, rank, in) : Inits.kaimingUniform(rank, in)).to(dtype));
    }
  }

  @Override
  public boolean active() {
    return control.enabled() && !merged;
  }

  @Override
  public Tensor applyTo(Tensor output, Tensor input) {
    if (control.training() && moduleDropout > 0 && Tensor.zeros(DType.F32, 1).uniform_(0, 1).item() < moduleDropout) {
      return output; // the draws come from libtorch's seeded generator
    }
    boolean recording = Engine.records(input, w1a.value(), w1b.value(), w2a.value(), w2b.value());
    Tensor delta = recording || control.training() ? rankDropped(deltaRows())
        : cachedDelta.get(this::deltaRows, w1a.value(), w1b.value(), w2a.value(), w2b.value());
    Tensor change = control.forRows(input, x -> Functional.linear(x.dtype() == delta.dtype() ? x : x.to(delta.dtype()),
        delta, null));
    if (change.dtype() != output.dtype()) {
      return output.add(change.to(output.dtype()));
    }
    return recording ? output.add(change) : output.add_(change, 1);
  }



  /** ΔW with, while training, each output row kept with 1 − p and the kept rows rescaled by their share (PEFT's rank dropout). */
  private Tensor rankDropped(Tensor delta) {
    if (control.training() && rankDropout > 0) {
      Tensor keep = Functional.dropout(Tensor.ones(DType.F32, delta.size(0)), rankDropout, true).mul(1 - rankDropout);
      double share = keep.mean().item();
      return delta.mul(keep.div(share == 0 ? 1 : share).to(delta.dtype()).unsqueeze(1));
    }
    return delta;
  }

  /** {@code s · (W1a W1b) ⊙ (W2a W2b)}: [out, in] in the factors' dtype (FedPara eq. 3). */
  private Tensor deltaRows() {
    return w1a.value().matmul(w1b.value()).mul(w2a.value().matmul(w2b.value())).mul(scaling);
  }

  /**
   * Computes W + ΔW in W's dtype and returns what writes it in.
   *
   * @throws IllegalStateException naming {@code module} if it would not be finite
   */
  @Override
  public Runnable prepareMerge(String module) {
    Tensor w = host.weight().value();
    Tensor sum = w.to(DType.F32).add(deltaRows().to(DType.F32)).to(w.dtype());
    if (!sum.allFinite()) {
      throw new IllegalStateException("LoHa update of '" + module + "' has NaN or infinite values; nothing merged");
    }
    return () -> {
      w.copy_(sum);
      merged = true;
    };
  }

  @Override
  public void unmerge() {
    Tensor w = host.weight().value();
    w.copy_(w.to(DType.F32).sub(deltaRows().to(DType.F32)));
    merged = false;
  }
}
