package dev.peft4j.testing;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.testing.reference.RefConfig;
import dev.peft4j.testing.reference.ReferenceModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Builds a random tiny Hugging Face checkpoint (config.json + safetensors) for tests, plus the
 * matching {@link ReferenceModel}. Weights are drawn (seeded) on the first call to
 * {@link #weights()}, {@link #shapes()}, {@link #writeTo} or {@link #reference()} from the
 * config at that moment; later {@link #config} calls only change config.json (handy for
 * inconsistent checkpoints). Tensor names and order follow HF's state_dict.
 */
public final class TinyCheckpoint {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String family; // llama (incl. mistral, qwen2), gpt2, bert
  private final Map<String, Object> config = new LinkedHashMap<>();
  private boolean architecturesSet;
  private long seed = 42;
  private String dtype = "F32";
  private int shards = 1;
  private boolean classifier;
  private Map<String, float[]> weights;
  private Map<String, long[]> shapes;

  private TinyCheckpoint(String family) {
    this.family = family;
  }

  /** LlamaForCausalLM: vocab 64, hidden 32, 2 layers, 4 heads, 2 kv heads, intermediate 48. */
  public static TinyCheckpoint llama() {
    return create("llama", "architectures", List.of("LlamaForCausalLM"), "model_type", "llama",
        "vocab_size", 64, "hidden_size", 32, "intermediate_size", 48, "num_hidden_layers", 2,
        "num_attention_heads", 4, "num_key_value_heads", 2, "max_position_embeddings", 128,
        "rms_norm_eps", 1e-5, "rope_theta", 10000.0, "hidden_act", "silu",
        "tie_word_embeddings", false, "attention_bias", false, "mlp_bias", false,
        "bos_token_id", 1, "eos_token_id", 2);
  }

  /** GPT2LMHeadModel: vocab 64, n_embd 32, 2 layers, 4 heads, n_positions 64, tied lm_head. */
  public static TinyCheckpoint gpt2() {
    return create("gpt2", "architectures", List.of("GPT2LMHeadModel"), "model_type", "gpt2",
        "vocab_size", 64, "n_embd", 32, "n_layer", 2, "n_head", 4, "n_positions", 64, "n_ctx", 64,
        "n_inner", null, "activation_function", "gelu_new", "layer_norm_epsilon", 1e-5,
        "bos_token_id", 0, "eos_token_id", 0);
  }

  /** BertModel: vocab 64, hidden 32, 2 layers, 4 heads, intermediate 48, 64 positions, 2 types. */
  public static TinyCheckpoint bert() {
    return create("bert", "architectures", List.of("BertModel"), "model_type", "bert",
        "vocab_size", 64, "hidden_size", 32, "num_hidden_layers", 2, "num_attention_heads", 4,
        "intermediate_size", 48, "hidden_act", "gelu", "max_position_embeddings", 64,
        "type_vocab_size", 2, "layer_norm_eps", 1e-12, "position_embedding_type", "absolute",
        "pad_token_id", 0, "hidden_dropout_prob", 0.1, "attention_probs_dropout_prob", 0.1);
  }

  private static TinyCheckpoint create(String family, Object... keyValues) {
    TinyCheckpoint c = new TinyCheckpoint(family);
    for (int i = 0; i < keyValues.length; i += 2) {
      c.config.put((String) keyValues[i], keyValues[i + 1]);
    }
    c.config.put("initializer_range", 0.02);
    c.config.put("torch_dtype", "float32");
    return c;
  }

  public TinyCheckpoint seed(long seed) {
    requireNotGenerated("seed");
    this.seed = seed;
    return this;
  }

  /**
   * Sets (or, with null, removes) a config.json field. Setting model_type also updates
   * architectures unless those were set explicitly.
   */
  public TinyCheckpoint config(String key, Object value) {
    if (value == null) {
      config.remove(key);
    } else {
      config.put(key, value);
    }
    if (key.equals("architectures")) {
      architecturesSet = true;
    } else if (key.equals("model_type") && !architecturesSet && family.equals("llama")) {
      String arch = value.equals("mistral") ? "MistralForCausalLM"
          : value.equals("qwen2") ? "Qwen2ForCausalLM" : "LlamaForCausalLM";
      config.put("architectures", List.of(arch));
    }
    return this;
  }

  /** "F32" (default) or "BF16": stored dtype; the reference then uses bf16-rounded weights. */
  public TinyCheckpoint dtype(String dtype) {
    TestSafeTensors.elementSize(dtype); // validates
    this.dtype = dtype;
    config.put("torch_dtype", dtype.equals("BF16") ? "bfloat16" : "float32");
    return this;
  }

  /** Splits the weights over n files model-0000i-of-0000n.safetensors plus an index. */
  public TinyCheckpoint shards(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("shards must be >= 1");
    }
    this.shards = n;
    return this;
  }

  /** BERT only: a BertForSequenceClassification checkpoint (bert.* names + classifier). */
  public TinyCheckpoint withClassifier(int numLabels) {
    if (!family.equals("bert")) {
      throw new IllegalStateException("withClassifier is for bert()");
    }
    requireNotGenerated("withClassifier");
    classifier = true;
    Map<String, String> id2label = new LinkedHashMap<>();
    Map<String, Integer> label2id = new LinkedHashMap<>();
    for (int i = 0; i < numLabels; i++) {
      id2label.put(String.valueOf(i), "LABEL_" + i);
      label2id.put("LABEL_" + i, i);
    }
    config("architectures", List.of("BertForSequenceClassification"));
    config("num_labels", numLabels);
    config("id2label", id2label);
    config("label2id", label2id);
    return this;
  }

  /** A copy of the current config.json contents. */
  public Map<String, Object> configMap() {
    return new LinkedHashMap<>(config);
  }

  public String configJson() {
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(config);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Mutable, insertion-ordered name -> float32 values (before any bf16 rounding). */
  public Map<String, float[]> weights() {
    generate();
    return weights;
  }

  /** Mutable name -> shape written to the header; may be edited to disagree with the data. */
  public Map<String, long[]> shapes() {
    generate();
    return shapes;
  }

  /** Writes config.json and model.safetensors (or shards + model.safetensors.index.json). */
  public Path writeTo(Path dir) {
    generate();
    try {
      Files.createDirectories(dir);
      Files.writeString(dir.resolve("config.json"), configJson(), StandardCharsets.UTF_8);
      if (shards == 1) {
        TestSafeTensors.write(dir.resolve("model.safetensors"), weights, shapes, dtype);
        return dir;
      }
      List<String> names = new ArrayList<>(weights.keySet());
      if (names.size() < shards) {
        throw new IllegalStateException(names.size() + " tensors cannot fill " + shards + " shards");
      }
      Map<String, String> weightMap = new LinkedHashMap<>();
      long totalSize = 0;
      for (int s = 0; s < shards; s++) {
        String file = String.format("model-%05d-of-%05d.safetensors", s + 1, shards);
        Map<String, float[]> part = new LinkedHashMap<>();
        // contiguous split by tensor count: tensor i goes to shard i * shards / count
        for (int i = s * names.size() / shards; i < (s + 1) * names.size() / shards; i++) {
          String name = names.get(i);
          part.put(name, weights.get(name));
          weightMap.put(name, file);
          totalSize += (long) weights.get(name).length * TestSafeTensors.elementSize(dtype);
        }
        TestSafeTensors.write(dir.resolve(file), part, shapes, dtype);
      }
      Map<String, Object> index = new LinkedHashMap<>();
      index.put("metadata", Map.of("total_size", totalSize));
      index.put("weight_map", weightMap);
      Files.writeString(dir.resolve("model.safetensors.index.json"),
          JSON.writerWithDefaultPrettyPrinter().writeValueAsString(index), StandardCharsets.UTF_8);
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The reference model for the current config and weights (bf16-rounded when dtype BF16). */
  public ReferenceModel reference() {
    generate();
    Map<String, float[]> used = new LinkedHashMap<>();
    for (Map.Entry<String, float[]> e : weights.entrySet()) {
      float[] v = e.getValue().clone();
      if (dtype.equals("BF16")) {
        for (int i = 0; i < v.length; i++) {
          v[i] = TestSafeTensors.roundToBf16(v[i]);
        }
      }
      used.put(e.getKey(), v);
    }
    return ReferenceModel.of(config, used);
  }

  private void requireNotGenerated(String what) {
    if (weights != null) {
      throw new IllegalStateException(what + " must be set before weights are generated");
    }
  }

  private void generate() {
    if (weights != null) {
      return;
    }
    weights = new LinkedHashMap<>();
    shapes = new LinkedHashMap<>();
    Random rnd = new Random(seed);
    RefConfig c = new RefConfig(config);
    if (family.equals("llama")) {
      generateLlama(c, rnd);
    } else if (family.equals("gpt2")) {
      generateGpt2(c, rnd);
    } else {
      generateBert(c, rnd);
    }
  }

  /** LlamaForCausalLM / MistralForCausalLM / Qwen2ForCausalLM state_dict. */
  private void generateLlama(RefConfig c, Random r) {
    String type = c.getString("model_type", "llama");
    int vocab = c.requireInt("vocab_size");
    int hidden = c.requireInt("hidden_size");
    int inter = c.requireInt("intermediate_size");
    int heads = c.requireInt("num_attention_heads");
    int kv = c.getInt("num_key_value_heads", heads);
    int headDim = c.getInt("head_dim", hidden / heads);
    boolean llama = type.equals("llama");
    boolean qkvBias = type.equals("qwen2") || (llama && c.getBool("attention_bias", false));
    boolean oBias = llama && c.getBool("attention_bias", false);
    boolean mlpBias = llama && c.getBool("mlp_bias", false);
    matrix(r, "model.embed_tokens.weight", vocab, hidden);
    for (int l = 0; l < c.requireInt("num_hidden_layers"); l++) {
      String p = "model.layers." + l + ".";
      norm(r, p + "input_layernorm.weight", hidden);
      linear(r, p + "self_attn.q_proj", heads * headDim, hidden, qkvBias);
      linear(r, p + "self_attn.k_proj", kv * headDim, hidden, qkvBias);
      linear(r, p + "self_attn.v_proj", kv * headDim, hidden, qkvBias);
      linear(r, p + "self_attn.o_proj", hidden, heads * headDim, oBias);
      linear(r, p + "mlp.gate_proj", inter, hidden, mlpBias);
      linear(r, p + "mlp.up_proj", inter, hidden, mlpBias);
      linear(r, p + "mlp.down_proj", hidden, inter, mlpBias);
      norm(r, p + "post_attention_layernorm.weight", hidden);
    }
    norm(r, "model.norm.weight", hidden);
    if (!c.getBool("tie_word_embeddings", false)) {
      matrix(r, "lm_head.weight", vocab, hidden);
    }
  }

  /** GPT2LMHeadModel state_dict; Conv1D weights are [in, out]; lm_head tied to wte. */
  private void generateGpt2(RefConfig c, Random r) {
    int embd = c.requireInt("n_embd");
    int inner = c.getInt("n_inner", 4 * embd);
    matrix(r, "transformer.wte.weight", c.requireInt("vocab_size"), embd);
    matrix(r, "transformer.wpe.weight", c.requireInt("n_positions"), embd);
    for (int l = 0; l < c.requireInt("n_layer"); l++) {
      String p = "transformer.h." + l + ".";
      layerNorm(r, p + "ln_1", embd);
      conv1d(r, p + "attn.c_attn", embd, 3 * embd);
      conv1d(r, p + "attn.c_proj", embd, embd);
      layerNorm(r, p + "ln_2", embd);
      conv1d(r, p + "mlp.c_fc", embd, inner);
      conv1d(r, p + "mlp.c_proj", inner, embd);
    }
    layerNorm(r, "transformer.ln_f", embd);
    if (!c.getBool("tie_word_embeddings", true)) {
      matrix(r, "lm_head.weight", c.requireInt("vocab_size"), embd);
    }
  }

  /** BertModel state_dict, or BertForSequenceClassification's (bert.* + classifier). */
  private void generateBert(RefConfig c, Random r) {
    String b = classifier ? "bert." : "";
    int hidden = c.requireInt("hidden_size");
    int inter = c.requireInt("intermediate_size");
    matrix(r, b + "embeddings.word_embeddings.weight", c.requireInt("vocab_size"), hidden);
    matrix(r, b + "embeddings.position_embeddings.weight", c.requireInt("max_position_embeddings"), hidden);
    matrix(r, b + "embeddings.token_type_embeddings.weight", c.requireInt("type_vocab_size"), hidden);
    layerNorm(r, b + "embeddings.LayerNorm", hidden);
    for (int l = 0; l < c.requireInt("num_hidden_layers"); l++) {
      String p = b + "encoder.layer." + l + ".";
      linear(r, p + "attention.self.query", hidden, hidden, true);
      linear(r, p + "attention.self.key", hidden, hidden, true);
      linear(r, p + "attention.self.value", hidden, hidden, true);
      linear(r, p + "attention.output.dense", hidden, hidden, true);
      layerNorm(r, p + "attention.output.LayerNorm", hidden);
      linear(r, p + "intermediate.dense", inter, hidden, true);
      linear(r, p + "output.dense", hidden, inter, true);
      layerNorm(r, p + "output.LayerNorm", hidden);
    }
    linear(r, b + "pooler.dense", hidden, hidden, true);
    if (classifier) {
      linear(r, "classifier", c.requireInt("num_labels"), hidden, true);
    }
  }

  private void linear(Random r, String name, int out, int in, boolean bias) {
    matrix(r, name + ".weight", out, in);
    if (bias) {
      put(name + ".bias", r, 0.0, 0.02, out);
    }
  }

  private void conv1d(Random r, String name, int in, int out) {
    matrix(r, name + ".weight", in, out);
    put(name + ".bias", r, 0.0, 0.02, out);
  }

  private void layerNorm(Random r, String name, int n) {
    norm(r, name + ".weight", n);
    put(name + ".bias", r, 0.0, 0.02, n);
  }

  private void matrix(Random r, String name, int rows, int cols) {
    put(name, r, 0.0, 0.02, rows, cols);
  }

  private void norm(Random r, String name, int n) {
    put(name, r, 1.0, 0.1, n);
  }

  private void put(String name, Random r, double mean, double std, long... shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    float[] v = new float[Math.toIntExact(n)];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (mean + std * r.nextGaussian());
    }
    weights.put(name, v);
    shapes.put(name, shape);
  }
}
