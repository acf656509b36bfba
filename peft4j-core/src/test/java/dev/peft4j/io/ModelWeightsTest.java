package dev.peft4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelWeightsTest {

  private static final String SHARD1 = "model-00001-of-00002.safetensors";
  private static final String SHARD2 = "model-00002-of-00002.safetensors";

  @TempDir Path dir;

  private static final TensorData EMBED =
      TensorData.ofFloats(new long[] {2, 2}, new float[] {1f, 2f, 3f, 4f});
  private static final TensorData NORM = TensorData.ofFloats(new long[] {2}, new float[] {5f, 6f});
  private static final TensorData HEAD =
      TensorData.ofFloats(new long[] {1, 2}, new float[] {7f, 8f});

  /** Two shards: embed + norm in the first, lm_head in the second. */
  private void writeShards() throws IOException {
    SafeTensorsWriter.write(dir.resolve(SHARD1), Map.of("model.embed.weight", EMBED,
        "model.norm.weight", NORM), Map.of("format", "pt"));
    SafeTensorsWriter.write(dir.resolve(SHARD2), Map.of("lm_head.weight", HEAD),
        Map.of("format", "pt"));
  }

  private Path writeIndex(String weightMapJson) throws IOException {
    Path index = dir.resolve(ModelWeights.INDEX_FILE);
    Files.writeString(index, "{\n  \"metadata\": {\"total_size\": 32},\n  \"weight_map\": "
        + weightMapJson + "\n}\n");
    return index;
  }

  private Path writeGoodIndex() throws IOException {
    return writeIndex("{\"lm_head.weight\": \"" + SHARD2 + "\", \"model.embed.weight\": \""
        + SHARD1 + "\", \"model.norm.weight\": \"" + SHARD1 + "\"}");
  }

  private AbstractThrowableAssert<?, ? extends Throwable> assertRejected(Path index) {
    return assertThatThrownBy(() -> ModelWeights.open(dir).close())
        .isInstanceOf(SafeTensorsFormatException.class)
        .hasMessageStartingWith(index + ": ");
  }

  @Test
  void readsTwoShardsThroughTheIndex() throws IOException {
    writeShards();
    writeGoodIndex();
    try (ModelWeights weights = ModelWeights.open(dir)) {
      assertThat(weights.names())
          .containsExactly("lm_head.weight", "model.embed.weight", "model.norm.weight");
      assertThat(weights.read("model.embed.weight")).isEqualTo(EMBED);
      assertThat(weights.read("model.norm.weight")).isEqualTo(NORM);
      assertThat(weights.read("lm_head.weight")).isEqualTo(HEAD);
      assertThat(weights.data("lm_head.weight").getFloat(4)).isEqualTo(8f);
      assertThat(weights.info("model.norm.weight").orElseThrow().shape()).containsExactly(2);
      assertThat(weights.info("missing")).isEmpty();
      assertThat(weights.fileOf("lm_head.weight").getFileName().toString()).isEqualTo(SHARD2);
      assertThat(weights.fileOf("model.embed.weight").getFileName().toString())
          .isEqualTo(SHARD1);
      assertThatThrownBy(() -> weights.read("missing"))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'missing'");
    }
    // the index file itself may be given too
    try (ModelWeights weights =
        ModelWeights.open(dir.resolve(ModelWeights.INDEX_FILE))) {
      assertThat(weights.names()).hasSize(3);
    }
  }

  @Test
  void readsASingleFileModelOrADirectFile() throws IOException {
    Path single = dir.resolve(ModelWeights.SINGLE_FILE);
    SafeTensorsWriter.write(single, Map.of("w", NORM));
    try (ModelWeights weights = ModelWeights.open(dir)) {
      assertThat(weights.names()).containsExactly("w");
      assertThat(weights.fileOf("w")).isEqualTo(single);
    }
    Path adapter = dir.resolve("adapter_model.safetensors");
    SafeTensorsWriter.write(adapter, Map.of("a", HEAD));
    try (ModelWeights weights = ModelWeights.open(adapter)) {
      assertThat(weights.read("a")).isEqualTo(HEAD);
    }
  }

  @Test
  void directoryWithoutWeights() {
    assertThatThrownBy(() -> ModelWeights.open(dir))
        .isInstanceOf(NoSuchFileException.class)
        .hasMessageContaining("model directory has no weights: none of model.safetensors, model.safetensors.index.json,"
            + " pytorch_model.bin, pytorch_model.bin.index.json");
  }

  @Test
  void malformedIndex() throws IOException {
    writeShards();
    Path index = dir.resolve(ModelWeights.INDEX_FILE);
    Files.writeString(index, "{\"weight_map\": {\"a\": ");
    assertRejected(index).hasMessageContaining("index is not valid JSON");
    Files.writeString(index, "{\"weight_map\": {\"a\": \"x\", \"a\": \"y\"}}");
    assertRejected(index).hasMessageContaining("index is not valid JSON")
        .hasMessageContaining("Duplicate field 'a'");
    Files.writeString(index, "{\"metadata\": {}}");
    assertRejected(index).hasMessageContaining("index has no \"weight_map\" object");
    Files.writeString(index, "[]");
    assertRejected(index).hasMessageContaining("index must be a JSON object");
    writeIndex("{\"model.norm.weight\": 3}");
    assertRejected(index).hasMessageContaining("tensor 'model.norm.weight': weight_map value "
        + "must be a shard file name, found 3");
  }

  @Test
  void missingShardIsNamed() throws IOException {
    SafeTensorsWriter.write(dir.resolve(SHARD1), Map.of("model.embed.weight", EMBED,
        "model.norm.weight", NORM));
    Path index = writeGoodIndex();
    assertRejected(index).hasMessageContaining("tensor 'lm_head.weight': shard '" + SHARD2
        + "' named in weight_map does not exist");
  }

  @Test
  void weightMapEntryMissingFromItsShardNamesBoth() throws IOException {
    writeShards();
    Path index = writeIndex("{\"lm_head.weight\": \"" + SHARD2 + "\", \"model.embed.weight\": \""
        + SHARD1 + "\", \"model.norm.weight\": \"" + SHARD2 + "\", \"ghost\": \"" + SHARD1
        + "\"}");
    assertRejected(index).hasMessageContaining("tensor 'ghost': weight_map puts it in shard '"
        + SHARD1 + "', but that shard has no such tensor");
    writeGoodIndex();
    writeIndex("{\"lm_head.weight\": \"" + SHARD2 + "\", \"model.embed.weight\": \""
        + SHARD1 + "\", \"model.norm.weight\": \"" + SHARD2 + "\"}");
    assertRejected(index).hasMessageContaining("tensor 'model.norm.weight': weight_map puts it "
        + "in shard '" + SHARD2 + "', but that shard has no such tensor (it is in '" + SHARD1
        + "')");
  }

  @Test
  void sameTensorInTwoShards() throws IOException {
    writeShards();
    SafeTensorsWriter.write(dir.resolve(SHARD2), Map.of("lm_head.weight", HEAD,
        "model.norm.weight", NORM));
    Path index = writeGoodIndex();
    assertRejected(index).hasMessageContaining("tensor 'model.norm.weight': found in two shards: '"
        + SHARD1 + "' and '" + SHARD2 + "'");
  }

  @Test
  void shardOutsideTheModelDirectoryIsRefused() throws IOException {
    writeShards();
    Path index = writeIndex("{\"lm_head.weight\": \"../" + SHARD2 + "\"}");
    assertRejected(index).hasMessageContaining("shard '../" + SHARD2
        + "' is outside the model directory");
    writeIndex("{\"lm_head.weight\": \"/etc/passwd\"}");
    assertRejected(index).hasMessageContaining("outside the model directory");
  }

  @Test
  void brokenShardIsReportedWithItsOwnPath() throws IOException {
    writeShards();
    Files.write(dir.resolve(SHARD2), new byte[] {1, 2, 3});
    writeGoodIndex();
    assertThatThrownBy(() -> ModelWeights.open(dir))
        .isInstanceOf(SafeTensorsFormatException.class)
        .hasMessageStartingWith(dir.resolve(SHARD2).toString())
        .hasMessageContaining("shorter than the 8-byte");
  }
}
