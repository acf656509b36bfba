package dev.peft4j.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.SafeTensorsFile;
import dev.peft4j.io.TensorData;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.peft.lora.LoraConfig;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TestSafeTensors;
import dev.peft4j.testing.TinyCheckpoint;
import dev.peft4j.testing.reference.ReferenceModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hugging Face PEFT's adapter files, both ways. */
class AdapterFormatTest {
  /**
   * Every key {@code LoraConfig.to_dict()} returns in huggingface/peft@5d602fd: the dataclass
   * fields of PeftConfigMixin and PeftConfig (src/peft/config.py) and LoraConfig
   * (src/peft/tuners/lora/config.py), less {@code runtime_config}, which {@code to_dict} pops.
   * Listed by reading those files' field declarations.
   */
  private static final Set<String> PEFT_LORA_CONFIG_KEYS = Set.of(
      "task_type", "peft_type", "auto_mapping", "peft_version", "base_model_name_or_path", "revision",
      "inference_mode", "r", "target_modules", "exclude_modules", "lora_alpha", "lora_dropout", "fan_in_fan_out",
      "bias", "use_rslora", "modules_to_save", "init_lora_weights", "layers_to_transform", "layers_pattern",
      "rank_pattern", "alpha_pattern", "megatron_config", "megatron_core", "trainable_token_indices",
      "loftq_config", "eva_config", "corda_config", "lora_ga_config", "use_dora", "velora_config",
      "alora_invocation_tokens", "use_qalora", "qalora_group_size", "monteclora_config", "layer_replication",
      "lora_bias", "target_parameters", "use_bdlora", "arrow_config", "kasa_config", "ensure_weight_tying");

  private static final long[] IDS = {3, 14, 15, 9, 26};

  @TempDir Path dir;

  private PretrainedModel load(TinyCheckpoint c, String sub) throws Exception {
    return AutoModel.load(c.writeTo(dir.resolve(sub)), LoadOptions.defaults());
  }

  @Test
  void savedConfigHasExactlyPeftsKeysSortedWithIndentTwo() throws Exception {
    PeftModel peft = Peft.wrap(load(TinyCheckpoint.llama(), "m"), LoraConfig.builder().r(8).loraAlpha(16)
        .taskType(TaskType.CAUSAL_LM).build());
    peft.save(dir.resolve("a"));
    String text = Files.readString(dir.resolve("a/adapter_config.json"));
    @SuppressWarnings("unchecked")
    Map<String, Object> json = new ObjectMapper().readValue(text, LinkedHashMap.class);
    assertThat(json.keySet()).containsExactlyInAnyOrderElementsOf(PEFT_LORA_CONFIG_KEYS);
    assertThat(new java.util.ArrayList<>(json.keySet())).isSorted();
    // Python json.dumps(indent=2, sort_keys=True): ": " separators, 2-space indent, {} for empty dicts
    assertThat(text).startsWith("{\n  \"alora_invocation_tokens\": null,\n  \"alpha_pattern\": {},\n")
        .contains("\n  \"lora_alpha\": 16,\n").contains("\n  \"lora_dropout\": 0.0,\n")
        .contains("\n  \"peft_type\": \"LORA\",\n").contains("\n  \"task_type\": \"CAUSAL_LM\",\n")
        .contains("\n  \"target_modules\": [\n    \"q_proj\",\n    \"v_proj\"\n  ],\n")
        .contains("\"base_model_name_or_path\": \"" + dir.resolve("m") + "\"")
        .endsWith("\n}");
  }

