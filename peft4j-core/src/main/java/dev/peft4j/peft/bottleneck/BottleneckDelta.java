package dev.peft4j.peft.bottleneck;

import dev.peft4j.nn.Linear;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.Parameter;
import dev.peft4j.nn.Projection;
import dev.peft4j.nn.SublayerDelta;
import dev.peft4j.nn.SublayerSite;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;

/**
 * One bottleneck adapter at one sublayer site — every variant is this delta with different
 * choices (He et al. 2022, §3.2 Table 1 and §3.3):
 *
 * <pre>
 *   sequential (Houlsby et al. 2019, Fig. 2):  h ← h + s · (f(h W_down + b_down) W_up + b_up)
 *   parallel   (He et al. 2022, §3.3):          h ← h + s · (f(x W_down + b_down) W_up + b_up)
 *   multi-head parallel:                        h ← h + W_o · concat_i(s · (f(x W_down⁽ⁱ⁾ + b_down⁽ⁱ⁾) W_up⁽ⁱ⁾ + b_up⁽ⁱ⁾))
 * </pre>
 *
 * where h is the sublayer output [B, T, d], x the sublayer input [B, T, d], f the non-linearity
 * and s the (fixed or learned) scaling. {@code down} is a Linear d → m (weight [m, d]), {@code up}
 * a Linear m → d (weight [d, m]): 2md + d + m parameters. The multi-head variant gives each of the
 * H heads its own down (d → m, stacked into one Linear d → H·m since all read the same x) and up
 * (m → d_h, a {@link HeadwiseLinear}); their outputs are the per-head changes Δ of the attention
 * context, and because the output projection is linear, {@code o_proj(ctx + Δ) = o_proj(ctx) + W_o Δ}:
 * the change is added at the attention output site through the frozen W_o (no bias).
 */
final class BottleneckDelta extends Module implements SublayerDelta {
  private final Linear down;                  // weight [H·m, d] (H = 1 unless multi-head), bias [H·m]
  private final Linear up;                    // weight [d, m], bias [d]; null when multi-head
  private final HeadwiseLinear headUp;        // weight [H, d_h, m], bias [H, d_h]; null unless multi-head
  private final Projection headMixer;         // W_o of the attention site, multi-head only
  private final Parameter learnedScaling;     // [1], or null for a fixed s
  private final double scaling;
  private final BottleneckSpec.NonLinearity nonLinearity;
  private final boolean sequential;
  private final AdapterControl control;

  /**
   * @param site where the delta will be attached (its width d, heads and output projection)
   * @param m the bottleneck width (per head when multi-head)
   */
  BottleneckDelta(SublayerSite site, BottleneckSpec spec, int m, AdapterControl control) {
    long d = site.width();
    int heads = spec.multiHead() ? site.heads() : 1;
    this.nonLinearity = spec.nonLinearity();
    this.sequential = spec.insertion() == BottleneckSpec.Insertion.SEQUENTIAL;
    this.scaling = spec.scaling();
    this.control = control;
    this.down = child("down", new Linear(d, (long) heads * m, true));
    if (spec.multiHead()) {
      this.headMixer = site.outputProjection();
      this.headUp = child("up", new HeadwiseLinear(heads, m, headMixer.inFeatures() / heads));
      this.up = null;
    } else {
      this.headMixer = null;
      this.headUp = null;
      this.up = child("up", new Linear(m, d, true));
    }
    this.learnedScaling = spec.learnedScaling() ? parameter("scaling", 1) : null;
    initialise(spec, site.outputProjection().weight().value().dtype(), d);
  }

  private void initialise(BottleneckSpec spec, DType dtype, long d) {
    Parameter upWeight = up != null ? up.weight() : headUp.weight();
    Parameter upBias = up != null ? up.bias() : headUp.bias();
    try (Engine.GradGuard g = Engine.noGrad()) {
      switch (spec.init()) {
        case HOULSBY:
          down.weight().set(Inits.truncatedNormal(1e-2, down.weight().shape()).to(dtype));
          upWeight.set(Inits.truncatedNormal(1e-2, upWeight.shape()).to(dtype));
          break;
        case BERT:
          down.weight().set(Inits.normal(0.02, down.weight().shape()).to(dtype));
          upWeight.set(Inits.normal(0.02, upWeight.shape()).to(dtype));
          break;
        case LORA:
        default:
          down.weight().set(Inits.kaimingUniform(d, down.weight().shape()).to(dtype));
          upWeight.set(Tensor.zeros(dtype, upWeight.shape()));
          break;
      }
      down.bias().set(Tensor.zeros(dtype, down.bias().shape()));
      upBias.set(Tensor.zeros(dtype, upBias.shape()));
      if (learnedScaling != null) {
        learnedScaling.set(Tensor.full(dtype, scaling, 1));
      }
    }
  }

  @Override
  public boolean active() {
    return control.enabled();
  }

  /**
   * @param x the sublayer input [B, T, d]
   * @param h the sublayer output so far [B, T, d]
   * @return h + Δ [B, T, d]
   */
  @Override
  public Tensor apply(Tensor x, Tensor h) {
    Tensor in = sequential ? h : x;                                       // [B, T, d]
    return h.add(control.forRows(in, rows -> {                            // only the rows using this adapter
      Tensor z = nonLinearity.activation.apply(down.forward(rows));       // f(in W_down + b_down): [R, T, H·m]
      Tensor delta = up != null ? up.forward(z) : headUp.forward(z);      // · W_up + b_up: [R, T, d] or [R, T, H·d_h]
      delta = learnedScaling != null ? delta.mul(learnedScaling.value())
          : scaling == 1.0 ? delta : delta.mul(scaling);                  // s ·
      return headMixer != null ? mix(delta, headMixer) : delta;           // W_o Δ: [R, T, d]
    }));
  }

  /** {@code Δ W_oᵀ} with the projection's weight only (no bias, no deltas), in its storage layout. */
  private static Tensor mix(Tensor delta, Projection p) {
    Tensor w = p.weight().value();
    return p.weightTransposed() ? delta.matmul(w) : Functional.linear(delta, w, null);
  }
}
