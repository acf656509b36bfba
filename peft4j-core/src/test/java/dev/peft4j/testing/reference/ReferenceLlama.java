package dev.peft4j.testing.reference;

import java.util.Map;

/**
 * LLaMA-family decoder mirroring transformers' LlamaForCausalLM (modeling_llama.py) in eager
 * mode, also covering MistralForCausalLM and Qwen2ForCausalLM which share its math:
 * embed -> N x [x + attn(rmsnorm(x)); x + mlp(rmsnorm(x))] -> rmsnorm -> lm_head.
 *
 * <p>Config keys honoured: vocab_size, hidden_size, intermediate_size, num_hidden_layers,
 * num_attention_heads, num_key_value_heads, head_dim, rms_norm_eps, rope_theta, rope_scaling
 * (default / linear / llama3), rope_parameters, attention_bias, mlp_bias, hidden_act,
 * tie_word_embeddings, sliding_window (mistral only; Qwen2's opt-in use_sliding_window is not
 * modelled).
 */
public final class ReferenceLlama implements ReferenceModel {
  private final Map<String, float[]> weights;
  private final int vocab, hidden, layers, heads, kvHeads, headDim, intermediate;
  private final double eps;
  private final String act;
  private final boolean qkvBias, oBias, mlpBias, tied;
  private final double[] invFreq;
  private final int[] slidingWindow; // per layer; 0 = plain causal
  private SublayerHook hook = SublayerHook.NONE;

  public ReferenceLlama(Map<String, ?> config, Map<String, float[]> weights) {
    RefConfig c = new RefConfig(config);
    this.weights = weights;
    String type = c.getString("model_type", "llama");
    vocab = c.requireInt("vocab_size");
    hidden = c.requireInt("hidden_size");
    layers = c.requireInt("num_hidden_layers");
    heads = c.requireInt("num_attention_heads");
    kvHeads = c.getInt("num_key_value_heads", heads);
    // LlamaAttention: getattr(config, "head_dim", None) or hidden_size // num_attention_heads
    headDim = c.getInt("head_dim", hidden / heads);
    intermediate = c.requireInt("intermediate_size");
    eps = c.getDouble("rms_norm_eps", 1e-6);
    act = c.getString("hidden_act", "silu");
    tied = c.getBool("tie_word_embeddings", false);
    slidingWindow = new int[layers];
    switch (type) {
      case "llama": // LlamaAttention / LlamaMLP: bias=config.attention_bias / config.mlp_bias
        qkvBias = c.getBool("attention_bias", false);
        oBias = qkvBias;
        mlpBias = c.getBool("mlp_bias", false);
        break;
      case "mistral": // MistralAttention: no biases; window on every layer when set
        qkvBias = false;
        oBias = false;
        mlpBias = false;
        java.util.Arrays.fill(slidingWindow, c.getInt("sliding_window", 0));
        break;
      case "qwen2": // Qwen2Attention: q/k/v bias=True, o_proj bias=False; MLP without bias
        qkvBias = true;
        oBias = false;
        mlpBias = false;
        break;
      default:
        throw new IllegalArgumentException("not a llama-family model_type: " + type);
    }
    invFreq = ropeInverseFrequencies(config, headDim);
  }

  /** Runs {@code hook} at the sublayer sites from now on (tests of adapters). */
  public ReferenceLlama withHook(SublayerHook hook) {
    this.hook = hook;
    return this;
  }

  /** LlamaForCausalLM logits [T][vocab]; lm_head is embed_tokens when tie_word_embeddings. */
  @Override
  public float[][] logits(int[] ids) {
    float[][] h = lastHidden(ids);
    float[] head = tied
        ? w("model.embed_tokens.weight", (long) vocab * hidden)
        : w("lm_head.weight", (long) vocab * hidden);
    float[][] out = new float[h.length][];
    for (int t = 0; t < h.length; t++) {
      out[t] = RefMath.linear(h[t], head, null, vocab);
    }
    return out;
  }

  /** LlamaModel.forward: hidden states after the final model.norm, [T][hidden]. */
  public float[][] lastHidden(int[] ids) {
    return lastHidden(ids, PromptExtras.NONE);
  }

  /** Logits [T][vocab] of the real tokens with the prompt-family additions of {@code extras}. */
  public float[][] logits(int[] ids, PromptExtras extras) {
    float[][] h = lastHidden(ids, extras);
    float[] head = tied
        ? w("model.embed_tokens.weight", (long) vocab * hidden)
        : w("lm_head.weight", (long) vocab * hidden);
    float[][] out = new float[h.length][];
    for (int t = 0; t < h.length; t++) {
      out[t] = RefMath.linear(h[t], head, null, vocab);
    }
    return out;
  }

