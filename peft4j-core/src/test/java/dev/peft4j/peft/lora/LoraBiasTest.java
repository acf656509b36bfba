package dev.peft4j.peft.lora;

import static dev.peft4j.peft.PeftTesting.assertMixedRowsEqualAlone;
import static dev.peft4j.peft.PeftTesting.logits;
import static dev.peft4j.peft.PeftTesting.maxAbs;
import static dev.peft4j.peft.PeftTesting.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.model.AutoModel;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.PretrainedModel;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PEFT's {@code lora_bias}: B with a trained bias of its own, {@code y = W x + b + (α/r)·(B A x + b_B)}.
 * The reference is that formula written out with tensor ops; PEFT's own files and logits are
 * checked in {@code PythonPeftInteropTest} (gpt2-lora-b-bias, llama-lora-b-bias).
 */
class LoraBiasTest {
  private static final long[] IDS = {3, 14, 7, 9, 26, 5, 9, 3};

  @TempDir Path dir;

  private PretrainedModel load(TinyCheckpoint checkpoint) throws Exception {
    return AutoModel.load(checkpoint.writeTo(dir.resolve(String.valueOf(System.nanoTime()))), LoadOptions.defaults());
  }

  private static LoraConfig.Builder withBias() {
    return LoraConfig.builder().r(4).loraAlpha(8).loraBias(true).init(LoraConfig.LoraInit.RANDOM);
  }

  @Test
  void theBiasIsAddedScaledWithTheUpdateAndGetsTheScaledGradient() throws Exception {
    PeftModel peft = Peft.wrap(load(TinyCheckpoint.gpt2()), withBias().targetModules("c_attn").build());
    LoraDelta d = ((LoraAdapter) peft.adapter()).deltas().get("transformer.h.0.attn.c_attn");
    Projection p = d.host();
    try (Scope scope = Scope.open()) {
      Tensor x = Tensor.randn(DType.F32, 2, 3, p.inFeatures());
      Tensor u = Tensor.randn(DType.F32, 2, 3, p.outFeatures());
      Tensor y = p.forward(x);
      y.mul(u).sum().backward();
      // Conv1D: W stored [in, out]; 8/4 = 2
      Tensor expected = x.matmul(p.weight().value()).add(p.bias().value())
          .add(x.matmul(d.loraA().value().transpose(0, 1)).matmul(d.loraB().value().transpose(0, 1))
              .add(d.loraBBias().value()).mul(2.0));
      assertThat(maxAbsDiff(y.toFloatArray(), expected.toFloatArray())).isLessThanOrEqualTo(1e-5);
      assertThat(maxAbsDiff(d.loraBBias().value().grad().toFloatArray(), u.sum(0, false).sum(0, false).mul(2.0).toFloatArray()))
          .as("∂/∂b_B = (α/r)·Σ u").isLessThanOrEqualTo(1e-4);
    }
  }

  @Test
  void mergesIntoTheLayersBiasAndUnmergesBack() throws Exception {
    PretrainedModel model = load(TinyCheckpoint.gpt2());
    float[] bias = model.namedParameters().get("transformer.h.1.mlp.c_fc.bias").value().toFloatArray();
    PeftModel peft = Peft.wrap(model, withBias().targetModules("c_attn", "c_fc").build());
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) { // B's biases start at U(±1/√r): make them count
      ((LoraAdapter) peft.adapter()).deltas().values().forEach(d -> d.loraBBias().value().mul_(4));
    }
    float[] unmerged = logits(peft.causalLm(), IDS);
    peft.merge();
    assertThat(maxAbsDiff(logits(peft.causalLm(), IDS), unmerged)).isLessThanOrEqualTo(1e-5 * Math.max(1, maxAbs(unmerged)));
    LoraDelta fc = ((LoraAdapter) peft.adapter()).deltas().get("transformer.h.1.mlp.c_fc");
    float[] merged = model.namedParameters().get("transformer.h.1.mlp.c_fc.bias").value().toFloatArray();
    float[] bB = fc.loraBBias().value().toFloatArray();
    for (int i = 0; i < bias.length; i++) {
      assertThat(merged[i]).as("bias %d", i).isCloseTo(bias[i] + 2 * bB[i], org.assertj.core.data.Offset.offset(1e-6f));
    }
    peft.unmerge();
    assertThat(maxAbsDiff(model.namedParameters().get("transformer.h.1.mlp.c_fc.bias").value().toFloatArray(), bias))
        .isLessThanOrEqualTo(1e-6);
    try (PeftModel.AdaptersDisabled off = peft.disableAdapters()) {
      assertThat(maxAbsDiff(logits(peft.causalLm(), IDS), unmerged)).as("the adapter counts").isGreaterThan(1e-3);
    }
  }

  @Test
  void onLayersWithoutABiasItRunsButDoesNotMergeAndItServesMixedBatches() throws Exception {
    PretrainedModel model = load(TinyCheckpoint.llama());
    PeftModel peft = Peft.wrap(model, withBias().targetModules("q_proj", "v_proj").build());
    assertThat(peft.adapter().mergeable()).isFalse();
    assertThatThrownBy(peft::merge).isInstanceOf(UnsupportedOperationException.class)
        .hasMessageContaining("lora_bias on 'model.layers.0.self_attn.q_proj' cannot be merged: the layer has no bias");
    peft.addAdapter("plain", LoraConfig.builder().r(2).targetModules("q_proj").init(LoraConfig.LoraInit.RANDOM).build());
    assertMixedRowsEqualAlone(peft, List.of("default", "plain", PeftModel.BASE),
        new long[][] {{9, 14, 2, 9}, {3, 9, 14, 1}, {5, 6, 7, 8}});
  }

  @Test
  void whatPeftRefusesIsAClearError() throws Exception {
    assertThatThrownBy(() -> withBias().useDora(true).build()).hasMessageContaining("lora_bias is not supported with DoRA");
    assertThatThrownBy(() -> withBias().init(LoraConfig.LoraInit.GAUSSIAN).build()).hasMessageContaining("not gaussian");
    PretrainedModel model = load(TinyCheckpoint.llama());
    assertThatThrownBy(() -> Peft.wrap(model, withBias().targetModules("embed_tokens", "q_proj").build()))
        .hasMessageContaining("lora_bias is not supported on an embedding ('model.embed_tokens')");
    assertThat(model.namedModules().keySet()).noneMatch(name -> name.endsWith(".default"));
  }
}
