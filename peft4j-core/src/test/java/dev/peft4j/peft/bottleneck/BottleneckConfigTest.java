package dev.peft4j.peft.bottleneck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad configs are clear errors naming the field and leave the model unchanged; no merge; disable and unload. */
class BottleneckConfigTest {
  @TempDir Path dir;

  @Test
  void badSpecsNameTheField() {
    assertThatThrownBy(() -> BottleneckSpec.houlsby().bottleneckSize(0).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessage("bottleneck_size must be positive, got 0");
    assertThatThrownBy(() -> BottleneckSpec.houlsby().reductionFactor(-2).build())
        .hasMessage("reduction_factor must be positive, got -2");
    assertThatThrownBy(() -> BottleneckSpec.NonLinearity.parse("sigmoid"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("non_linearity must be one of relu, gelu, swish, tanh; got 'sigmoid'");
    assertThatThrownBy(() -> BottleneckSpec.Placement.parse("none"))
        .hasMessage("placement must be one of attention, ffn, both; got 'none'");
    assertThatThrownBy(() -> BottleneckSpec.builder().insertion(BottleneckSpec.Insertion.SEQUENTIAL).reductionFactor(4).build())
        .hasMessage("placement must be set: attention, ffn or both");
    assertThatThrownBy(() -> BottleneckSpec.multiHeadParallel().placement(BottleneckSpec.Placement.FFN).build())
        .hasMessage("multi_head adapters sit on the attention heads; placement must be attention, got ffn");
    assertThatThrownBy(() -> BottleneckSpec.multiHeadParallel().insertion(BottleneckSpec.Insertion.SEQUENTIAL).build())
        .hasMessage("multi_head adapters are parallel; insertion must be parallel, got sequential");
    assertThatThrownBy(() -> BottleneckSpec.houlsby().layerReductionFactors(Map.of(0, 0)).build())
        .hasMessage("layer_reduction_factors[0] must be positive, got 0");
    assertThatThrownBy(() -> BottleneckSpec.houlsby().scaling(Double.NaN).build()).hasMessage("scaling must be finite, got NaN");
    assertThatThrownBy(() -> BottleneckConfig.builder().build())
        .hasMessage("a bottleneck config needs at least one adapter in its stack");
  }

  @Test
  void sizesThatDoNotFitTheModelAreErrorsAndTheModelIsUnchanged() throws Exception {
    PretrainedModel model = Fixtures.load(TinyCheckpoint.llama(), dir);
    long params = model.parameterCount();
    Map<String, Parameter> before = model.namedParameters();
    assertThatThrownBy(() -> Peft.wrap(model, BottleneckConfig.houlsby(5)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("reduction_factor 5 does not divide the hidden size 32 (layer 'model.layers.0')");
    assertThatThrownBy(() -> Peft.wrap(model, BottleneckConfig.pfeiffer(64)))
        .hasMessage("reduction_factor 64 is larger than the hidden size 32 (layer 'model.layers.0')");
    assertThatThrownBy(() -> Peft.wrap(model, BottleneckConfig.of(BottleneckSpec.houlsby().layerReductionFactors(Map.of(1, 3)).build())))
        .hasMessage("layer_reduction_factors[1] 3 does not divide the hidden size 32 (layer 'model.layers.1')");
    assertThatThrownBy(() -> Peft.wrap(model, BottleneckConfig.of(BottleneckSpec.houlsby().layerReductionFactors(Map.of(7, 4)).build())))
        .hasMessage("layer_reduction_factors names layer 7, but LlamaForCausalLM has layers [0, 1]");
    assertThatThrownBy(() -> Peft.wrap(model, BottleneckConfig.of(BottleneckSpec.pfeiffer().layersToTransform(2, 3).build())))
        .hasMessage("layers_to_transform=[2, 3] matched no layer of LlamaForCausalLM (it has layers [0, 1])");
    // in a stack, the message says which entry is wrong; the first entry was fine and is not attached either
    assertThatThrownBy(() -> Peft.wrap(model, BottleneckConfig.of(BottleneckSpec.pfeiffer().build(),
        BottleneckSpec.parallel().reductionFactor(3).build())))
        .hasMessage("stack[1]: reduction_factor 3 does not divide the hidden size 32 (layer 'model.layers.0')");
    assertThat(model.parameterCount()).isEqualTo(params);
    assertThat(model.namedParameters().keySet()).containsExactlyElementsOf(before.keySet());
    assertThat(model.namedParameters().values()).allMatch(Parameter::trainable);
  }

  @Test
  void aModelWithoutSublayerSitesIsAnError() throws Exception {
    PretrainedModel model = Fixtures.load(TinyCheckpoint.llama(), dir);
    PretrainedModel noLayers = new PretrainedModel() {
      @Override public String architecture() { return "Empty"; }
      @Override public String modelType() { return "empty"; }
      @Override public java.util.Optional<String> parameterPath(String name) { return java.util.Optional.empty(); }
    };
    assertThatThrownBy(() -> Peft.wrap(noLayers, BottleneckConfig.houlsby(16)))
        .hasMessage("Empty exposes no sublayer sites, so bottleneck adapters have nowhere to go");
    Peft.wrap(model, BottleneckConfig.houlsby(16));
    assertThatThrownBy(() -> Peft.wrap(model, BottleneckConfig.pfeiffer(16)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("'model.layers.0.ffn_adapter' already exists: LlamaForCausalLM already carries bottleneck adapters");
  }

  @Test
  void bottleneckAdaptersCannotBeMerged() throws Exception {
    PeftModel peft = Peft.wrap(Fixtures.load(TinyCheckpoint.gpt2(), dir), BottleneckConfig.houlsby(16));
    assertThat(peft.adapter().mergeable()).isFalse();
    assertThatThrownBy(peft::merge).isInstanceOf(UnsupportedOperationException.class)
        .hasMessageContaining("bottleneck adapters cannot be merged").hasMessageContaining("non-linearity");
    assertThatThrownBy(() -> peft.adapter().merge()).isInstanceOf(UnsupportedOperationException.class)
        .hasMessageContaining("non-linearity between W_down and W_up");
    assertThatThrownBy(peft::mergeAndUnload).isInstanceOf(UnsupportedOperationException.class);
    assertThat(peft.adapter().merged()).isFalse();
  }

  @Test
  void disablingGivesTheBaseAndUnloadLeavesThePlainModel() throws Exception {
    PretrainedModel model = Fixtures.load(TinyCheckpoint.bert(), dir);
    float[] base = Fixtures.output(model);
    java.util.Set<String> names = model.namedParameters().keySet();
    PeftModel peft = Peft.wrap(model, BottleneckConfig.builder().adapter(BottleneckSpec.houlsby()).trainLayerNorms(true).build());
    Fixtures.randomize(peft, 0.3, 1);
    try (dev.peft4j.tensor.Engine.GradGuard g = dev.peft4j.tensor.Engine.noGrad()) {
      peft.trainableParameters().get("encoder.layer.1.output.LayerNorm.weight").value().mul_(1.5); // a "trained" norm
    }
    float[] adapted = Fixtures.output(model);
    assertThat(Fixtures.maxAbsDiff(adapted, base)).isGreaterThan(1e-2);
    try (PeftModel.AdaptersDisabled off = peft.disableAdapters()) {
      assertThat(Fixtures.output(model)).as("disabled: adapters skipped, trained norms restored").containsExactly(base);
    }
    assertThat(Fixtures.output(model)).containsExactly(adapted);
    peft.adapter().unload();
    assertThat(model.namedParameters().keySet()).containsExactlyElementsOf(names);
    assertThat(model.namedModules().keySet()).noneMatch(n -> n.contains("_adapter"));
  }
}