  /**
   * Hidden states of the real tokens after the final norm, with (any of) virtual input embeddings
   * prepended, per-layer prefix keys/values joined into the softmax (shifting every position by
   * P, as Hugging Face PEFT's past_key_values do), and LLaMA-Adapter prompts attended separately.
   */
  public float[][] lastHidden(int[] ids, PromptExtras extras) {
    float[] embed = w("model.embed_tokens.weight", (long) vocab * hidden);
    int virtual = extras.virtualTokens() == null ? 0 : extras.virtualTokens().length;
    int n = virtual + ids.length;
    int prefix = extras.prefixKeys() == null ? 0 : extras.prefixKeys()[0].length;
    float[][] h = new float[n][];
    for (int t = 0; t < n; t++) {
      h[t] = t < virtual ? extras.virtualTokens()[t].clone() : RefMath.embedding(embed, hidden, ids[t - virtual]);
    }
    int qDim = heads * headDim;
    int kvDim = kvHeads * headDim;
    for (int l = 0; l < layers; l++) {
      String p = "model.layers." + l + ".";
      // LlamaDecoderLayer: residual + self_attn(input_layernorm(x))
      float[][] q = new float[n][];
      float[][] k = new float[n][];
      float[][] v = new float[n][];
      float[][] normed = new float[n][];
      for (int t = 0; t < n; t++) {
        float[] x = RefMath.rmsNorm(h[t], w(p + "input_layernorm.weight", hidden), eps);
        normed[t] = x;
        q[t] = proj(x, p + "self_attn.q_proj", qDim, hidden, qkvBias);
        k[t] = proj(x, p + "self_attn.k_proj", kvDim, hidden, qkvBias);
        v[t] = proj(x, p + "self_attn.v_proj", kvDim, hidden, qkvBias);
        for (int hh = 0; hh < heads; hh++) {
          applyRope(q[t], hh * headDim, headDim, invFreq, prefix + t);
        }
        for (int hh = 0; hh < kvHeads; hh++) {
          applyRope(k[t], hh * headDim, headDim, invFreq, prefix + t);
        }
      }
      int window = slidingWindow[l];
      RefMath.Mask causal = window > 0 ? (i, j) -> j <= i && j > i - window : RefMath.CAUSAL;
      RefMath.Mask mask = prefix == 0 ? causal : (i, j) -> j < prefix || causal.visible(i, j - prefix);
      if (prefix > 0) {
        k = concat(extras.prefixKeys()[l], k);
        v = concat(extras.prefixValues()[l], v);
      }
      float[][] a = RefMath.attention(q, k, v, heads, kvHeads, headDim, 1.0 / Math.sqrt(headDim), mask);
      float[][] prompt = extras.adaptionPrompts() == null ? null : extras.adaptionPrompts()[l];
      if (prompt != null) {
        // LLaMA-Adapter: prompt keys/values through the frozen k/v projections, no rotation; own softmax, gated
        float[][] pk = new float[prompt.length][];
        float[][] pv = new float[prompt.length][];
        for (int j = 0; j < prompt.length; j++) {
          pk[j] = proj(prompt[j], p + "self_attn.k_proj", kvDim, hidden, qkvBias);
          pv[j] = proj(prompt[j], p + "self_attn.v_proj", kvDim, hidden, qkvBias);
        }
        float[][] extra = RefMath.attention(q, pk, pv, heads, kvHeads, headDim, 1.0 / Math.sqrt(headDim), RefMath.FULL);
        double[] gate = extras.gates()[l];
        for (int t = 0; t < n; t++) {
          for (int i = 0; i < qDim; i++) {
            a[t][i] = (float) (a[t][i] + gate[i / headDim] * extra[t][i]);
          }
        }
      }
      for (int t = 0; t < n; t++) {
        float[] ctx = hook.apply(l, "attention.context", normed[t], a[t]);
        h[t] = RefMath.add(h[t], hook.apply(l, "attention", normed[t], proj(ctx, p + "self_attn.o_proj", hidden, qDim, oBias)));
      }
      // residual + mlp(post_attention_layernorm(x)); LlamaMLP: down(act(gate(x)) * up(x))
      for (int t = 0; t < n; t++) {
        float[] x = RefMath.rmsNorm(h[t], w(p + "post_attention_layernorm.weight", hidden), eps);
        float[] gate = proj(x, p + "mlp.gate_proj", intermediate, hidden, mlpBias);
        float[] up = proj(x, p + "mlp.up_proj", intermediate, hidden, mlpBias);
        float[] m = new float[intermediate];
        for (int i = 0; i < intermediate; i++) {
          m[i] = (float) (RefMath.activation(act, gate[i]) * up[i]);
        }
        h[t] = RefMath.add(h[t], hook.apply(l, "ffn", x, proj(m, p + "mlp.down_proj", hidden, intermediate, mlpBias)));
      }
    }
    float[][] out = new float[n - virtual][];
    for (int t = virtual; t < n; t++) {
      out[t - virtual] = RefMath.rmsNorm(h[t], w("model.norm.weight", hidden), eps);
    }
    return out;
  }

