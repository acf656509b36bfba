package dev.peft4j.peft.vera;

import static dev.peft4j.peft.PeftTesting.assertMergesExactlyAndUnmergesBack;
import static dev.peft4j.peft.PeftTesting.assertMixedRowsEqualAlone;
import static dev.peft4j.peft.PeftTesting.logits;
import static dev.peft4j.peft.PeftTesting.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Projection;
import dev.peft4j.peft.AdapterFormat;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.peft.lora.LoraConfig;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * VeRA. The reference here is eq. 1 of the paper written out with tensor ops on copies of the
 * shared matrices and scalings, its gradients by autograd through that expression; PEFT's own files
 * and logits (also A and B drawn again from the key) are checked in {@code PythonPeftInteropTest}
 * (llama-vera, gpt2-vera, llama-vera-unsaved).
 */
class VeraTest {
  private static final long[] IDS = {3, 14, 7, 9, 26, 5, 9, 3};

  @TempDir Path dir;

  private PretrainedModel llama(String sub) throws Exception {
    return AutoModel.load(TinyCheckpoint.llama().writeTo(dir.resolve(sub)), LoadOptions.defaults());
  }

  private static VeraConfig.Builder vera() {
    return VeraConfig.builder().r(4).targetModules("q_proj", "v_proj", "down_proj");
  }

