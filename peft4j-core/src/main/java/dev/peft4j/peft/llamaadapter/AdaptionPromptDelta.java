package dev.peft4j.peft.llamaadapter;

import dev.peft4j.nn.KvDelta;
import dev.peft4j.nn.KvSite;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;

/**
 * One layer's adaption prompt at its attention K/V site (Zhang et al. 2023, eq. 6–8): the prompt
 * P [1, K, hidden] (plus the projected image feature, per row) goes through the layer's frozen
 * k/v projections, unrotated; the queries attend to it in their own softmax and the result is
 * scaled by the gate: {@code g · softmax(q K_pᵀ/√d) V_p}, added to the attention output.
 */
final class AdaptionPromptDelta extends Module implements KvDelta {
  private final Parameter prompt; // adaption_prompt [1, K, hidden], N(0, 1) as PEFT
  private final Parameter gate;   // adaption_gate [1] (scalar) or [1, H, 1, 1] (per head, tanh); zero
  private final boolean tanh;
  private final LlamaAdapter.Visual visual; // null for text only
  private final AdapterControl control;

  AdaptionPromptDelta(KvSite site, int length, LlamaAdapterConfig.Gate gateType, LlamaAdapter.Visual visual,
      AdapterControl control) {
    this.tanh = gateType == LlamaAdapterConfig.Gate.PER_HEAD_TANH;
    this.visual = visual;
    this.control = control;
    prompt = parameter("adaption_prompt", 1, length, site.hiddenSize());
    gate = tanh ? parameter("adaption_gate", 1, site.heads(), 1, 1) : parameter("adaption_gate", 1);
    try (Engine.GradGuard g = Engine.noGrad()) {
      prompt.set(Tensor.randn(DType.F32, prompt.shape()));
      gate.set(Tensor.zeros(DType.F32, gate.shape()));
    }
  }

  Parameter prompt() {
    return prompt;
  }

  Parameter gate() {
    return gate;
  }

  @Override
  public boolean active() {
    return control.enabled();
  }

  /** @param queries [B, H, T, D] @return g · softmax(q K_pᵀ · scale) V_p, [B, H, T, D] */
  @Override
  public Tensor separateAttention(KvSite site, Tensor queries, double scale) {
    long b = queries.size(0);
    DType dtype = queries.dtype();
    Tensor p = prompt.value();                                   // [1, K, hidden]
    if (visual != null) {
      Tensor image = visual.projected(b);                        // [B, 1, hidden], or null
      if (image != null) {
        p = p.add(image);                                        // [B, K, hidden]
      }
    }
    long rows = p.size(0);
    long k = p.size(1);
    Tensor[] kv = site.project(p.to(dtype));                     // frozen k/v projections, no rotation
    Tensor keys = kv[0].view(rows, k, site.kvHeads(), site.headDim()).transpose(1, 2).expand(b, site.kvHeads(), k, site.headDim());
    Tensor values = kv[1].view(rows, k, site.kvHeads(), site.headDim()).transpose(1, 2).expand(b, site.kvHeads(), k, site.headDim());
    Tensor attended = Functional.scaledDotProductAttention(queries, keys, values, null, scale); // [B, H, T, D]
    Tensor g = (tanh ? gate.value().tanh() : gate.value().view(1, 1, 1, 1)).to(dtype);
    Tensor selected = control.rowMask(b); // in a mixed batch, only this adapter's rows
    return selected == null ? attended.mul(g) : attended.mul(g).mul(selected.to(dtype).view(b, 1, 1, 1));
  }
}
