package dev.peft4j.peft;

import static dev.peft4j.peft.PeftTesting.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.model.AutoModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.ModelWriter;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.model.bert.BertModel;
import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.lora.LoraConfig;
import dev.peft4j.peft.lora.LoraDelta;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.FrozenWeights;
import dev.peft4j.testing.TinyCheckpoint;
import dev.peft4j.testing.reference.ReferenceModel;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LoRA's contracts: identity at init, exact math, merge/unmerge, save/load, frozen base. */
class LoraTest {
  private static final long[] IDS = {3, 14, 15, 9, 26, 5, 35};

  @TempDir Path dir;

  private static float[] logits(CausalLm model) {
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      return model.forward(Tensor.ofLongs(IDS, 1, IDS.length), null, null).toFloatArray();
    }
  }

  private static float[] hidden(BertModel model) {
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      return model.encode(Tensor.ofLongs(IDS, 1, IDS.length), null, null).lastHiddenState().toFloatArray();
    }
  }

  private PretrainedModel load(TinyCheckpoint checkpoint, String sub) throws Exception {
    return AutoModel.load(checkpoint.writeTo(dir.resolve(sub)), LoadOptions.defaults());
  }

  @Test
  void zeroInitLoraGivesExactlyTheBaseOutputOnAllThreeArchitectures() throws Exception {
    for (TinyCheckpoint c : new TinyCheckpoint[] {TinyCheckpoint.llama(), TinyCheckpoint.gpt2()}) {
      PretrainedModel model = load(c, c.configMap().get("model_type").toString());
      float[] base = logits((CausalLm) model);
      PeftModel peft = Peft.wrap(model, LoraConfig.builder().r(4).loraAlpha(8).build());
      assertThat(logits(peft.causalLm())).as(model.architecture()).containsExactly(base);
    }
    BertModel bert = (BertModel) load(TinyCheckpoint.bert(), "bert");
    float[] base = hidden(bert);
    Peft.wrap(bert, LoraConfig.builder().build());
    assertThat(hidden(bert)).containsExactly(base);
  }

  @Test
  void loraLogitsEqualTheReferenceModelWithWeightsPlusScaledBA() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama();
    PretrainedModel model = load(checkpoint, "m");
    PeftModel peft = Peft.wrap(model, LoraConfig.builder().r(4).loraAlpha(16).init(LoraConfig.LoraInit.RANDOM)
        .targetModules("q_proj", "v_proj", "down_proj").build());
    // independent check: W' = W + (alpha/r) B A, computed in double here, run through the reference
    Map<String, float[]> weights = new HashMap<>(checkpoint.weights());
    LoraDeltas.forEach(peft, (module, delta) -> {
      String key = module + ".weight";
      float[] w = weights.get(key).clone();
      float[] a = delta.loraA().value().toFloatArray();
      float[] b = delta.loraB().value().toFloatArray();
      int r = (int) delta.loraA().shape()[0];
      int in = (int) delta.loraA().shape()[1];
      int out = (int) delta.loraB().shape()[0];
      for (int o = 0; o < out; o++) {
        for (int i = 0; i < in; i++) {
          double s = 0;
          for (int k = 0; k < r; k++) {
            s += (double) b[o * r + k] * a[k * in + i];
          }
          w[o * in + i] += (float) (delta.scaling() * s);
        }
      }
      weights.put(key, w);
    });
    assertThat(LoraDeltas.first(peft).scaling()).isEqualTo(16.0 / 4);
    float[][] expected = ReferenceModel.of(checkpoint.configMap(), weights).logits(toInts(IDS));
    float[] recorded; // while autograd records, LoRA scales on the rank side (LoraDelta.applyTo)
    try (Scope scope = Scope.open()) {
      recorded = peft.causalLm().forward(Tensor.ofLongs(IDS, 1, IDS.length), null, null).detach().toFloatArray();
    }
    int vocab = expected[0].length;
    for (float[] actual : List.of(logits(peft.causalLm()), recorded)) {
      for (int t = 0; t < IDS.length; t++) {
        float[] row = java.util.Arrays.copyOfRange(actual, t * vocab, (t + 1) * vocab);
        double scale = 0;
        for (float e : expected[t]) {
          scale = Math.max(scale, Math.abs(e));
        }
        assertThat(maxAbsDiff(row, expected[t])).as("position " + t).isLessThanOrEqualTo(1e-4 * scale);
      }
    }
  }

  @Test
  void mergeMatchesUnmergedAndUnmergeRestoresTheBase() throws Exception {
    for (TinyCheckpoint c : new TinyCheckpoint[] {TinyCheckpoint.llama(), TinyCheckpoint.gpt2()}) {
      PretrainedModel model = load(c, c.configMap().get("model_type").toString());
      float[] base = logits((CausalLm) model);
      PeftModel peft = Peft.wrap(model, LoraConfig.builder().init(LoraConfig.LoraInit.RANDOM).build());
      float[] unmerged = logits(peft.causalLm());
      assertThat(maxAbsDiff(unmerged, base)).as("a random LoRA changes the output").isGreaterThan(1e-3);
      peft.merge();
      peft.merge(); // a second merge is a no-op
      assertThat(maxAbsDiff(logits(peft.causalLm()), unmerged)).as(model.architecture() + " merged").isLessThanOrEqualTo(1e-5);
      peft.unmerge();
      assertThat(maxAbsDiff(logits(peft.causalLm()), unmerged)).isLessThanOrEqualTo(1e-6);
      try (PeftModel.AdaptersDisabled off = peft.disableAdapters()) {
        assertThat(maxAbsDiff(logits(peft.causalLm()), base)).as("unmerge restores the base").isLessThanOrEqualTo(1e-6);
      }
    }
  }

  @Test
  void mergeAndUnloadGivesAPlainModelThatSavesAndReloads() throws Exception {
    PretrainedModel model = load(TinyCheckpoint.gpt2(), "m");
    PeftModel peft = Peft.wrap(model, LoraConfig.builder().init(LoraConfig.LoraInit.RANDOM).build());
    float[] adapted = logits(peft.causalLm());
    PretrainedModel plain = peft.mergeAndUnload();
    assertThat(plain.namedParameters().keySet()).noneMatch(n -> n.contains("lora"));
    assertThat(maxAbsDiff(logits((CausalLm) plain), adapted)).isLessThanOrEqualTo(1e-5);
    ModelWriter.save(plain, dir.resolve("merged"));
    CausalLm reloaded = AutoModel.loadCausalLm(dir.resolve("merged"), LoadOptions.defaults().withStrict(true));
    assertThat(logits(reloaded)).containsExactly(logits((CausalLm) plain));
  }

  @Test
  void saveThenLoadReproducesLogitsExactly() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama();
    PeftModel peft = Peft.wrap(load(checkpoint, "a"),
        LoraConfig.builder().r(2).init(LoraConfig.LoraInit.RANDOM).bias(LoraConfig.LoraBias.LORA_ONLY)
            .targetModules("q_proj", "o_proj").build());
    float[] adapted = logits(peft.causalLm());
    peft.save(dir.resolve("adapter"));
    PeftModel loaded = PeftModel.load(load(checkpoint, "b"), dir.resolve("adapter"));
    assertThat(logits(loaded.causalLm())).containsExactly(adapted);
  }

  @Test
  void onlyLoraParametersGetGradientsAndFrozenWeightsStayBitIdentical() throws Exception {
    PretrainedModel model = load(TinyCheckpoint.llama(), "m");
    FrozenWeights frozen = FrozenWeights.of(model);
    PeftModel peft = Peft.wrap(model, LoraConfig.builder().build());
    Map<String, Parameter> trainable = peft.trainableParameters();
    assertThat(trainable).hasSize(2 * 2 * 2); // 2 layers x (q, v) x (A, B)
    for (int step = 0; step < 3; step++) {
      try (Scope scope = Scope.open()) {
        Tensor loss = peft.causalLm().forward(Tensor.ofLongs(IDS, 1, IDS.length), null, null).pow(2).mean();
        loss.backward();
        model.namedParameters().forEach((name, p) -> {
          if (trainable.containsValue(p)) {
            assertThat(p.value().grad()).as(name).isNotNull();
          } else {
            assertThat(p.value().grad()).as("frozen " + name + " has no gradient").isNull();
          }
        });
        try (Engine.GradGuard g = Engine.noGrad()) {
          trainable.values().forEach(p -> {
            p.value().add_(p.value().grad(), -0.1);
            p.value().clearGrad();
          });
        }
      }
    }
    frozen.assertUnchanged(model);
    assertThat(LoraDeltas.first(peft).loraB().value().abs().sum().item()).as("B trained away from 0").isGreaterThan(0);
  }

  @Test
  void trainableParameterLineCountsLikePeft() throws Exception {
    PeftModel peft = Peft.wrap(load(TinyCheckpoint.llama(), "m"), LoraConfig.builder().r(4).build());
    // per layer: q_proj A [4,32] + B [32,4]; v_proj A [4,32] + B [16,4] (2 kv heads x head_dim 8)
    long perLayer = (4 * 32 + 32 * 4) + (4 * 32 + 16 * 4);
    assertThat(peft.trainableParameterCount()).isEqualTo(2 * perLayer);
    assertThat(peft.trainableParametersSummary()).startsWith("trainable params: " + String.format("%,d", 2 * perLayer) + " || all params: ");
  }

  @Test
  void configSelectionRules() throws Exception {
    PretrainedModel model = load(TinyCheckpoint.llama(), "m");
    PeftModel peft = Peft.wrap(model, LoraConfig.builder().allLinear().layersToTransform(1)
        .excludeModules(ModuleSelector.names("k_proj")).rankPattern(Map.of("down_proj", 2))
        .alphaPattern(Map.of("up_proj", 32.0)).useRslora(true).r(4).loraAlpha(8).build());
    assertThat(peft.adapter().targetedModules()).containsExactly(
        "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj", "model.layers.1.self_attn.o_proj",
        "model.layers.1.mlp.gate_proj", "model.layers.1.mlp.up_proj", "model.layers.1.mlp.down_proj");
    Map<String, LoraDelta> deltas = LoraDeltas.of(peft);
    assertThat(deltas.get("model.layers.1.mlp.down_proj").loraA().shape()).containsExactly(2, 48);
    assertThat(deltas.get("model.layers.1.mlp.up_proj").scaling()).isEqualTo(32.0 / Math.sqrt(4));
    assertThat(deltas.get("model.layers.1.self_attn.q_proj").scaling()).isEqualTo(8.0 / 2);

    PeftModel regex = Peft.wrap(load(TinyCheckpoint.llama(), "n"),
        LoraConfig.builder().targetModulesRegex(".*layers\\.0\\.self_attn\\.(q|k)_proj").build());
    assertThat(regex.adapter().targetedModules()).containsExactly(
        "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj");
  }

  @Test
  void badConfigsAreClearErrorsAndLeaveTheModelUnchanged() throws Exception {
    PretrainedModel model = load(TinyCheckpoint.llama(), "m");
    long params = model.parameterCount();
    assertThatThrownBy(() -> Peft.wrap(model, LoraConfig.builder().targetModules("query").build()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("target_modules=[query] matched no module of LlamaForCausalLM")
        .hasMessageContaining("q_proj").hasMessageContaining("down_proj");
    assertThatThrownBy(() -> Peft.wrap(model, LoraConfig.builder().targetModules("q_proj")
        .excludeModules(ModuleSelector.names("q_proj")).build()))
        .hasMessageContaining("is excluded by exclude_modules");
    assertThatThrownBy(() -> Peft.wrap(model, LoraConfig.builder().targetModules("input_layernorm").build()))
        .hasMessageContaining("'model.layers.0.input_layernorm' (RmsNorm) cannot take LoRA");
    assertThatThrownBy(() -> LoraConfig.builder().r(0).build()).hasMessageContaining("r must be positive, got 0");
    assertThatThrownBy(() -> LoraConfig.builder().loraDropout(1.5).build()).hasMessageContaining("lora_dropout");
    assertThat(model.parameterCount()).as("nothing attached by a failed wrap").isEqualTo(params);
    assertThat(model.namedParameters().values()).allMatch(Parameter::trainable);
  }

  @Test
  void disabledAdaptersRestoreModulesToSave() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.bert().withClassifier(3);
    PretrainedModel model = load(checkpoint, "m");
    PeftModel peft = Peft.wrap(model, LoraConfig.builder().taskType(TaskType.SEQ_CLS).modulesToSave("classifier").build());
    assertThat(peft.trainableParameters()).containsKeys("classifier.weight", "classifier.bias");
    Parameter head = peft.trainableParameters().get("classifier.weight");
    float[] original = head.value().toFloatArray();
    try (Engine.GradGuard g = Engine.noGrad()) {
      head.value().add_(Tensor.ones(head.value().dtype(), head.shape()), 1.0);
    }
    try (PeftModel.AdaptersDisabled off = peft.disableAdapters()) {
      assertThat(head.value().toFloatArray()).containsExactly(original);
    }
    assertThat(head.value().toFloatArray()[0]).isEqualTo(original[0] + 1f);
    peft.save(dir.resolve("a"));
    assertThat(AdapterFormat.read(dir.resolve("a")).tensors()).containsKeys(
        "base_model.model.classifier.weight", "base_model.model.classifier.bias",
        "base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight");
  }

  @Test
  void modulesToSaveEntriesThatNameNoModuleArePassedOverAsInPeft() throws Exception {
    PretrainedModel classifier = load(TinyCheckpoint.bert().withClassifier(3), "cls");
    // PEFT writes ["classifier", "score"] into every SEQ_CLS adapter; this model has no "score"
    PeftModel peft = Peft.wrap(classifier, LoraConfig.builder().taskType(TaskType.SEQ_CLS)
        .modulesToSave("classifier", "score", "pooler").build());
    assertThat(peft.trainableParameters().keySet().stream().filter(k -> !k.contains("lora_")))
        .containsExactlyInAnyOrder("classifier.weight", "classifier.bias",
            "bert.pooler.dense.weight", "bert.pooler.dense.bias");
    peft.save(dir.resolve("a"));

    PretrainedModel other = load(TinyCheckpoint.bert().withClassifier(3), "other");
    long params = other.parameterCount();
    assertThatThrownBy(() -> Peft.wrap(other, LoraConfig.builder().modulesToSave("score", "head").build()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("modules_to_save [score, head] match no module of BertModel+SequenceClassifier(pooler)");
    assertThat(other.parameterCount()).as("nothing attached by a failed wrap").isEqualTo(params);

    // into the bare encoder (no head, no "bert." prefix) it is refused, naming the tensors left over
    PretrainedModel encoder = load(TinyCheckpoint.bert(), "encoder");
    assertThatThrownBy(() -> PeftModel.load(encoder, dir.resolve("a")))
        .hasMessageContaining("does not fit").hasMessageContaining("base_model.model.classifier.weight");
  }

  private static int[] toInts(long[] ids) {
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = (int) ids[i];
    }
    return out;
  }
}
