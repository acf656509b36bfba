package dev.peft4j.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.SafeTensorsWriter;
import dev.peft4j.io.TensorData;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.model.SequenceClassifier;
import dev.peft4j.peft.llamaadapter.LlamaAdapterConfig;
import dev.peft4j.peft.prefix.PrefixTuningConfig;
import dev.peft4j.peft.prompt.PTuningConfig;
import dev.peft4j.peft.prompt.PromptTemplate;
import dev.peft4j.peft.prompt.PromptTuningConfig;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TestSafeTensors;
import dev.peft4j.testing.TinyCheckpoint;
import dev.peft4j.testing.reference.ReferenceLlama;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PEFT's adapter_config.json keys and tensor names for PROMPT_TUNING, P_TUNING, PREFIX_TUNING and ADAPTION_PROMPT. */
class PromptFamilyFormatTest {
  /** The fields of PeftConfigMixin and PeftConfig (src/peft/config.py at huggingface/peft@5d602fd). */
  private static final Set<String> BASE = Set.of("task_type", "peft_type", "auto_mapping", "peft_version",
      "base_model_name_or_path", "revision", "inference_mode");
  /** BASE + PromptLearningConfig's fields (src/peft/config.py). */
  private static final Set<String> PROMPT_LEARNING = union(BASE, "num_virtual_tokens", "token_dim",
      "num_transformer_submodules", "num_attention_heads", "num_layers", "modules_to_save");
  /** + PromptTuningConfig (src/peft/tuners/prompt_tuning/config.py). */
  static final Set<String> PEFT_PROMPT_TUNING_KEYS = union(PROMPT_LEARNING, "prompt_tuning_init",
      "prompt_tuning_init_text", "tokenizer_name_or_path", "tokenizer_kwargs");
  /** + PromptEncoderConfig (src/peft/tuners/p_tuning/config.py). */
  static final Set<String> PEFT_P_TUNING_KEYS = union(PROMPT_LEARNING, "encoder_reparameterization_type",
      "encoder_hidden_size", "encoder_num_layers", "encoder_dropout");
  /** + PrefixTuningConfig (src/peft/tuners/prefix_tuning/config.py). */
  static final Set<String> PEFT_PREFIX_TUNING_KEYS = union(PROMPT_LEARNING, "init_weights", "encoder_hidden_size",
      "prefix_projection");
  /** BASE + AdaptionPromptConfig (src/peft/tuners/adaption_prompt/config.py). */
  static final Set<String> PEFT_ADAPTION_PROMPT_KEYS = union(BASE, "target_modules", "adapter_len", "adapter_layers");

  @TempDir Path dir;

  private static Set<String> union(Set<String> base, String... more) {
    Set<String> s = new HashSet<>(base);
    s.addAll(List.of(more));
    return Set.copyOf(s);
  }

  private PretrainedModel llama(String sub) throws Exception {
    return AutoModel.load(TinyCheckpoint.llama().writeTo(dir.resolve(sub)), LoadOptions.defaults());
  }

  @SuppressWarnings("unchecked")
  private Map<String, Object> savedConfig(PeftConfig config, String sub) throws Exception {
    Peft.wrap(llama(sub + "-model"), config).save(dir.resolve(sub));
    String text = Files.readString(dir.resolve(sub).resolve("adapter_config.json"));
    Map<String, Object> json = new ObjectMapper().readValue(text, LinkedHashMap.class);
    assertThat(new ArrayList<>(json.keySet())).isSorted();
    return json;
  }

  @Test
  void savedConfigsHaveExactlyPeftsKeys() throws Exception {
    Map<String, Object> prompt = savedConfig(PromptTuningConfig.builder().numVirtualTokens(4).build(), "pt");
    assertThat(prompt.keySet()).containsExactlyInAnyOrderElementsOf(PEFT_PROMPT_TUNING_KEYS);
    assertThat(prompt).containsEntry("peft_type", "PROMPT_TUNING").containsEntry("token_dim", 32)
        .containsEntry("num_layers", 2).containsEntry("num_attention_heads", 4)
        .containsEntry("num_transformer_submodules", 1).containsEntry("prompt_tuning_init", "RANDOM");

    Map<String, Object> ptuning = savedConfig(PTuningConfig.builder().numVirtualTokens(4).build(), "p");
    assertThat(ptuning.keySet()).containsExactlyInAnyOrderElementsOf(PEFT_P_TUNING_KEYS);
    assertThat(ptuning).containsEntry("encoder_reparameterization_type", "MLP").containsEntry("encoder_hidden_size", 32);
    Map<String, Object> templated = savedConfig(PTuningConfig.builder().numVirtualTokens(2)
        .template(PromptTemplate.parse("[P] {x} [P]"), 5).build(), "pt2");
    assertThat(templated.keySet()).containsExactlyInAnyOrderElementsOf(union(PEFT_P_TUNING_KEYS, "template", "pseudo_token_id"));

    Map<String, Object> prefix = savedConfig(PrefixTuningConfig.builder().numVirtualTokens(4).build(), "pre");
    assertThat(prefix.keySet()).containsExactlyInAnyOrderElementsOf(PEFT_PREFIX_TUNING_KEYS);
    // grouped-query attention as PEFT: token_dim = head_dim · kv heads, num_attention_heads = kv heads
    assertThat(prefix).containsEntry("token_dim", 16).containsEntry("num_attention_heads", 2)
        .containsEntry("prefix_projection", false).containsEntry("encoder_hidden_size", 512);

    Map<String, Object> adaption = savedConfig(LlamaAdapterConfig.builder().adapterLen(3).adapterLayers(1)
        .gate(LlamaAdapterConfig.Gate.SCALAR).build(), "ap");
    assertThat(adaption.keySet()).containsExactlyInAnyOrderElementsOf(PEFT_ADAPTION_PROMPT_KEYS);
    assertThat(adaption).containsEntry("target_modules", "self_attn");
  }

