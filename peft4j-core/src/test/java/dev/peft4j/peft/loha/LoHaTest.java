package dev.peft4j.peft.loha;

import static dev.peft4j.peft.PeftTesting.assertMergesExactlyAndUnmergesBack;
import static dev.peft4j.peft.PeftTesting.assertMixedRowsEqualAlone;
import static dev.peft4j.peft.PeftTesting.logits;
import static dev.peft4j.peft.PeftTesting.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.model.AutoModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Parameter;
import dev.peft4j.nn.Projection;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftModel;
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
 * LoHa. The reference here is FedPara's eq. 3 written out with tensor ops on copies of the factors,
 * its gradients by autograd through that expression; PEFT's own file and logits (with rank and
 * alpha patterns) are checked in {@code PythonPeftInteropTest} (llama-loha).
 */
class LoHaTest {
  private static final long[] IDS = {3, 14, 7, 9, 26, 5, 9, 3};

  @TempDir Path dir;

  private PretrainedModel load(TinyCheckpoint checkpoint, String sub) throws Exception {
    return AutoModel.load(checkpoint.writeTo(dir.resolve(sub)), LoadOptions.defaults());
  }

  private static LoHaConfig.Builder loha() {
    return LoHaConfig.builder().r(4).alpha(8).targetModules("q_proj", "v_proj", "down_proj");
  }

  @Test
  void theUpdateIsTheScaledHadamardProductOfTwoLowRankMatricesWithItsGradients() throws Exception {
    PeftModel peft = Peft.wrap(load(TinyCheckpoint.llama(), "m"), loha().initWeights(false).build());
    Map<String, Parameter> params = peft.adapter().trainableParameters();
    String module = "model.layers.1.self_attn.v_proj";
    Projection p = (Projection) peft.baseModel().namedModules().get(module);
    try (Scope scope = Scope.open()) {
      Tensor x = Tensor.randn(DType.F32, 2, 3, p.inFeatures());
      Tensor u = Tensor.randn(DType.F32, 2, 3, p.outFeatures());
      Tensor y = p.forward(x);
      y.mul(u).sum().backward();
      Tensor[] w = new Tensor[4];
      String[] names = {"hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b"};
      for (int i = 0; i < 4; i++) {
        w[i] = params.get(module + ".default." + names[i]).value().detach().copy().requiresGrad(true);
      }
      // ΔW = (α/r)·(W1a W1b) ⊙ (W2a W2b), α/r = 2 (FedPara eq. 3)
      Tensor delta = w[0].matmul(w[1]).mul(w[2].matmul(w[3])).mul(2.0);
      Tensor expected = x.matmul(p.weight().value().add(delta).transpose(0, 1));
      assertThat(maxAbsDiff(y.toFloatArray(), expected.toFloatArray())).isLessThanOrEqualTo(1e-5);
      expected.mul(u).sum().backward();
      for (int i = 0; i < 4; i++) {
        assertThat(maxAbsDiff(params.get(module + ".default." + names[i]).value().grad().toFloatArray(),
            w[i].grad().toFloatArray())).as(names[i]).isLessThanOrEqualTo(1e-4);
      }
      assertThat(p.weight().value().grad()).as("the weight stays frozen").isNull();
    }
  }

  @Test
  void startsAsTheBaseMergesAsItRunsAndUnmergesBack() throws Exception {
    PretrainedModel model = load(TinyCheckpoint.llama(), "m");
    float[] base = logits((CausalLm) model, IDS);
    PeftModel peft = Peft.wrap(model, loha().build());
    assertThat(logits(peft.causalLm(), IDS)).as("W2b starts at zero").containsExactly(base);
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      peft.adapter().trainableParameters().values().forEach(p -> p.value().normal_(0, 0.5));
    }
    assertMergesExactlyAndUnmergesBack(peft, base, "model.layers.0.mlp.down_proj.weight", IDS);
  }

  /** Rank dropout zeroes whole output rows of ΔW while training (the kept ones rescaled), never at inference. */
  @Test
  void rankDropoutActsOnlyWhileTraining() throws Exception {
    PeftModel peft = Peft.wrap(load(TinyCheckpoint.llama(), "m"),
        loha().targetModules("q_proj").rankDropout(0.5).initWeights(false).build());
    Projection q = (Projection) peft.baseModel().namedModules().get("model.layers.0.self_attn.q_proj");
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      Tensor x = Tensor.randn(DType.F32, 1, 1, q.inFeatures());
      Tensor base = x.matmul(q.weight().value().transpose(0, 1));
      float[] full = q.forward(x).sub(base).toFloatArray();
      assertThat(q.forward(x).sub(base).toFloatArray()).as("inference: no dropout").containsExactly(full);
      peft.setTraining(true);
      Engine.manualSeed(1);
      float[] dropped = q.forward(x).sub(base).toFloatArray();
      long zeroed = 0;
      double ratio = Double.NaN;
      for (int i = 0; i < full.length; i++) {
        if (Math.abs(dropped[i]) < 1e-7) {
          zeroed++;
        } else if (Double.isNaN(ratio)) {
          ratio = dropped[i] / full[i];
        } else {
          assertThat((double) dropped[i] / full[i]).as("every kept row rescaled alike").isCloseTo(ratio, org.assertj.core.data.Offset.offset(1e-3));
        }
      }
      assertThat(zeroed).as("some rows dropped, some kept").isBetween(1L, (long) full.length - 1);
      assertThat(ratio).as("kept rows rescaled by 1 / their share").isCloseTo((double) full.length / (full.length - zeroed),
          org.assertj.core.data.Offset.offset(1e-3));
    }
  }

  @Test
  void rowsOfAMixedBatchUseTheirOwnAdapter() throws Exception {
    PeftModel peft = Peft.wrap(load(TinyCheckpoint.llama(), "m"), loha().initWeights(false).build());
    peft.addAdapter("other", loha().r(2).targetModules("k_proj").initWeights(false).build());
    assertMixedRowsEqualAlone(peft, List.of("default", PeftModel.BASE, "other"),
        new long[][] {{9, 14, 2, 9}, {3, 9, 14, 1}, {5, 6, 7, 8}});
  }

  @Test
  void onlyLinearLayersTakeLoHaAndTheConfigIsPefts() throws Exception {
    PretrainedModel gpt2 = load(TinyCheckpoint.gpt2(), "g");
    assertThatThrownBy(() -> Peft.wrap(gpt2, loha().targetModules("c_attn").build()))
        .hasMessageContaining("'transformer.h.0.attn.c_attn' (Conv1D) cannot take LoHa");
    assertThat(gpt2.namedModules().keySet()).noneMatch(name -> name.endsWith(".default"));
    // the keys of PEFT 0.21's LoHaConfig().to_dict() (listed with Python)
    assertThat(loha().build().toJsonMap()).containsOnlyKeys("alpha", "alpha_pattern", "auto_mapping",
        "base_model_name_or_path", "exclude_modules", "inference_mode", "init_weights", "layers_pattern",
        "layers_to_transform", "module_dropout", "modules_to_save", "peft_type", "peft_version", "r", "rank_dropout",
        "rank_pattern", "revision", "target_modules", "task_type", "use_effective_conv2d");
  }
}
