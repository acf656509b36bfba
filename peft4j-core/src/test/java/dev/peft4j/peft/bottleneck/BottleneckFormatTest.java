package dev.peft4j.peft.bottleneck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.SafeTensorsFile;
import dev.peft4j.io.SafeTensorsWriter;
import dev.peft4j.io.TensorData;
import dev.peft4j.io.TensorInfo;
import dev.peft4j.peft.AdapterFormat;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.peft.TaskType;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The BOTTLENECK adapter files (docs/FORMATS.md): exact content, exact round trip, clear errors. */
class BottleneckFormatTest {
  @TempDir Path dir;

  private static BottleneckConfig stacked() {
    return BottleneckConfig.builder()
        .adapter(BottleneckSpec.houlsby().layerReductionFactors(Map.of(1, 8)).learnedScaling(true))
        .adapter(BottleneckSpec.multiHeadParallel().bottleneckSize(2).layersToTransform(0))
        .trainLayerNorms(true).taskType(TaskType.CAUSAL_LM).build();
  }

  @Test
  void saveWritesTheDocumentedConfigAndTensorNames() throws Exception {
    PeftModel peft = Peft.wrap(Fixtures.load(TinyCheckpoint.llama(), dir.resolve("m")), stacked());
    peft.save(dir.resolve("a"));
    String base = dir.resolve("m").toString();
    assertThat(Files.readString(dir.resolve("a/adapter_config.json"))).isEqualTo("{\n"
        + "  \"auto_mapping\": null,\n"
        + "  \"base_model_name_or_path\": \"" + base + "\",\n"
        + "  \"inference_mode\": false,\n"
        + "  \"modules_to_save\": null,\n"
        + "  \"peft_type\": \"BOTTLENECK\",\n"
        + "  \"revision\": null,\n"
        + "  \"stack\": [\n"
        + "    {\n"
        + "      \"bottleneck_size\": null,\n"
        + "      \"init_weights\": \"houlsby\",\n"
        + "      \"insertion\": \"sequential\",\n"
        + "      \"layer_reduction_factors\": {\n"
        + "        \"1\": 8\n"
        + "      },\n"
        + "      \"layers_to_transform\": null,\n"
        + "      \"learned_scaling\": true,\n"
        + "      \"multi_head\": false,\n"
        + "      \"non_linearity\": \"swish\",\n"
        + "      \"placement\": \"both\",\n"
        + "      \"reduction_factor\": 16,\n"
        + "      \"scaling\": 1.0\n"
        + "    },\n"
        + "    {\n"
        + "      \"bottleneck_size\": 2,\n"
        + "      \"init_weights\": \"lora\",\n"
        + "      \"insertion\": \"parallel\",\n"
        + "      \"layer_reduction_factors\": {},\n"
        + "      \"layers_to_transform\": [\n"
        + "        0\n"
        + "      ],\n"
        + "      \"learned_scaling\": false,\n"
        + "      \"multi_head\": true,\n"
        + "      \"non_linearity\": \"relu\",\n"
        + "      \"placement\": \"attention\",\n"
        + "      \"reduction_factor\": null,\n"
        + "      \"scaling\": 1.0\n"
        + "    }\n"
        + "  ],\n"
        + "  \"task_type\": \"CAUSAL_LM\",\n"
        + "  \"train_layer_norms\": true\n"
        + "}");
    Map<String, long[]> shapes = new TreeMap<>();
    try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve("a/adapter_model.safetensors"))) {
      for (TensorInfo info : f.tensors()) {
        shapes.put(info.name(), info.shape());
      }
    }
    String p = "base_model.model.model.layers.";
    assertThat(shapes.keySet()).containsExactlyInAnyOrder(
        p + "0.attention_adapter.down.weight", p + "0.attention_adapter.down.bias", p + "0.attention_adapter.up.weight",
        p + "0.attention_adapter.up.bias", p + "0.attention_adapter.scaling",
        p + "0.ffn_adapter.down.weight", p + "0.ffn_adapter.down.bias", p + "0.ffn_adapter.up.weight",
        p + "0.ffn_adapter.up.bias", p + "0.ffn_adapter.scaling",
        p + "1.attention_adapter.down.weight", p + "1.attention_adapter.down.bias", p + "1.attention_adapter.up.weight",
        p + "1.attention_adapter.up.bias", p + "1.attention_adapter.scaling",
        p + "1.ffn_adapter.down.weight", p + "1.ffn_adapter.down.bias", p + "1.ffn_adapter.up.weight",
        p + "1.ffn_adapter.up.bias", p + "1.ffn_adapter.scaling",
        p + "0.attention_adapter_1.down.weight", p + "0.attention_adapter_1.down.bias",
        p + "0.attention_adapter_1.up.weight", p + "0.attention_adapter_1.up.bias",
        p + "0.input_layernorm.weight", p + "0.post_attention_layernorm.weight",
        p + "1.input_layernorm.weight", p + "1.post_attention_layernorm.weight");
    assertThat(shapes.get(p + "0.ffn_adapter.down.weight")).containsExactly(2, 32);   // m = 32/16
    assertThat(shapes.get(p + "1.ffn_adapter.up.weight")).containsExactly(32, 4);     // m = 32/8 in layer 1
    assertThat(shapes.get(p + "0.ffn_adapter.scaling")).containsExactly(1);
    assertThat(shapes.get(p + "0.attention_adapter_1.down.weight")).containsExactly(8, 32); // H·m = 4·2
    assertThat(shapes.get(p + "0.attention_adapter_1.up.weight")).containsExactly(4, 8, 2); // [H, d_h, m]
  }

  @Test
  void saveThenLoadReproducesTheOutputExactlyOnAllThreeArchitectures() throws Exception {
    int run = 0;
    for (TinyCheckpoint c : new TinyCheckpoint[] {TinyCheckpoint.llama(), TinyCheckpoint.gpt2(), TinyCheckpoint.bert()}) {
      PeftModel peft = Peft.wrap(Fixtures.load(c, dir.resolve("m" + run)), stacked());
      Fixtures.randomize(peft, 0.3, 7);
      try (dev.peft4j.tensor.Scope s = dev.peft4j.tensor.Scope.open();
           dev.peft4j.tensor.Engine.GradGuard g = dev.peft4j.tensor.Engine.noGrad()) {
        peft.trainableParameters().forEach((name, p) -> {
          if (name.endsWith("layernorm.weight") || name.endsWith("ln_1.weight") || name.endsWith("LayerNorm.weight")
              || name.endsWith(".scaling")) {
            p.value().mul_(1.25); // trained norms and scalings must round-trip too
          }
        });
      }
      float[] adapted = Fixtures.output(peft.baseModel());
      peft.save(dir.resolve("a" + run));
      PeftModel loaded = PeftModel.load(Fixtures.load(c, dir.resolve("n" + run)), dir.resolve("a" + run));
      assertThat(loaded.config()).isEqualTo(peft.config());
      assertThat(Fixtures.output(loaded.baseModel())).as(c.configMap().get("model_type").toString()).containsExactly(adapted);
      run++;
    }
  }

  @Test
  void badAdapterFilesAreClearErrors() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama();
    Peft.wrap(Fixtures.load(checkpoint, dir.resolve("m")), BottleneckConfig.houlsby(16)).save(dir.resolve("good"));

    Path missing = copy("good", "missing", t -> t.remove("base_model.model.model.layers.1.ffn_adapter.up.bias"));
    assertThatThrownBy(() -> PeftModel.load(Fixtures.load(checkpoint, dir.resolve("m1")), missing))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("does not fit the bottleneck adapters its config creates on LlamaForCausalLM")
        .hasMessageContaining("missing [base_model.model.model.layers.1.ffn_adapter.up.bias]");

    PeftModel.load(Fixtures.load(checkpoint, dir.resolve("ok")), dir.resolve("good")); // the original loads
    assertThatThrownBy(() -> PeftModel.load(Fixtures.load(TinyCheckpoint.llama().config("hidden_size", 64)
        .config("head_dim", 8), dir.resolve("w")), dir.resolve("good")))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("has shape [2, 32] but this model needs [4, 64]");

    Path unknown = copy("good", "unknown", t -> {});
    edit(unknown, "\"multi_head\": false", "\"multi_head\": false,\n      \"gating\": true");
    assertThatThrownBy(() -> PeftModel.load(Fixtures.load(checkpoint, dir.resolve("m2")), unknown))
        .isInstanceOf(ModelFormatException.class).hasMessageContaining("stack[0]: unknown keys [gating]");

    Path badF = copy("good", "badf", t -> {});
    edit(badF, "\"swish\"", "\"sigmoid\"");
    assertThatThrownBy(() -> PeftModel.load(Fixtures.load(checkpoint, dir.resolve("m3")), badF))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("stack[0]: non_linearity must be one of relu, gelu, swish, tanh; got 'sigmoid'");

    // a mistyped flag is an error, not false
    Path typo = copy("good", "typo", t -> {});
    edit(typo, "\"multi_head\": false", "\"multi_head\": \"no\"");
    assertThatThrownBy(() -> PeftModel.load(Fixtures.load(checkpoint, dir.resolve("m5")), typo))
        .isInstanceOf(ModelFormatException.class).hasMessageContaining("stack[0]: multi_head must be true or false, got no");

    Path none = copy("good", "none", t -> {});
    edit(none, "\"placement\": \"both\"", "\"placement\": \"none\"");
    assertThatThrownBy(() -> PeftModel.load(Fixtures.load(checkpoint, dir.resolve("m4")), none))
        .isInstanceOf(ModelFormatException.class).hasMessageContaining("placement must be one of attention, ffn, both; got 'none'");
  }

  private Path copy(String from, String to, Consumer<Map<String, TensorData>> edit) throws Exception {
    Path target = dir.resolve(to);
    Files.createDirectories(target);
    Files.copy(dir.resolve(from).resolve(AdapterFormat.CONFIG_FILE), target.resolve(AdapterFormat.CONFIG_FILE));
    Map<String, TensorData> tensors = new LinkedHashMap<>(AdapterFormat.read(dir.resolve(from)).tensors());
    edit.accept(tensors);
    SafeTensorsWriter.write(target.resolve(AdapterFormat.WEIGHTS_FILE), tensors, Map.of("format", "pt"));
    return target;
  }

  private static void edit(Path adapter, String from, String to) throws Exception {
    Path config = adapter.resolve(AdapterFormat.CONFIG_FILE);
    String text = Files.readString(config);
    assertThat(text).contains(from);
    Files.writeString(config, text.replace(from, to));
  }
}