  private static void randomize(PeftModel peft) {
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      peft.adapter().trainableParameters().values().forEach(p -> p.value().normal_(0, 0.5));
    }
  }

  @Test
  void eachLayerScalesItsSliceOfTheSharedMatricesAndGradientsReachOnlyTheScalings() throws Exception {
    PeftModel peft = Peft.wrap(llama("m"), vera().build());
    randomize(peft);
    VeraAdapter adapter = (VeraAdapter) peft.adapter();
    Map<String, dev.peft4j.nn.Parameter> params = adapter.trainableParameters();
    Map<String, dev.peft4j.nn.Parameter> saved = adapter.savedTensors();
    Tensor a = saved.get("base_model.vera_A").value();
    Tensor b = saved.get("base_model.vera_B").value();
    assertThat(a.shape()).as("A at the widest input, down_proj's 48").containsExactly(4, 48);
    assertThat(b.shape()).as("B at the widest output, q_proj's and down_proj's 32").containsExactly(32, 4);
    for (String module : List.of("model.layers.0.self_attn.v_proj", "model.layers.1.mlp.down_proj")) {
      Projection p = (Projection) peft.baseModel().namedModules().get(module);
      try (Scope scope = Scope.open()) {
        Tensor x = Tensor.randn(DType.F32, 2, 3, p.inFeatures());
        Tensor u = Tensor.randn(DType.F32, 2, 3, p.outFeatures());
        Tensor y = p.forward(x);
        y.mul(u).sum().backward();
        Tensor lb = params.get(module + ".default.vera_lambda_b").value().detach().copy().requiresGrad(true);
        Tensor ld = params.get(module + ".default.vera_lambda_d").value().detach().copy().requiresGrad(true);
        Tensor as = a.narrow(1, 0, p.inFeatures());
        Tensor bs = b.narrow(0, 0, p.outFeatures());
        // h = W x + Λ_b B Λ_d A x (Kopiczko et al. 2024, eq. 1)
        Tensor expected = x.matmul(p.weight().value().transpose(0, 1))
            .add(x.matmul(as.transpose(0, 1)).mul(ld).matmul(bs.transpose(0, 1)).mul(lb));
        assertThat(maxAbsDiff(y.toFloatArray(), expected.toFloatArray())).as(module).isLessThanOrEqualTo(1e-5);
        expected.mul(u).sum().backward();
        assertThat(maxAbsDiff(params.get(module + ".default.vera_lambda_b").value().grad().toFloatArray(),
            lb.grad().toFloatArray())).as(module + " ∂/∂λ_b").isLessThanOrEqualTo(1e-4);
        assertThat(maxAbsDiff(params.get(module + ".default.vera_lambda_d").value().grad().toFloatArray(),
            ld.grad().toFloatArray())).as(module + " ∂/∂λ_d").isLessThanOrEqualTo(1e-4);
        assertThat(saved.get("base_model.vera_A").value().grad()).as("A stays frozen").isNull();
      }
    }
  }

  @Test
  void startsAsTheBaseMergesAsItRunsAndUnmergesBack() throws Exception {
    PretrainedModel model = llama("m");
    float[] base = logits((CausalLm) model, IDS);
    PeftModel peft = Peft.wrap(model, vera().build());
    assertThat(logits(peft.causalLm(), IDS)).as("λ_b starts at zero").containsExactly(base);
    assertThat(peft.adapter().trainableParameters().get("model.layers.0.self_attn.q_proj.default.vera_lambda_d")
        .value().toFloatArray()).containsOnly(0.1f);
    randomize(peft);
    assertMergesExactlyAndUnmergesBack(peft, base, "model.layers.0.self_attn.q_proj.weight", IDS);
  }

  @Test
  void withoutSavedProjectionsTheKeyDrawsThemAgain() throws Exception {
    PeftModel peft = Peft.wrap(llama("m"), vera().saveProjection(false).projectionPrngKey(11).build());
    randomize(peft);
    float[] expected = logits(peft.causalLm(), IDS);
    Path saved = dir.resolve("saved");
    peft.save(saved);
    assertThat(AdapterFormat.read(saved).tensors().keySet()).noneMatch(k -> k.contains("vera_A") || k.contains("vera_B"));
    assertThat(logits(PeftModel.load(llama("again"), saved).causalLm(), IDS)).containsExactly(expected);

    Files.writeString(saved.resolve(AdapterFormat.CONFIG_FILE),
        Files.readString(saved.resolve(AdapterFormat.CONFIG_FILE)).replace("\"projection_prng_key\": 11", "\"projection_prng_key\": 12"));
    assertThat(maxAbsDiff(logits(PeftModel.load(llama("other"), saved).causalLm(), IDS), expected))
        .as("another key, other projections").isGreaterThan(1e-4);
  }

  @Test
  void rowsOfAMixedBatchUseTheirOwnAdapter() throws Exception {
    PeftModel peft = Peft.wrap(llama("m"), vera().initWeights(false).build());
    peft.addAdapter("other", vera().r(2).targetModules("k_proj").projectionPrngKey(3).initWeights(false).build());
    peft.addAdapter("lora", LoraConfig.builder().r(2).targetModules("q_proj").init(LoraConfig.LoraInit.RANDOM).build());
    assertMixedRowsEqualAlone(peft, List.of("default", "other", PeftModel.BASE, "lora"),
        new long[][] {{9, 14, 2, 9}, {3, 9, 14, 1}, {5, 6, 7, 8}, {9, 14, 2, 9}});
  }

  @Test
  void whatCannotWorkIsAClearError() throws Exception {
    PretrainedModel model = llama("m");
    assertThatThrownBy(() -> Peft.wrap(model, vera().targetModules("embed_tokens").build()))
        .hasMessageContaining("'model.embed_tokens' (Embedding) cannot take VeRA");
    assertThatThrownBy(() -> VeraConfig.builder().r(0).build()).hasMessageContaining("r must be positive");
    PeftModel peft = Peft.wrap(model, vera().build());
    Path saved = dir.resolve("saved");
    peft.save(saved);
    Files.writeString(saved.resolve(AdapterFormat.CONFIG_FILE),
        Files.readString(saved.resolve(AdapterFormat.CONFIG_FILE)).replace("\"bias\": \"none\"", "\"bias\": \"all\""));
    assertThatThrownBy(() -> PeftModel.load(llama("again"), saved)).isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("bias=all is not supported for VeRA");
    // the keys of PEFT 0.21's VeraConfig(r=4).to_dict() (listed with Python)
    assertThat(peft.config().toJsonMap()).containsOnlyKeys("auto_mapping", "base_model_name_or_path", "bias", "d_initial",
        "fan_in_fan_out", "inference_mode", "init_weights", "layers_pattern", "layers_to_transform", "modules_to_save",
        "peft_type", "peft_version", "projection_prng_key", "r", "revision", "save_projection", "target_modules",
        "task_type", "vera_dropout");
  }
}