  private static float[][] concat(float[][] a, float[][] b) {
    float[][] out = new float[a.length + b.length][];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /**
   * What the prompt family adds to a forward pass; any component may be null.
   *
   * @param virtualTokens [V][hidden] input embeddings prepended to the tokens'
   * @param prefixKeys [layers][P][kvDim] keys joined into each layer's softmax
   * @param prefixValues [layers][P][kvDim]
   * @param adaptionPrompts [layers][len][hidden], null entries for layers without
   * @param gates [layers][heads] the factor on each head's adaption attention
   */
  public record PromptExtras(float[][] virtualTokens, float[][][] prefixKeys, float[][][] prefixValues,
      float[][][] adaptionPrompts, double[][] gates) {
    public static final PromptExtras NONE = new PromptExtras(null, null, null, null, null);
  }

  /** The inverse frequencies this model rotates with (after rope_scaling). */
  public double[] inverseFrequencies() {
    return invFreq.clone();
  }

  /**
   * inv_freq as built by modeling_rope_utils: default 1/theta^(2i/d) for i < d/2, then
   * "linear" (_compute_linear_scaling_rope_parameters: inv_freq / factor, i.e. positions /
   * factor) or "llama3" (_compute_llama3_parameters). The attention_factor of these three types
   * is 1, so cos/sin are not rescaled. Reads rope_scaling, or rope_parameters in newer configs.
   */
  public static double[] ropeInverseFrequencies(Map<String, ?> config, int headDim) {
    RefConfig c = new RefConfig(config);
    Map<String, Object> scaling = c.getMap("rope_parameters");
    double theta = c.getDouble("rope_theta", 10000.0);
    if (scaling != null) {
      theta = new RefConfig(scaling).getDouble("rope_theta", theta);
    } else {
      scaling = c.getMap("rope_scaling");
    }
    double[] inv = new double[headDim / 2];
    for (int i = 0; i < inv.length; i++) {
      inv[i] = 1.0 / Math.pow(theta, (2.0 * i) / headDim);
    }
    if (scaling == null) {
      return inv;
    }
    RefConfig s = new RefConfig(scaling);
    String type = s.getString("rope_type", s.getString("type", "default"));
    switch (type) {
      case "default":
        return inv;
      case "linear":
        for (int i = 0; i < inv.length; i++) {
          inv[i] /= s.getDouble("factor", 1.0);
        }
        return inv;
      case "llama3":
        return llama3(inv, s);
      default:
        throw new UnsupportedOperationException("rope_type " + type);
    }
  }

  /**
   * _compute_llama3_parameters: wavelengths longer than original_max / low_freq_factor are
   * divided by factor, shorter than original_max / high_freq_factor kept, and those in between
   * interpolated with smooth = (original_max / wavelen - low) / (high - low).
   */
  private static double[] llama3(double[] inv, RefConfig s) {
    double factor = s.getDouble("factor", 8.0);
    double low = s.getDouble("low_freq_factor", 1.0);
    double high = s.getDouble("high_freq_factor", 4.0);
    double oldContext = s.getDouble("original_max_position_embeddings", 8192);
    double lowFreqWavelen = oldContext / low;
    double highFreqWavelen = oldContext / high;
    double[] out = new double[inv.length];
    for (int i = 0; i < inv.length; i++) {
      double wavelen = 2 * Math.PI / inv[i];
      if (wavelen > lowFreqWavelen) {
        out[i] = inv[i] / factor;
      } else if (wavelen < highFreqWavelen) {
        out[i] = inv[i];
      } else {
        double smooth = (oldContext / wavelen - low) / (high - low);
        out[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i];
      }
    }
    return out;
  }

  /**
   * apply_rotary_pos_emb on one head stored at x[offset .. offset+headDim): x*cos +
   * rotate_half(x)*sin where cos/sin = cat(freqs, freqs) and rotate_half(x) = cat(-x2, x1),
   * i.e. pairs (i, i + d/2) rotate by angle position * inv_freq[i] (non-interleaved).
   */
  public static void applyRope(float[] x, int offset, int headDim, double[] invFreq, int position) {
    int half = headDim / 2;
    for (int i = 0; i < half; i++) {
      double angle = position * invFreq[i];
      double cos = Math.cos(angle);
      double sin = Math.sin(angle);
      double a = x[offset + i];
      double b = x[offset + i + half];
      x[offset + i] = (float) (a * cos - b * sin);
      x[offset + i + half] = (float) (b * cos + a * sin);
    }
  }

  private float[] proj(float[] x, String name, int out, int in, boolean bias) {
    float[] b = bias ? w(name + ".bias", out) : null;
    return RefMath.linear(x, w(name + ".weight", (long) out * in), b, out);
  }

  private float[] w(String name, long length) {
    return RefMath.require(weights, name, length);
  }
}
