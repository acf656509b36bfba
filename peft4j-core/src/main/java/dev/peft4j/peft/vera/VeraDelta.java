package dev.peft4j.peft.vera;

import dev.peft4j.nn.Module;
import dev.peft4j.nn.OutputDelta;
import dev.peft4j.nn.Parameter;
import dev.peft4j.nn.Projection;
import dev.peft4j.peft.Adapter;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.peft.MergeableDelta;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;

/**
 * VeRA on one projection: {@code Δ(x) = λ_b ⊙ (B_s (λ_d ⊙ (A_s dropout(x))))} with the shared A and
 * B sliced to this layer ({@link VeraProjections}), λ_d [r] and λ_b [out] trained. Computed in the
 * scalings' dtype (float32 on a bf16 model) and added in the output's, as PEFT does.
 */
final class VeraDelta extends Module implements OutputDelta, MergeableDelta {
  private final Projection host;
  private final VeraProjections projections;
  private final Parameter lambdaB; // vera_lambda_b [out]
  private final Parameter lambdaD; // vera_lambda_d [r]
  private final double dropout;
  private final AdapterControl control;
  private boolean merged;

  VeraDelta(Projection host, VeraProjections projections, VeraConfig config, AdapterControl control) {
    this.host = host;
    this.projections = projections;
    this.dropout = config.veraDropout();
    this.control = control;
    this.lambdaB = parameter("vera_lambda_b", host.outFeatures());
    this.lambdaD = parameter("vera_lambda_d", config.r());
    DType dtype = Adapter.trainedDType(host.weight().value().dtype());
    try (Engine.GradGuard g = Engine.noGrad()) {
      boolean init = config.initWeights();
      lambdaB.set((init ? Tensor.zeros(DType.F32, host.outFeatures()) : Tensor.ones(DType.F32, host.outFeatures()))
          .to(dtype));
      lambdaD.set((init ? Tensor.full(DType.F32, config.dInitial(), config.r()) : Tensor.randn(DType.F32, config.r()))
          .to(dtype));
    }
  }

  @Override
  public boolean active() {
    return control.enabled() && !merged;
  }

  /** The output plus the change; in place on the fresh output, which autograd does not need, when it does not record. */
  @Override
  public Tensor applyTo(Tensor output, Tensor input) {
    Tensor change = control.forRows(input, this::change);
    if (change.dtype() != output.dtype()) {
      return output.add(change.to(output.dtype()));
    }
    return Engine.records(output, change) ? output.add(change) : output.add_(change, 1);
  }

  /**
   * @param x [..., in]
   * @return λ_b ⊙ B_s (λ_d ⊙ A_s dropout(x)), [..., out] in the scalings' dtype (A and B are kept in
   *     it, so at one token a step is the two products and the two scalings)
   */
  private Tensor change(Tensor x) {
    Tensor l = lambdaD.value();
    Tensor in = Functional.dropout(x.dtype() == l.dtype() ? x : x.to(l.dtype()), dropout, control.training());
    Tensor down = Functional.linear(in, projections.slicedA(host.inFeatures()), null).mul(l);
    return Functional.linear(down, projections.slicedB(host.outFeatures()), null).mul(lambdaB.value());
  }

  /** {@code (λ_b ⊙ B_s)(λ_d ⊙ A_s)} in float32, in the host weight's layout ([in, out] for Conv1D). */
  private Tensor deltaWeight() {
    Tensor b = projections.slicedB(host.outFeatures()).to(DType.F32).mul(lambdaB.value().to(DType.F32).unsqueeze(1));
    Tensor a = projections.slicedA(host.inFeatures()).to(DType.F32).mul(lambdaD.value().to(DType.F32).unsqueeze(1));
    Tensor delta = b.matmul(a);
    return host.weightTransposed() ? delta.transpose(0, 1) : delta;
  }

  /**
   * Computes W + ΔW in W's dtype and returns what writes it in.
   *
   * @throws IllegalStateException naming {@code module} if it would not be finite
   */
  @Override
  public Runnable prepareMerge(String module) {
    Tensor w = host.weight().value();
    Tensor merged = w.to(DType.F32).add(deltaWeight()).to(w.dtype());
    if (!merged.allFinite()) {
      throw new IllegalStateException("VeRA update of '" + module + "' has NaN or infinite values; nothing merged");
    }
    return () -> {
      w.copy_(merged);
      this.merged = true;
    };
  }

  @Override
  public void unmerge() {
    Tensor w = host.weight().value();
    w.copy_(w.to(DType.F32).sub(deltaWeight()));
    merged = false;
  }
}
