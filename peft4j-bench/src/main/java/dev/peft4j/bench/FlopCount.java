package dev.peft4j.bench;

import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The matmul FLOPs one training step of a LLaMA-shaped model actually does, counting a
 * multiply-add as 2 FLOPs. With {@code N = batch · seq} tokens:
 *
 * <pre>
 * forward
 *   projection [out, in]          2·N·in·out          (q, k, v, o, gate, up, down; lm_head: in=dim, out=vocab)
 *   attention core per layer      4·B·H·T²·D          (q kᵀ and p v over the full T×T: the explicit
 *                                                     boolean mask is applied, not skipped)
 *   LoRA on a projection          2·N·r·(in + out)    (x Aᵀ, then (x Aᵀ) Bᵀ)
 * backward
 *   frozen projection             2·N·in·out          activation gradient dX = dY W, only where X depends
 *                                                     on a trainable parameter; no weight gradient
 *   LoRA                          2·N·r·(in + out)    weight gradients dA, dB
 *                               + 2·N·r·out           the gradient reaching x Aᵀ: (dY·s) B
 *                               + 2·N·r·in            dX through A, where X needs a gradient
 *   attention core                2 × its forward     (dQ, dK from dS; dV and dP), where q, k or v need
 *                                                     a gradient; a kernel that recomputes P does one more
 *   lm_head                       2·N·dim·vocab       dX (the head is frozen)
 * </pre>
 *
 * <p>Embedding lookups, norms, activations, RoPE, softmax, cross-entropy and the optimizer are
 * not counted (they are O(N·dim), not O(N·dim²)). Which activations need a gradient follows
 * autograd: the embedding output does not; a tensor does once any input on its path is or depends
 * on a trainable parameter. Trainable parameters that are not LoRA factors (other methods) are
 * counted as making their layer's input need a gradient (or the embedding output, outside any
 * layer); their own FLOPs are not counted.
 */
public final class FlopCount {
  private static final Pattern LAYER = Pattern.compile("(?:^|\\.)layers\\.(\\d+)\\.");
  private static final String[] ATTENTION = {"q_proj", "k_proj", "v_proj"};

  private FlopCount() {}

  /**
   * FLOPs of one step, split by kind.
   *
   * @param forward forward FLOPs (projections, attention, LoRA)
   * @param backward backward FLOPs
   * @param attention the attention-core part of {@code forward + backward}
   * @param adapter the LoRA part of {@code forward + backward}
   */
  public record Step(double forward, double backward, double attention, double adapter) {
    public double total() {
      return forward + backward;
    }
  }

  /**
   * @param loraRanks rank of the LoRA delta on each adapted projection, by module path
   *     ({@code model.layers.3.self_attn.q_proj}); empty for none
   * @param otherTrainable paths of trainable parameters that are not LoRA factors
   * @param backward whether a backward pass follows (false: inference, forward only)
   */
  public static Step step(ModelShape s, int batch, int seq, Map<String, Integer> loraRanks,
      Set<String> otherTrainable, boolean backward) {
    double n = (double) batch * seq;
    long dim = s.dim();
    long kv = s.kvDim();
    double attnCore = 4.0 * batch * s.heads() * (double) seq * seq * s.headDim();
    boolean[] layerInputTrainable = new boolean[s.layers()];
    boolean embeddingTrainable = false;
    for (String path : otherTrainable) {
      Matcher m = LAYER.matcher(path);
      if (m.find()) {
        int layer = Integer.parseInt(m.group(1));
        if (layer < s.layers()) {
          layerInputTrainable[layer] = true;
        }
      } else if (!path.startsWith("lm_head") && !path.startsWith("model.norm")) {
        embeddingTrainable = true;
      }
    }
    Acc acc = new Acc(n, backward, loraRanks);
    boolean x = embeddingTrainable; // does the residual stream entering the layer need a gradient?
    for (int l = 0; l < s.layers(); l++) {
      String p = "model.layers." + l + ".";
      x |= layerInputTrainable[l];
      boolean qkv = false;
      long[] outs = {dim, kv, kv};
      for (int i = 0; i < ATTENTION.length; i++) {
        qkv |= acc.projection(p + "self_attn." + ATTENTION[i], dim, outs[i], x);
      }
      acc.forward += attnCore;
      acc.attention += attnCore;
      if (backward && qkv) {
        acc.backward += 2 * attnCore;
        acc.attention += 2 * attnCore;
      }
      boolean o = acc.projection(p + "self_attn.o_proj", dim, dim, qkv);
      boolean h = x || o;
      boolean gate = acc.projection(p + "mlp.gate_proj", dim, s.ffn(), h);
      boolean up = acc.projection(p + "mlp.up_proj", dim, s.ffn(), h);
      boolean down = acc.projection(p + "mlp.down_proj", s.ffn(), dim, gate || up);
      x = h || down;
    }
    acc.projection("lm_head", dim, s.vocab(), x);
    return new Step(acc.forward, acc.backward, acc.attention, acc.adapter);
  }

  /** Accumulates projection FLOPs. */
  private static final class Acc {
    final double n;
    final boolean withBackward;
    final Map<String, Integer> ranks;
    double forward;
    double backward;
    double attention;
    double adapter;

    Acc(double n, boolean withBackward, Map<String, Integer> ranks) {
      this.n = n;
      this.withBackward = withBackward;
      this.ranks = ranks;
    }

    /**
     * Adds a projection; returns whether its output needs a gradient.
     *
     * @param inputGrad whether its input needs a gradient
     */
    boolean projection(String path, long in, long out, boolean inputGrad) {
      double base = 2 * n * in * out;
      forward += base;
      if (withBackward && inputGrad) {
        backward += base;
      }
      Integer r = ranks.get(path);
      if (r == null) {
        return inputGrad;
      }
      double lora = 2 * n * r * (in + out);
      forward += lora;
      adapter += lora;
      if (withBackward) {
        double b = lora + 2 * n * r * out + (inputGrad ? 2 * n * r * in : 0);
        backward += b;
        adapter += b;
      }
      return true;
    }
  }
}
