package dev.peft4j.peft.bottleneck;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Trainable parameters against the closed forms. The tiny models have d = 32 (hidden), 2 layers,
 * H = 4 heads of width d_h = 8; a plain adapter of bottleneck m has 2md + d + m parameters
 * (W_down [m, d], b_down [m], W_up [d, m], b_up [d]).
 */
class BottleneckParametersTest {
  private static final int D = 32;
  private static final int LAYERS = 2;
  private static final int H = 4;
  private static final int DH = 8;

  @TempDir Path dir;

  private static long adapter(int m) {
    return 2L * m * D + D + m;
  }

  private PeftModel wrap(TinyCheckpoint checkpoint, BottleneckConfig config) throws Exception {
    return Peft.wrap(Fixtures.load(checkpoint, dir.resolve("m" + System.nanoTime())), config);
  }

  @Test
  void houlsbyHasTwoAdaptersPerLayerOf2mdPlusDPlusM() throws Exception {
    for (TinyCheckpoint c : new TinyCheckpoint[] {TinyCheckpoint.llama(), TinyCheckpoint.gpt2(), TinyCheckpoint.bert()}) {
      PeftModel peft = wrap(c, BottleneckConfig.houlsby(16)); // m = 32 / 16 = 2
      assertThat(peft.trainableParameterCount()).as(peft.baseModel().architecture()).isEqualTo(LAYERS * 2 * adapter(2));
      assertThat(adapter(2)).isEqualTo(162);
    }
  }

  @Test
  void parallelAndPfeifferHaveOneAdapterPerLayer() throws Exception {
    assertThat(wrap(TinyCheckpoint.llama(), BottleneckConfig.parallel(8)).trainableParameterCount())
        .isEqualTo(LAYERS * adapter(8));
    assertThat(wrap(TinyCheckpoint.gpt2(), BottleneckConfig.pfeiffer(4)).trainableParameterCount())
        .isEqualTo(LAYERS * adapter(8));
    // a learned s adds one scalar per adapter
    assertThat(wrap(TinyCheckpoint.bert(), BottleneckConfig.of(BottleneckSpec.scaledParallel(4).learnedScaling(true)
        .bottleneckSize(8).build())).trainableParameterCount()).isEqualTo(LAYERS * (adapter(8) + 1));
  }

  @Test
  void multiHeadParallelHasHDownAndUpProjectionsPerLayer() throws Exception {
    // per head: W_down [m, d] + b_down [m], W_up [d_h, m] + b_up [d_h]: H(md + m + d_h m + d_h)
    int m = 3;
    long perLayer = (long) H * (m * D + m + DH * m + DH);
    for (TinyCheckpoint c : new TinyCheckpoint[] {TinyCheckpoint.llama(), TinyCheckpoint.gpt2(), TinyCheckpoint.bert()}) {
      PeftModel peft = wrap(c, BottleneckConfig.multiHeadParallel(m));
      assertThat(peft.trainableParameterCount()).as(peft.baseModel().architecture()).isEqualTo(LAYERS * perLayer);
      Map<String, Parameter> p = peft.adapter().trainableParameters();
      String layer0 = peft.adapter().targetedModules().get(0);
      assertThat(p.get(layer0 + ".down.weight").shape()).containsExactly(H * m, D);
      assertThat(p.get(layer0 + ".up.weight").shape()).containsExactly(H, DH, m);
      assertThat(p.get(layer0 + ".up.bias").shape()).containsExactly(H, DH);
    }
  }

  @Test
  void perLayerReductionFactorsAndLayerSelection() throws Exception {
    PeftModel peft = wrap(TinyCheckpoint.llama(), BottleneckConfig.of(BottleneckSpec.houlsby().reductionFactor(16)
        .layerReductionFactors(Map.of(1, 4)).build()));
    Map<String, Parameter> p = peft.adapter().trainableParameters();
    assertThat(p.get("model.layers.0.attention_adapter.down.weight").shape()).containsExactly(2, D);
    assertThat(p.get("model.layers.1.ffn_adapter.down.weight").shape()).containsExactly(8, D);
    assertThat(peft.trainableParameterCount()).isEqualTo(2 * adapter(2) + 2 * adapter(8));

    PeftModel selected = wrap(TinyCheckpoint.gpt2(), BottleneckConfig.of(BottleneckSpec.pfeiffer().bottleneckSize(5)
        .layersToTransform(1).build()));
    assertThat(selected.adapter().targetedModules()).containsExactly("transformer.h.1.ffn_adapter");
    assertThat(selected.trainableParameterCount()).isEqualTo(adapter(5));
  }

  @Test
  void trainLayerNormsAddsTheNormsOfTheAdaptedLayers() throws Exception {
    BottleneckConfig config = BottleneckConfig.builder().adapter(BottleneckSpec.houlsby().layersToTransform(0))
        .trainLayerNorms(true).build();
    PeftModel llama = wrap(TinyCheckpoint.llama(), config);
    assertThat(llama.trainableParameters()).containsKeys("model.layers.0.input_layernorm.weight",
        "model.layers.0.post_attention_layernorm.weight").doesNotContainKeys("model.layers.1.input_layernorm.weight",
        "model.norm.weight");
    assertThat(llama.trainableParameterCount()).isEqualTo(2 * adapter(2) + 2 * D);
    PeftModel bert = wrap(TinyCheckpoint.bert(), config);
    assertThat(bert.trainableParameters()).containsKeys("encoder.layer.0.attention.output.LayerNorm.weight",
        "encoder.layer.0.attention.output.LayerNorm.bias", "encoder.layer.0.output.LayerNorm.bias")
        .doesNotContainKeys("embeddings.LayerNorm.weight");
    assertThat(bert.trainableParameterCount()).isEqualTo(2 * adapter(2) + 2 * 2 * D);
  }

  @Test
  void theSummaryLineCountsAdaptersAndTheModelTogether() throws Exception {
    PretrainedModel model = Fixtures.load(TinyCheckpoint.llama(), dir);
    long base = model.parameterCount();
    PeftModel peft = Peft.wrap(model, BottleneckConfig.houlsby(16));
    assertThat(peft.allParameterCount()).isEqualTo(base + peft.trainableParameterCount());
    assertThat(peft.trainableParametersSummary()).startsWith("trainable params: 648 || all params: ");
  }
}
