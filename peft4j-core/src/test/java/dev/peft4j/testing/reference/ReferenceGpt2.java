package dev.peft4j.testing.reference;

import java.util.Map;

/**
 * GPT-2 mirroring transformers' GPT2LMHeadModel (modeling_gpt2.py) in eager mode:
 * wte + wpe -> N x [x + attn(ln_1(x)); x + mlp(ln_2(x))] -> ln_f -> lm_head (tied to wte).
 * Linear layers are Conv1D with weights laid out [in, out].
 *
 * <p>Config keys honoured: vocab_size, n_embd, n_layer, n_head, n_positions, n_inner,
 * layer_norm_epsilon, activation_function, scale_attn_weights,
 * scale_attn_by_inverse_layer_idx, tie_word_embeddings. Weight names may carry the
 * {@code transformer.} prefix (GPT2LMHeadModel) or not (GPT2Model).
 */
public final class ReferenceGpt2 implements ReferenceModel {
  private final Map<String, float[]> weights;
  private final String prefix;
  private final int vocab, embd, layers, heads, positions, inner;
  private final double eps;
  private final String act;
  private final boolean scaleAttn, scaleByLayer, tied;
  private SublayerHook hook = SublayerHook.NONE;

  public ReferenceGpt2(Map<String, ?> config, Map<String, float[]> weights) {
    RefConfig c = new RefConfig(config);
    this.weights = weights;
    prefix = weights.containsKey("transformer.wte.weight") ? "transformer." : "";
    vocab = c.getInt("vocab_size", 50257);
    embd = c.getInt("n_embd", 768);
    layers = c.getInt("n_layer", 12);
    heads = c.getInt("n_head", 12);
    positions = c.getInt("n_positions", 1024);
    inner = c.getInt("n_inner", 4 * embd); // GPT2MLP: n_inner if not None else 4 * hidden_size
    eps = c.getDouble("layer_norm_epsilon", 1e-5);
    act = c.getString("activation_function", "gelu_new");
    scaleAttn = c.getBool("scale_attn_weights", true);
    scaleByLayer = c.getBool("scale_attn_by_inverse_layer_idx", false);
    tied = c.getBool("tie_word_embeddings", true);
  }

  /** Runs {@code hook} at the sublayer sites from now on (tests of adapters). */
  public ReferenceGpt2 withHook(SublayerHook hook) {
    this.hook = hook;
    return this;
  }

  /** GPT2LMHeadModel logits [T][vocab]. */
  @Override
  public float[][] logits(int[] ids) {
    float[][] h = lastHidden(ids);
    float[] head = tied
        ? w(prefix + "wte.weight", (long) vocab * embd)
        : w("lm_head.weight", (long) vocab * embd);
    float[][] out = new float[h.length][];
    for (int t = 0; t < h.length; t++) {
      out[t] = RefMath.linear(h[t], head, null, vocab);
    }
    return out;
  }

  /** GPT2Model.forward: hidden states after ln_f, [T][n_embd]. */
  public float[][] lastHidden(int[] ids) {
    int n = ids.length;
    if (n > positions) {
      throw new IllegalArgumentException("sequence of " + n + " exceeds n_positions " + positions);
    }
    int headDim = embd / heads;
    float[] wte = w(prefix + "wte.weight", (long) vocab * embd);
    float[] wpe = w(prefix + "wpe.weight", (long) positions * embd);
    float[][] h = new float[n][];
    for (int t = 0; t < n; t++) {
      h[t] = RefMath.add(RefMath.embedding(wte, embd, ids[t]), RefMath.embedding(wpe, embd, t));
    }
    for (int l = 0; l < layers; l++) {
      String p = prefix + "h." + l + ".";
      // GPT2Attention: c_attn -> split(q, k, v) -> heads -> causal softmax -> c_proj
      float[][] q = new float[n][];
      float[][] k = new float[n][];
      float[][] v = new float[n][];
      float[][] normed = new float[n][];
      for (int t = 0; t < n; t++) {
        float[] x = ln(h[t], p + "ln_1");
        normed[t] = x;
        float[] qkv = conv(x, p + "attn.c_attn", 3 * embd);
        q[t] = java.util.Arrays.copyOfRange(qkv, 0, embd);
        k[t] = java.util.Arrays.copyOfRange(qkv, embd, 2 * embd);
        v[t] = java.util.Arrays.copyOfRange(qkv, 2 * embd, 3 * embd);
      }
      double scale = scaleAttn ? 1.0 / Math.sqrt(headDim) : 1.0;
      if (scaleByLayer) {
        scale /= (l + 1);
      }
      float[][] a = RefMath.attention(q, k, v, heads, heads, headDim, scale, RefMath.CAUSAL);
      for (int t = 0; t < n; t++) {
        float[] ctx = hook.apply(l, "attention.context", normed[t], a[t]);
        h[t] = RefMath.add(h[t], hook.apply(l, "attention", normed[t], conv(ctx, p + "attn.c_proj", embd)));
      }
      // GPT2MLP: c_proj(act(c_fc(ln_2(x))))
      for (int t = 0; t < n; t++) {
        float[] x = ln(h[t], p + "ln_2");
        float[] m = conv(x, p + "mlp.c_fc", inner);
        for (int i = 0; i < inner; i++) {
          m[i] = (float) RefMath.activation(act, m[i]);
        }
        h[t] = RefMath.add(h[t], hook.apply(l, "ffn", x, conv(m, p + "mlp.c_proj", embd)));
      }
    }
    for (int t = 0; t < n; t++) {
      h[t] = ln(h[t], prefix + "ln_f");
    }
    return h;
  }

  private float[] ln(float[] x, String name) {
    return RefMath.layerNorm(x, w(name + ".weight", embd), w(name + ".bias", embd), eps);
  }

  private float[] conv(float[] x, String name, int out) {
    return RefMath.conv1d(x, w(name + ".weight", (long) x.length * out), w(name + ".bias", out), out);
  }

  private float[] w(String name, long length) {
    return RefMath.require(weights, name, length);
  }
}
