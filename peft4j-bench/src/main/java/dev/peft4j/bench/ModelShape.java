package dev.peft4j.bench;

import dev.peft4j.model.llama.LlamaConfig;
import dev.peft4j.nn.Activation;
import dev.peft4j.nn.RopeScaling;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The shape of a LLaMA-family decoder the benchmarks build with random weights.
 *
 * @param dim hidden size ({@code hidden_size}), a multiple of {@code heads}
 * @param layers decoder layers
 * @param heads query heads
 * @param kvHeads key/value heads; {@code heads} must be a multiple (grouped-query attention)
 * @param ffn SwiGLU intermediate size ({@code intermediate_size})
 * @param vocab vocabulary size
 */
public record ModelShape(int dim, int layers, int heads, int kvHeads, int ffn, int vocab) {
  /** TinyLlama-1.1B's shape (the scale check). */
  public static final ModelShape TINYLLAMA_1_1B = new ModelShape(2048, 22, 32, 4, 5632, 32000);

  /** {@code bench train}'s default: about a minute for the default step count on 2 cores (f32). */
  public static final ModelShape DEFAULT = new ModelShape(512, 4, 8, 4, 1408, 8000);

  /** A tiny shape for tests. */
  public static final ModelShape TINY = new ModelShape(32, 2, 4, 2, 48, 64);

  public ModelShape {
    check(dim > 0 && layers > 0 && heads > 0 && kvHeads > 0 && ffn > 0 && vocab > 0,
        "every dimension must be positive: dim=%s layers=%s heads=%s kv-heads=%s ffn=%s vocab=%s",
        dim, layers, heads, kvHeads, ffn, vocab);
    check(dim % heads == 0, "--dim (%s) must be a multiple of --heads (%s)", dim, heads);
    check(heads % kvHeads == 0, "--heads (%s) must be a multiple of --kv-heads (%s)", heads, kvHeads);
  }

  private static void check(boolean ok, String template, Object... args) {
    if (!ok) {
      throw new IllegalArgumentException(String.format(Locale.ROOT, template, args));
    }
  }

  /** A named preset: {@code default}, {@code tiny} or {@code tinyllama-1.1b}. */
  public static ModelShape preset(String name) {
    switch (name.toLowerCase(Locale.ROOT)) {
      case "default": return DEFAULT;
      case "tiny": return TINY;
      case "tinyllama": case "tinyllama-1.1b": return TINYLLAMA_1_1B;
      default:
        throw new IllegalArgumentException("unknown --preset '" + name + "' (default, tiny, tinyllama-1.1b)");
    }
  }

  public int headDim() {
    return dim / heads;
  }

  /** Output features of k_proj and v_proj. */
  public long kvDim() {
    return (long) kvHeads * headDim();
  }

  /** Weights of the seven projections of one decoder layer. */
  public long linearParamsPerLayer() {
    long attention = 2L * dim * dim + 2L * dim * kvDim(); // q, o: dim x dim; k, v: dim x kvDim
    long mlp = 3L * dim * ffn;                             // gate, up: dim -> ffn; down: ffn -> dim
    return attention + mlp;
  }

  /** Every parameter: embeddings, layers (with norms), final norm and an untied lm_head. */
  public long parameterCount() {
    return 2L * vocab * dim + layers * (linearParamsPerLayer() + 2L * dim) + dim;
  }

  /** A llama config of this shape (no biases, untied head, rope θ 10000). */
  public LlamaConfig config(int maxPositions) {
    return new LlamaConfig("llama", vocab, dim, ffn, layers, heads, kvHeads, headDim(), maxPositions,
        1e-5, 10000.0, new RopeScaling.None(), false, false, false, false, false, Activation.SILU, null);
  }

  /** The shape as a JSON object with the CLI's option names. */
  public Map<String, Object> toJson() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("dim", dim);
    m.put("layers", layers);
    m.put("heads", heads);
    m.put("kv_heads", kvHeads);
    m.put("ffn", ffn);
    m.put("vocab", vocab);
    m.put("parameters", parameterCount());
    return m;
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "dim %d, %d layers, %d/%d heads, ffn %d, vocab %d (%.1fM params)",
        dim, layers, heads, kvHeads, ffn, vocab, parameterCount() / 1e6);
  }
}