  /**
   * A prompt-learning classifier's head goes under PEFT's {@code base_model.classifier.*} (PEFT runs
   * prompt learning on the model itself, without the {@code base_model.model} of its tuners); a file
   * written with the head under {@code base_model.model.classifier.*}, as peft4j did before, still loads.
   */
  @Test
  void aPromptClassifiersHeadIsSavedUnderPeftsNamesAndTheFormerNamesStillLoad() throws Exception {
    Path model = TinyCheckpoint.bert().writeTo(dir.resolve("bert"));
    PeftModel peft = Peft.wrap(classifier(model), PromptTuningConfig.builder().numVirtualTokens(3)
        .taskType(TaskType.SEQ_CLS).modulesToSave(List.of("classifier")).build());
    try (Engine.GradGuard g = Engine.noGrad()) {
      peft.trainableParameters().get("classifier.bias").value().add_(Tensor.ones(DType.F32, 2), 1.0);
    }
    peft.save(dir.resolve("new"));
    Map<String, TensorData> saved = AdapterFormat.read(dir.resolve("new")).tensors();
    assertThat(saved).containsOnlyKeys("prompt_embeddings", "base_model.classifier.weight", "base_model.classifier.bias");

    Path old = Files.createDirectories(dir.resolve("old"));
    Files.copy(dir.resolve("new").resolve(AdapterFormat.CONFIG_FILE), old.resolve(AdapterFormat.CONFIG_FILE));
    Map<String, TensorData> renamed = new LinkedHashMap<>();
    saved.forEach((name, data) -> renamed.put(name.replace("base_model.classifier.", "base_model.model.classifier."), data));
    SafeTensorsWriter.write(old.resolve(AdapterFormat.WEIGHTS_FILE), renamed, Map.of("format", "pt"));
    long[][] ids = {{2, 9, 8, 7, 3}};
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      float[] expected = ((SequenceClassifier) peft.baseModel()).classify(Tensor.ofLongs(ids[0], 1, 5), null, null)
          .toFloatArray();
      for (String dirName : List.of("new", "old")) {
        PeftModel loaded = PeftModel.load(classifier(model), dir.resolve(dirName));
        assertThat(((SequenceClassifier) loaded.baseModel()).classify(Tensor.ofLongs(ids[0], 1, 5), null, null)
            .toFloatArray()).as(dirName).containsExactly(expected);
      }
    }
  }

  private static SequenceClassifier classifier(Path bert) throws Exception {
    Engine.manualSeed(3); // the same new head each time, replaced by the adapter's on load
    return new SequenceClassifier(AutoModel.load(bert, LoadOptions.defaults()), "bert", List.of("no", "yes"),
        SequenceClassifier.Pooling.MEAN);
  }

  /**
   * An ADAPTION_PROMPT adapter as PEFT writes it, made here without peft4j's writer: no gate key
   * (PEFT's scalar gate without tanh) and PEFT's tensor names; loading gives the reference's logits.
   */
  @Test
  void loadsAnAdaptionPromptWrittenInPeftsLayoutByAnotherWriter() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama();
    Path adapter = Files.createDirectories(dir.resolve("python"));
    Files.writeString(adapter.resolve("adapter_config.json"), String.join("\n", "{",
        "  \"adapter_layers\": 1,", "  \"adapter_len\": 2,", "  \"base_model_name_or_path\": \"tiny\",",
        "  \"inference_mode\": true,", "  \"peft_type\": \"ADAPTION_PROMPT\",", "  \"revision\": null,",
        "  \"target_modules\": \"self_attn\",", "  \"task_type\": \"CAUSAL_LM\"", "}"));
    Random random = new Random(5);
    float[] prompt = new float[2 * 32];
    for (int i = 0; i < prompt.length; i++) {
      prompt[i] = (float) random.nextGaussian();
    }
    Map<String, float[]> tensors = new LinkedHashMap<>();
    Map<String, long[]> shapes = new LinkedHashMap<>();
    tensors.put("base_model.model.model.layers.1.self_attn.adaption_prompt", prompt);
    shapes.put("base_model.model.model.layers.1.self_attn.adaption_prompt", new long[] {1, 2, 32});
    tensors.put("base_model.model.model.layers.1.self_attn.adaption_gate", new float[] {0.8f});
    shapes.put("base_model.model.model.layers.1.self_attn.adaption_gate", new long[] {1});
    TestSafeTensors.write(adapter.resolve("adapter_model.safetensors"), tensors, shapes, "F32");

    PeftModel peft = PeftModel.load(AutoModel.load(checkpoint.writeTo(dir.resolve("m")), LoadOptions.defaults()), adapter);
    assertThat(((LlamaAdapterConfig) peft.config()).gate()).isEqualTo(LlamaAdapterConfig.Gate.SCALAR);
    float[][] rows = new float[2][32];
    for (int j = 0; j < 2; j++) {
      System.arraycopy(prompt, j * 32, rows[j], 0, 32);
    }
    float[][] expected = new ReferenceLlama(checkpoint.configMap(), checkpoint.weights()).logits(new int[] {3, 14, 15, 9},
        new ReferenceLlama.PromptExtras(null, null, null, new float[][][] {null, rows}, new double[][] {null, {0.8, 0.8, 0.8, 0.8}}));
    PromptTesting.assertClose(PromptTesting.logits(peft.causalLm(), 3, 14, 15, 9), expected, 1e-4, "PEFT adaption prompt");
  }

  @Test
  void adaptersForAnotherModelAreClearErrors() throws Exception {
    Peft.wrap(llama("m"), PrefixTuningConfig.builder().numVirtualTokens(4).build()).save(dir.resolve("prefix"));
    PretrainedModel wider = AutoModel.load(TinyCheckpoint.llama().config("num_key_value_heads", 4)
        .writeTo(dir.resolve("w")), LoadOptions.defaults());
    assertThatThrownBy(() -> PeftModel.load(wider, dir.resolve("prefix")))
        .isInstanceOf(ModelFormatException.class).hasMessageContaining("token_dim is 16 in the config but 32");
    Peft.wrap(llama("m2"), PromptTuningConfig.builder().numVirtualTokens(4).build()).save(dir.resolve("prompt"));
    Files.writeString(dir.resolve("prompt/adapter_config.json"), Files.readString(dir.resolve("prompt/adapter_config.json"))
        .replace("\"num_virtual_tokens\": 4", "\"num_virtual_tokens\": 5"));
    assertThatThrownBy(() -> PeftModel.load(llama("m3"), dir.resolve("prompt")))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("tensor 'prompt_embeddings'").hasMessageContaining("has shape [4, 32] but this model needs [5, 32]");
  }

  @Test
  void encoderDecoderAdaptersAndMissingKeysAreClearErrorsForEveryPromptMethod() throws Exception {
    Map<String, PeftConfig> methods = Map.of(
        "prefix", PrefixTuningConfig.builder().numVirtualTokens(4).build(),
        "prompt", PromptTuningConfig.builder().numVirtualTokens(4).build(),
        "ptuning", PTuningConfig.builder().numVirtualTokens(4).build());
    for (Map.Entry<String, PeftConfig> method : methods.entrySet()) {
      Path saved = dir.resolve(method.getKey());
      Peft.wrap(llama(method.getKey() + "-m"), method.getValue()).save(saved);
      Path config = saved.resolve("adapter_config.json");
      String text = Files.readString(config);
      assertThat(text).contains("\"num_transformer_submodules\": 1", "\"num_virtual_tokens\": 4,");

      Files.writeString(config, text.replace("\"num_transformer_submodules\": 1", "\"num_transformer_submodules\": 2"));
      assertThatThrownBy(() -> PeftModel.load(llama(method.getKey() + "-m2"), saved)).as(method.getKey())
          .isInstanceOf(ModelFormatException.class).hasMessageContaining(config.toString())
          .hasMessageContaining("num_transformer_submodules=2 (an encoder-decoder model) is not supported");

      Files.writeString(config, text.replace("\"num_virtual_tokens\": 4,", ""));
      assertThatThrownBy(() -> PeftModel.load(llama(method.getKey() + "-m3"), saved)).as(method.getKey())
          .isInstanceOf(ModelFormatException.class).hasMessageContaining("num_virtual_tokens is missing");
    }
  }
}