  @Test
  void tensorNamesAndShapesArePefts() throws Exception {
    Peft.wrap(load(TinyCheckpoint.llama(), "l"), LoraConfig.builder().r(4).build()).save(dir.resolve("llama"));
    Map<String, long[]> llama = shapes(dir.resolve("llama"));
    Map<String, long[]> expected = new HashMap<>();
    for (int layer = 0; layer < 2; layer++) {
      String p = "base_model.model.model.layers." + layer + ".self_attn.";
      expected.put(p + "q_proj.lora_A.weight", new long[] {4, 32});
      expected.put(p + "q_proj.lora_B.weight", new long[] {32, 4});
      expected.put(p + "v_proj.lora_A.weight", new long[] {4, 32});
      expected.put(p + "v_proj.lora_B.weight", new long[] {16, 4});
    }
    assertThat(llama.keySet()).containsExactlyInAnyOrderElementsOf(expected.keySet());
    expected.forEach((k, v) -> assertThat(llama.get(k)).as(k).containsExactly(v));

    Peft.wrap(load(TinyCheckpoint.gpt2(), "g"), LoraConfig.builder().r(4).build()).save(dir.resolve("gpt2"));
    Map<String, long[]> gpt2 = shapes(dir.resolve("gpt2"));
    assertThat(gpt2.get("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight")).containsExactly(4, 32);
    assertThat(gpt2.get("base_model.model.transformer.h.0.attn.c_attn.lora_B.weight")).containsExactly(96, 4);
    assertThat(Files.readString(dir.resolve("gpt2/adapter_config.json")))
        .as("PEFT sets fan_in_fan_out for Conv1D").contains("\"fan_in_fan_out\": true");
    try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve("gpt2/adapter_model.safetensors"))) {
      assertThat(f.metadata()).containsEntry("format", "pt");
    }
  }

  /**
   * An adapter as Python PEFT writes it, built here without peft4j's writer: a config in the
   * shape of an older PEFT release (fewer keys, target_modules unsorted, an unknown key) and
   * tensors written by the test's own safetensors writer. Loading it must give the reference
   * model's logits with W + (α/r)·B·A.
   */
  @Test
  void loadsAnAdapterWrittenInPeftsFormatByAnotherWriter() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama();
    Path adapter = Files.createDirectories(dir.resolve("python"));
    Files.writeString(adapter.resolve("adapter_config.json"), String.join("\n",
        "{",
        "  \"base_model_name_or_path\": \"tiny-llama\",",
        "  \"bias\": \"none\",",
        "  \"fan_in_fan_out\": false,",
        "  \"inference_mode\": true,",
        "  \"init_lora_weights\": true,",
        "  \"layer_replication\": null,",
        "  \"layers_pattern\": null,",
        "  \"layers_to_transform\": null,",
        "  \"loftq_config\": {},",
        "  \"lora_alpha\": 32,",
        "  \"lora_dropout\": 0.05,",
        "  \"megatron_config\": null,",
        "  \"megatron_core\": \"megatron.core\",",
        "  \"modules_to_save\": null,",
        "  \"peft_type\": \"LORA\",",
        "  \"r\": 2,",
        "  \"rank_pattern\": {},",
        "  \"revision\": null,",
        "  \"some_future_option\": null,",
        "  \"target_modules\": [",
        "    \"v_proj\",",
        "    \"q_proj\"",
        "  ],",
        "  \"task_type\": \"CAUSAL_LM\",",
        "  \"use_dora\": false,",
        "  \"use_rslora\": false",
        "}"));
    Random random = new Random(11);
    Map<String, float[]> tensors = new LinkedHashMap<>();
    Map<String, long[]> shapes = new LinkedHashMap<>();
    Map<String, float[]> weights = new HashMap<>(checkpoint.weights());
    for (int layer = 0; layer < 2; layer++) {
      for (String proj : new String[] {"q_proj", "v_proj"}) {
        String module = "model.layers." + layer + ".self_attn." + proj;
        int out = proj.equals("q_proj") ? 32 : 16;
        float[] a = gaussian(random, 2 * 32);
        float[] b = gaussian(random, out * 2);
        tensors.put("base_model.model." + module + ".lora_A.weight", a);
        shapes.put("base_model.model." + module + ".lora_A.weight", new long[] {2, 32});
        tensors.put("base_model.model." + module + ".lora_B.weight", b);
        shapes.put("base_model.model." + module + ".lora_B.weight", new long[] {out, 2});
        float[] w = weights.get(module + ".weight").clone();
        for (int o = 0; o < out; o++) {
          for (int i = 0; i < 32; i++) {
            w[o * 32 + i] += (float) (32.0 / 2 * (b[o * 2] * (double) a[i] + b[o * 2 + 1] * (double) a[32 + i]));
          }
        }
        weights.put(module + ".weight", w);
      }
    }
    TestSafeTensors.write(adapter.resolve("adapter_model.safetensors"), tensors, shapes, "F32");

    PeftModel peft = PeftModel.load(load(checkpoint, "m"), adapter);
    float[][] expected = ReferenceModel.of(checkpoint.configMap(), weights).logits(new int[] {3, 14, 15, 9, 26});
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      Tensor logits = peft.causalLm().forward(Tensor.ofLongs(IDS, 1, IDS.length), null, null);
      for (int t = 0; t < IDS.length; t++) {
        float[] row = logits.select(0, 0).select(0, t).toFloatArray();
        double scale = 0;
        double diff = 0;
        for (int v = 0; v < row.length; v++) {
          scale = Math.max(scale, Math.abs(expected[t][v]));
          diff = Math.max(diff, Math.abs(row[v] - expected[t][v]));
        }
        assertThat(diff).as("position " + t).isLessThanOrEqualTo(1e-4 * scale);
      }
    }
  }

  @Test
  void badAdaptersAreClearErrors() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama();
    Peft.wrap(load(checkpoint, "m"), LoraConfig.builder().r(4).build()).save(dir.resolve("good"));

    assertThatThrownBy(() -> PeftModel.load(load(checkpoint, "m1"), dir.resolve("nothing")))
        .isInstanceOf(ModelFormatException.class).hasMessageContaining("no adapter_config.json");

    // an adapter for LLaMA on GPT-2: its targets do not exist there
    assertThatThrownBy(() -> PeftModel.load(load(TinyCheckpoint.gpt2(), "g"), dir.resolve("good")))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("does not fit GPT2LMHeadModel")
        .hasMessageContaining("matched no module");

    // an adapter for a LLaMA of another width: a shape error naming the tensor
    PretrainedModel wider = load(TinyCheckpoint.llama().config("hidden_size", 48).config("head_dim", 8), "w");
    assertThatThrownBy(() -> PeftModel.load(wider, dir.resolve("good")))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("lora_A.weight")
        .hasMessageContaining("has shape [4, 32] but this model needs [4, 48]")
        .hasMessageContaining("another base model");

    // missing and unexpected tensors are listed
    Path edited = copyAdapter(dir.resolve("good"), dir.resolve("edited"), tensors -> {
      tensors.remove("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight");
      tensors.put("base_model.model.model.layers.1.self_attn.k_proj.lora_A.weight", tensors.get(
          "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight"));
    });
    assertThatThrownBy(() -> PeftModel.load(load(checkpoint, "m2"), edited))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("missing [base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight]")
        .hasMessageContaining("unexpected [base_model.model.model.layers.1.self_attn.k_proj.lora_A.weight]");

    // features that change the math are refused, not ignored
    Path qalora = copyAdapter(dir.resolve("good"), dir.resolve("qalora"), t -> {});
    Files.writeString(qalora.resolve("adapter_config.json"),
        Files.readString(qalora.resolve("adapter_config.json")).replace("\"use_qalora\": false", "\"use_qalora\": true"));
    assertThatThrownBy(() -> PeftModel.load(load(checkpoint, "m3"), qalora))
        .isInstanceOf(ModelFormatException.class).hasMessageContaining("use_qalora=true is not supported");
    // DoRA is read: a plain LoRA file whose config says use_dora lacks the magnitudes
    Path dora = copyAdapter(dir.resolve("good"), dir.resolve("dora"), t -> {});
    Files.writeString(dora.resolve("adapter_config.json"),
        Files.readString(dora.resolve("adapter_config.json")).replace("\"use_dora\": false", "\"use_dora\": true"));
    assertThatThrownBy(() -> PeftModel.load(load(checkpoint, "m4"), dora))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("missing [base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector");

    // a value of the wrong type is an error naming the file and the key, not a default
    String config = Files.readString(dir.resolve("good").resolve("adapter_config.json"));
    String[][] mistyped = { // what the file says, what it is changed to, the error
        {"\"lora_alpha\": 8", "\"lora_alpha\": \"8x\"", "lora_alpha must be a number, got 8x"},
        {"\"fan_in_fan_out\": false", "\"fan_in_fan_out\": \"no\"", "fan_in_fan_out must be true or false, got no"},
        {"\"layers_to_transform\": null", "\"layers_to_transform\": [0.5]", "layers_to_transform must be an integer, got 0.5"}};
    for (String[] edit : mistyped) {
      assertThat(config).contains(edit[0]);
      Path typo = copyAdapter(dir.resolve("good"), dir.resolve("typo-" + edit[2].hashCode()), t -> {});
      Files.writeString(typo.resolve("adapter_config.json"), config.replace(edit[0], edit[1]));
      assertThatThrownBy(() -> PeftModel.load(load(checkpoint, "m5"), typo))
          .isInstanceOf(ModelFormatException.class)
          .hasMessageContaining(typo.resolve("adapter_config.json").toString())
          .hasMessageContaining(edit[2]);
    }

    Path other = copyAdapter(dir.resolve("good"), dir.resolve("other"), t -> {});
    Files.writeString(other.resolve("adapter_config.json"),
        Files.readString(other.resolve("adapter_config.json")).replace("\"LORA\"", "\"ADALORA\""));
    assertThatThrownBy(() -> PeftModel.load(load(checkpoint, "m4"), other))
        .isInstanceOf(ModelFormatException.class).hasMessageContaining("peft_type 'ADALORA' is not supported");
  }

  private static Path copyAdapter(Path from, Path to, java.util.function.Consumer<Map<String, TensorData>> edit)
      throws Exception {
    Files.createDirectories(to);
    Files.copy(from.resolve("adapter_config.json"), to.resolve("adapter_config.json"));
    Map<String, TensorData> tensors = new LinkedHashMap<>(AdapterFormat.read(from).tensors());
    edit.accept(tensors);
    dev.peft4j.io.SafeTensorsWriter.write(to.resolve("adapter_model.safetensors"), tensors, Map.of("format", "pt"));
    return to;
  }

  private static Map<String, long[]> shapes(Path adapterDir) throws Exception {
    Map<String, long[]> out = new HashMap<>();
    try (SafeTensorsFile f = SafeTensorsFile.open(adapterDir.resolve("adapter_model.safetensors"))) {
      f.tensors().forEach(info -> out.put(info.name(), info.shape()));
    }
    return out;
  }

  private static float[] gaussian(Random random, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (random.nextGaussian() * 0.1);
    }
    return v;
  }
}
