package dev.peft4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.SafeTensorsFormatException;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TestSafeTensors;
import dev.peft4j.testing.TinyCheckpoint;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every broken model directory fails with a typed error that names the file and the tensor or field. */
class LoadErrorsTest {
  @TempDir Path dir;

  @Test
  void missingConfigJsonNamesTheDirectory() throws IOException {
    TinyCheckpoint.llama().writeTo(dir);
    Files.delete(dir.resolve("config.json"));
    assertThatThrownBy(() -> AutoModel.load(dir))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("no config.json")
        .hasMessageContaining(dir.toString());
  }

  @Test
  void unknownModelTypeNamesTypeAndFile() {
    TinyCheckpoint.llama().config("model_type", "mamba").writeTo(dir);
    assertThatThrownBy(() -> AutoModel.load(dir))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("unknown model_type 'mamba'")
        .hasMessageContaining("config.json")
        .hasMessageContaining("supported: llama");
  }

  @Test
  void malformedConfigJson() throws IOException {
    TinyCheckpoint.gpt2().writeTo(dir);
    Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"gpt2\", ");
    assertThatThrownBy(() -> AutoModel.load(dir))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("config.json is not valid JSON");
  }

  @Test
  void truncatedSafetensorsNamesFileAndTensor() throws IOException {
    TinyCheckpoint.llama().writeTo(dir);
    Path file = dir.resolve("model.safetensors");
    byte[] bytes = Files.readAllBytes(file);
    Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 100));
    assertThatThrownBy(() -> AutoModel.load(dir))
        .isInstanceOf(SafeTensorsFormatException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("truncated")
        .hasMessageContaining("tensor '");
  }

  @Test
  void headerPointingPastTheEnd() throws IOException {
    TinyCheckpoint.gpt2().writeTo(dir);
    String header = "{\"transformer.wte.weight\":{\"dtype\":\"F32\",\"shape\":[64,32],\"data_offsets\":[0,8192]}}";
    TestSafeTensors.writeHeaderAndBytes(dir.resolve("model.safetensors"), header, new byte[16]);
    assertThatThrownBy(() -> AutoModel.load(dir))
        .isInstanceOf(SafeTensorsFormatException.class)
        .hasMessageContaining("transformer.wte.weight");
  }

  @Test
  void headerLengthOfTwoToTheSixtyIsRejectedWithoutAllocating() throws IOException {
    TinyCheckpoint.gpt2().writeTo(dir);
    ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(1L << 60);
    Files.write(dir.resolve("model.safetensors"), b.array());
    assertThatThrownBy(() -> AutoModel.load(dir))
        .isInstanceOf(SafeTensorsFormatException.class)
        .hasMessageContaining("header");
  }

  @Test
  void shapeThatDisagreesWithConfigNamesTensorAndBothShapes() throws IOException {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama();
    checkpoint.writeTo(dir);
    // intermediate_size in config.json no longer matches the MLP weights
    Path config = dir.resolve("config.json");
    String edited = Files.readString(config).replaceFirst("\"intermediate_size\"\\s*:\\s*48", "\"intermediate_size\": 40");
    assertThat(edited).contains("\"intermediate_size\": 40");
    Files.writeString(config, edited);
    assertThatThrownBy(() -> AutoModel.load(dir))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("tensor 'model.layers.0.mlp.")
        .hasMessageContaining("model.safetensors has shape [")
        .hasMessageMatching(".*has shape \\[(48, 32|32, 48)\\] but the config \\(LlamaForCausalLM\\) expects \\[(40, 32|32, 40)\\].*");
  }

  @Test
  void missingWeightIsListed() {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama();
    checkpoint.weights().remove("model.layers.1.self_attn.k_proj.weight");
    checkpoint.shapes().remove("model.layers.1.self_attn.k_proj.weight");
    checkpoint.writeTo(dir);
    assertThatThrownBy(() -> AutoModel.load(dir))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("missing 1 weight")
        .hasMessageContaining("model.layers.1.self_attn.k_proj.weight");
  }

  @Test
  void unexpectedWeightIsWarnedByDefaultAndAnErrorWhenStrict() throws IOException {
    TinyCheckpoint checkpoint = TinyCheckpoint.gpt2();
    checkpoint.weights().put("transformer.h.0.extra.weight", new float[4]);
    checkpoint.shapes().put("transformer.h.0.extra.weight", new long[] {4});
    checkpoint.writeTo(dir);

    List<String> warnings = new ArrayList<>();
    Logger logger = Logger.getLogger("dev.peft4j.model.WeightLoader");
    Handler capture = new Handler() {
      @Override public void publish(LogRecord r) { warnings.add(r.getMessage()); }
      @Override public void flush() {}
      @Override public void close() {}
    };
    logger.addHandler(capture);
    try {
      assertThat(AutoModel.load(dir).architecture()).isEqualTo("GPT2LMHeadModel");
    } finally {
      logger.removeHandler(capture);
    }
    assertThat(warnings).anySatisfy(w -> assertThat(w).contains("transformer.h.0.extra.weight"));

    assertThatThrownBy(() -> AutoModel.load(dir, LoadOptions.defaults().withStrict(true)))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("does not use")
        .hasMessageContaining("transformer.h.0.extra.weight");
  }

  @Test
  void gqaHeadsThatDoNotDivideAreAConfigError() {
    TinyCheckpoint.llama().config("num_key_value_heads", 3).writeTo(dir);
    assertThatThrownBy(() -> AutoModel.load(dir))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("num_key_value_heads (3)");
  }

  @Test
  void aClassifiersLabelsMustBeNumberedFromZeroAndAtLeastTwo() {
    TinyCheckpoint.bert().withClassifier(2).config("id2label", Map.of("0", "no", "2", "yes")).writeTo(dir);
    assertThatThrownBy(() -> AutoModel.load(dir))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("config.json: id2label must map 0..1 to label names; there is no 1");
    TinyCheckpoint.bert().withClassifier(1).writeTo(dir);
    assertThatThrownBy(() -> AutoModel.load(dir))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("num_labels 1, a regression head, is not supported");
  }

  /** peft4j has no sliding-window attention: where transformers would slide, the context stops at the window. */
  @Test
  void aSlidingWindowCapsTheContextLength() throws IOException {
    assertThat(contextLength(TinyCheckpoint.llama().config("model_type", "mistral").config("sliding_window", 5)))
        .isEqualTo(5);
    TinyCheckpoint longMistral = TinyCheckpoint.llama().config("model_type", "mistral")
        .config("max_position_embeddings", 5000);
    assertThat(contextLength(longMistral)).as("transformers' default window").isEqualTo(4096);
    Path noWindow = dir.resolve("no-window");
    longMistral.writeTo(noWindow);
    Path config = noWindow.resolve("config.json");
    Files.writeString(config, Files.readString(config).replaceFirst("\\{", "{\"sliding_window\": null,"));
    assertThat(((DecoderLm) AutoModel.load(noWindow)).contextLength())
        .as("Mistral v0.2 and later: sliding_window null, no window").isEqualTo(5000);
    assertThat(contextLength(TinyCheckpoint.llama().config("model_type", "qwen2").config("sliding_window", 5)))
        .as("Qwen2 slides only with use_sliding_window").isEqualTo(128);
    assertThat(contextLength(TinyCheckpoint.llama().config("model_type", "qwen2").config("sliding_window", 5)
        .config("use_sliding_window", true))).isEqualTo(5);
    CausalLm capped = AutoModel.loadCausalLm(dir.resolve("0"), LoadOptions.defaults()); // the first, Mistral
    try (Scope scope = Scope.open()) {
      assertThatThrownBy(() -> capped.forward(Tensor.ofLongs(new long[] {1, 2, 3, 4, 5, 6}, 1, 6), null, null))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("context length 5");
    }
  }

  private long contextLength(TinyCheckpoint checkpoint) throws IOException {
    Path at = dir.resolve(String.valueOf(checkpointsWritten++));
    checkpoint.writeTo(at);
    return ((DecoderLm) AutoModel.load(at)).contextLength();
  }

  private int checkpointsWritten;

  @Test
  void configWithAWrongTypeNamesTheKey() throws IOException {
    TinyCheckpoint.bert().writeTo(dir);
    String config = Files.readString(dir.resolve("config.json"), StandardCharsets.UTF_8);
    String edited = config.replaceFirst("\"hidden_size\"\\s*:\\s*32", "\"hidden_size\": \"big\"");
    assertThat(edited).contains("\"big\"");
    Files.writeString(dir.resolve("config.json"), edited);
    assertThatThrownBy(() -> AutoModel.load(dir))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("\"hidden_size\" must be an integer");
  }
}
