package dev.peft4j.peft.ia3;

import static dev.peft4j.peft.PeftTesting.assertMixedRowsEqualAlone;
import static dev.peft4j.peft.PeftTesting.logits;
import static dev.peft4j.peft.PeftTesting.maxAbs;
import static dev.peft4j.peft.PeftTesting.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Parameter;
import dev.peft4j.nn.Projection;
import dev.peft4j.peft.ModuleSelector;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.peft.lora.LoraConfig;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * (IA)³. The references here are a second copy of the base model whose weights the test rescales
 * itself (rows or columns by the layout of each layer), and the closed-form gradients of the
 * vectors; PEFT's own outputs and files are checked in {@code PythonPeftInteropTest} (llama-ia3,
 * gpt2-ia3, bert-ia3).
 */
class Ia3Test {
  private static final long[] IDS = {3, 14, 7, 9, 26, 5, 9, 3};

  @TempDir Path dir;

  private PretrainedModel load(TinyCheckpoint checkpoint, String sub) throws Exception {
    return AutoModel.load(checkpoint.writeTo(dir.resolve(sub)), LoadOptions.defaults());
  }

  private static void randomize(PeftModel peft) {
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      peft.adapter().trainableParameters().values().forEach(p -> p.value().uniform_(0.25, 1.75));
    }
  }

  @Test
  void llamaRescalesKeyAndValueOutputsAndTheDownProjectionsInputAsAModelWithRescaledWeights() throws Exception {
    assertMatchesRescaledWeights(TinyCheckpoint.llama(), false, Map.of(
        "model.layers.0.self_attn.k_proj", false, "model.layers.1.self_attn.v_proj", false,
        "model.layers.0.mlp.down_proj", true));
  }

  @Test
  void gpt2RescalesTheFusedQkvOutputWithItsBiasAndTheMlpProjectionsInput() throws Exception {
    assertMatchesRescaledWeights(TinyCheckpoint.gpt2(), true, Map.of(
        "transformer.h.0.attn.c_attn", false, "transformer.h.1.attn.c_attn", false,
        "transformer.h.1.mlp.c_proj", true));
  }

  /**
   * The default (IA)³ of the architecture against a copy of the base model with, for every target,
   * the weight's output rows and the bias (or for a feed-forward target the input columns)
   * multiplied by the vector — the layouts spelled out here ({@code storedInOut}: GPT-2's [in, out]).
   */
  private void assertMatchesRescaledWeights(TinyCheckpoint checkpoint, boolean storedInOut,
      Map<String, Boolean> someTargets) throws Exception {
    PeftModel peft = Peft.wrap(load(checkpoint, "a"), Ia3Config.builder().initIa3Weights(false).build());
    Ia3Adapter adapter = (Ia3Adapter) peft.adapter();
    someTargets.forEach((module, feedforward) -> assertThat(adapter.rescalesInput(module)).as(module).isEqualTo(feedforward));
    PretrainedModel reference = load(checkpoint, "b");
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      for (String module : adapter.targetedModules()) {
        Tensor l = adapter.trainableParameters().get(module + ".default.ia3_l").value().reshape(-1);
        boolean feedforward = adapter.rescalesInput(module);
        Parameter weight = reference.namedParameters().get(module + ".weight");
        boolean alongRows = feedforward == storedInOut; // outputs are rows of [out, in], inputs rows of [in, out]
        weight.value().mul_(alongRows ? l.unsqueeze(1) : l);
        Parameter bias = reference.namedParameters().get(module + ".bias");
        if (bias != null && !feedforward) {
          assertThat(maxAbs(bias.value().toFloatArray())).as("a bias that counts").isGreaterThan(0);
          bias.value().mul_(l);
        }
      }
    }
    float[] expected = logits((CausalLm) reference, IDS);
    float[] actual = logits(peft.causalLm(), IDS);
    assertThat(maxAbsDiff(actual, expected)).isLessThanOrEqualTo(1e-5 * Math.max(1, maxAbs(expected)));
    try (PeftModel.AdaptersDisabled off = peft.disableAdapters()) {
      assertThat(maxAbsDiff(logits(peft.causalLm(), IDS), expected)).as("the vectors change the logits").isGreaterThan(1e-3);
    }
  }

  @Test
  void vectorsStartAtOneAndTheirGradientsAreTheClosedForms() throws Exception {
    PretrainedModel model = load(TinyCheckpoint.llama(), "m");
    float[] base = logits((CausalLm) model, IDS);
    PeftModel peft = Peft.wrap(model, Ia3Config.builder().build());
    assertThat(logits(peft.causalLm(), IDS)).as("vectors of ones leave the model as it was").containsExactly(base);
    randomize(peft);
    Map<String, Parameter> params = peft.adapter().trainableParameters();
    try (Scope scope = Scope.open()) {
      // output vector: y = l ⊙ (x Wᵀ), so ∂(Σ u ⊙ y)/∂l = Σ_positions u ⊙ x Wᵀ
      Projection k = (Projection) model.namedModules().get("model.layers.0.self_attn.k_proj");
      Tensor x = Tensor.randn(DType.F32, 2, 3, k.inFeatures());
      Tensor u = Tensor.randn(DType.F32, 2, 3, k.outFeatures());
      k.forward(x).mul(u).sum().backward();
      Tensor base0 = x.matmul(k.weight().value().transpose(0, 1));
      assertThat(maxAbsDiff(params.get("model.layers.0.self_attn.k_proj.default.ia3_l").value().grad().toFloatArray(),
          base0.mul(u).sum(0, false).sum(0, false).toFloatArray())).isLessThanOrEqualTo(1e-4);
      // input vector: y = (l ⊙ x) Wᵀ, so ∂(Σ u ⊙ y)/∂l = Σ_positions x ⊙ u W
      Projection down = (Projection) model.namedModules().get("model.layers.1.mlp.down_proj");
      Tensor h = Tensor.randn(DType.F32, 2, 3, down.inFeatures());
      Tensor v = Tensor.randn(DType.F32, 2, 3, down.outFeatures());
      down.forward(h).mul(v).sum().backward();
      assertThat(maxAbsDiff(params.get("model.layers.1.mlp.down_proj.default.ia3_l").value().grad().toFloatArray(),
          h.mul(v.matmul(down.weight().value())).sum(0, false).sum(0, false).toFloatArray())).isLessThanOrEqualTo(1e-4);
      assertThat(down.weight().value().grad()).as("the weight stays frozen").isNull();
    }
  }

  @Test
  void mergingGivesTheSameLogitsAndUnmergingRestoresTheWeightsEvenWithAZeroEntry() throws Exception {
    PretrainedModel model = load(TinyCheckpoint.gpt2(), "m");
    Map<String, float[]> before = Map.of(
        "transformer.h.0.attn.c_attn.weight", model.namedParameters().get("transformer.h.0.attn.c_attn.weight").value().toFloatArray(),
        "transformer.h.0.attn.c_attn.bias", model.namedParameters().get("transformer.h.0.attn.c_attn.bias").value().toFloatArray(),
        "transformer.h.0.mlp.c_proj.weight", model.namedParameters().get("transformer.h.0.mlp.c_proj.weight").value().toFloatArray());
    PeftModel peft = Peft.wrap(model, Ia3Config.builder().build());
    randomize(peft);
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) { // division could not undo a zero
      peft.adapter().trainableParameters().get("transformer.h.0.attn.c_attn.default.ia3_l").value().select(0, 5).zero_();
    }
    float[] unmerged = logits(peft.causalLm(), IDS);
    peft.merge();
    assertThat(peft.adapter().merged()).isTrue();
    assertThat(maxAbsDiff(logits(peft.causalLm(), IDS), unmerged)).isLessThanOrEqualTo(1e-5 * Math.max(1, maxAbs(unmerged)));
    peft.unmerge();
    before.forEach((name, values) -> assertThat(maxAbsDiff(model.namedParameters().get(name).value().toFloatArray(), values))
        .as(name).isLessThanOrEqualTo(1e-6 * Math.max(1, maxAbs(values))));
    assertThat(maxAbsDiff(logits(peft.causalLm(), IDS), unmerged)).as("unmerged again").isLessThanOrEqualTo(1e-5);
  }

  @Test
  void aVectorThatWouldMakeAWeightNonFiniteMergesNothing() throws Exception {
    PretrainedModel model = load(TinyCheckpoint.llama(), "m");
    PeftModel peft = Peft.wrap(model, Ia3Config.builder().build());
    float[] first = model.namedParameters().get("model.layers.0.self_attn.k_proj.weight").value().toFloatArray();
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      peft.adapter().trainableParameters().get("model.layers.1.mlp.down_proj.default.ia3_l").value().select(1, 0)
          .mul_(Double.POSITIVE_INFINITY);
    }
    assertThatThrownBy(peft::merge).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("'model.layers.1.mlp.down_proj'").hasMessageContaining("nothing merged");
    assertThat(peft.adapter().merged()).isFalse();
    assertThat(model.namedParameters().get("model.layers.0.self_attn.k_proj.weight").value().toFloatArray()).containsExactly(first);
  }

  @Test
  void rowsOfAMixedBatchUseTheirOwnVectors() throws Exception {
    PeftModel peft = Peft.wrap(load(TinyCheckpoint.llama(), "m"), Ia3Config.builder().initIa3Weights(false).build());
    peft.addAdapter("other", Ia3Config.builder().targetModules("q_proj", "o_proj", "up_proj")
        .feedforwardModules("up_proj").initIa3Weights(false).build());
    peft.addAdapter("lora", LoraConfig.builder().r(2).targetModules("k_proj").init(LoraConfig.LoraInit.RANDOM).build());
    long[][] rows = {{9, 14, 2, 9}, {3, 9, 14, 1}, {9, 14, 2, 9}, {5, 6, 7, 8}};
    assertMixedRowsEqualAlone(peft, List.of("default", "other", PeftModel.BASE, "lora"), rows);
  }

  @Test
  void savedAndLoadedUnderPeftsNamesAndAFileForAnotherShapeIsRefusedByName() throws Exception {
    PeftModel peft = Peft.wrap(load(TinyCheckpoint.llama(), "m"), Ia3Config.builder()
        .feedforwardModules(new ModuleSelector.Regex(".*\\.mlp\\.down_proj")).build());
    randomize(peft);
    float[] expected = logits(peft.causalLm(), IDS);
    Path saved = dir.resolve("saved");
    peft.save(saved);
    // the keys PEFT 0.21's IA3Config().to_dict() writes (listed with Python)
    assertThat(peft.config().toJsonMap().keySet()).containsExactlyInAnyOrder("auto_mapping", "base_model_name_or_path",
        "exclude_modules", "fan_in_fan_out", "feedforward_modules", "inference_mode", "init_ia3_weights",
        "modules_to_save", "peft_type", "peft_version", "revision", "target_modules", "task_type");
    PeftModel again = PeftModel.load(load(TinyCheckpoint.llama(), "again"), saved);
    assertThat(again.config().toJsonMap()).isEqualTo(peft.config().toJsonMap());
    assertThat(logits(again.causalLm(), IDS)).containsExactly(expected);

    PretrainedModel wider = load(TinyCheckpoint.llama().config("intermediate_size", 40), "wider");
    assertThatThrownBy(() -> PeftModel.load(wider, saved)).isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("base_model.model.model.layers.0.mlp.down_proj.ia3_l");
  }

  @Test
  void configsThatCannotWorkAreClearErrors() throws Exception {
    assertThatThrownBy(() -> Ia3Config.builder().targetModules("k_proj", "v_proj").feedforwardModules("down_proj").build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("subset of target_modules");
    PretrainedModel model = load(TinyCheckpoint.llama(), "m");
    assertThatThrownBy(() -> Peft.wrap(model, Ia3Config.builder().targetModules("embed_tokens").build()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'model.embed_tokens'")
        .hasMessageContaining("cannot take (IA)³");
    assertThatThrownBy(() -> Peft.wrap(model, Ia3Config.builder().targetModules("c_attn").build()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("matched no module");
    assertThat(model.namedModules().keySet()).noneMatch(name -> name.endsWith(".default"));
  }

  /**
   * On a bf16 model the vectors stay float32 (PEFT's autocast_adapter_dtype) and the activations
   * bf16; the change the vectors make to the logits matches the float32 model's within bf16's
   * precision (5% of its largest entry, as {@code ReducedPrecisionLoraTest}).
   */
  @Test
  void onABf16ModelTheVectorsStayFloat32AndChangeTheLogitsAsOnTheFloat32Model() throws Exception {
    Path checkpoint = TinyCheckpoint.llama().writeTo(dir.resolve("model"));
    PeftModel f32 = Peft.wrap(AutoModel.load(checkpoint, LoadOptions.defaults()), Ia3Config.builder().build());
    randomize(f32);
    f32.save(dir.resolve("adapter"));
    PeftModel bf16 = PeftModel.load(AutoModel.load(checkpoint, LoadOptions.defaults().withDType(DType.BF16)),
        dir.resolve("adapter"));
    assertThat(bf16.adapter().trainableParameters().values()).allMatch(p -> p.value().dtype() == DType.F32);
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      assertThat(bf16.causalLm().forward(Tensor.ofLongs(IDS, 1, IDS.length), null, null).dtype()).isEqualTo(DType.BF16);
    }
    float[] reference = change(f32);
    assertThat(maxAbs(reference)).as("the vectors change the logits").isGreaterThan(0.05);
    assertThat(maxAbsDiff(change(bf16), reference)).isLessThanOrEqualTo(0.05 * maxAbs(reference));
  }

  /** The adapter's change to the logits of {@link #IDS}. */
  private static float[] change(PeftModel peft) {
    float[] adapted = logits(peft.causalLm(), IDS);
    float[] base;
    try (PeftModel.AdaptersDisabled off = peft.disableAdapters()) {
      base = logits(peft.causalLm(), IDS);
    }
    for (int i = 0; i < adapted.length; i++) {
      adapted[i] -= base[i];
    }
    return adapted;
  }
}
