package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.generate.ByteTokenizer;
import dev.peft4j.generate.TestModels;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code --method houlsby|pfeiffer|parallel|scaled-parallel|mh-parallel} through train, eval and forward. */
class BottleneckCliTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @RegisterExtension final CliCapture cli = new CliCapture();
  @TempDir Path dir;

  /** A tiny model of {@code family} over the byte tokenizer's vocabulary, matrices ×10 if {@code lively}. */
  private Path model(String family, boolean lively) throws Exception {
    TinyCheckpoint checkpoint = (family.equals("llama") ? TinyCheckpoint.llama() : family.equals("gpt2")
        ? TinyCheckpoint.gpt2() : TinyCheckpoint.bert()).config("vocab_size", ByteTokenizer.VOCAB);
    Path m = dir.resolve("model");
    (lively ? TestModels.lively(checkpoint) : checkpoint).writeTo(m);
    ByteTokenizer.create(m).close();
    return m;
  }

  private Path classification(String name, int count) throws Exception {
    return ClassificationFixture.sentiment(dir.resolve(name), count);
  }

  private Path text(int count) throws Exception {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      lines.add("{\"text\": \"abcdefgh" + "ijklmnop".substring(0, 1 + i % 7) + "\"}");
    }
    return Files.write(dir.resolve("text.jsonl"), lines);
  }

  private JsonNode config(Path adapter) throws Exception {
    return JSON.readTree(adapter.resolve("adapter_config.json").toFile());
  }

  @Test
  void houlsbyClassificationOnBertTrainsSavesAndEvaluates() throws Exception {
    Path model = model("bert", false);
    Path out = dir.resolve("out");
    int code = cli.run("train", "--model", model.toString(), "--data", classification("train.jsonl", 32).toString(),
        "--eval-data", classification("eval.jsonl", 16).toString(), "--method", "houlsby", "--reduction-factor", "8",
        "--nonlinearity", "gelu", "--train-layer-norms", "--epochs", "1", "--lr", "1e-2", "--no-progress",
        "--output", out.toString());
    assertThat(code).as(cli.err()).isZero();
    // per layer: 2 adapters of 2·4·32 + 32 + 4 = 292, 2 LayerNorms of 64; plus the classifier head 2·32 + 2
    assertThat(cli.out()).contains(String.format("trainable params: %,d ||", 2 * (2 * 292 + 2 * 64) + 66))
        .contains("before training: accuracy").contains("after training:  accuracy");
    JsonNode config = config(out);
    assertThat(config.get("peft_type").asText()).isEqualTo("BOTTLENECK");
    assertThat(config.get("modules_to_save").get(0).asText()).isEqualTo("classifier");
    assertThat(config.get("train_layer_norms").asBoolean()).isTrue();
    assertThat(config.get("stack").get(0).get("non_linearity").asText()).isEqualTo("gelu");
    assertThat(config.get("stack").get(0).get("reduction_factor").asInt()).isEqualTo(8);

    assertThat(cli.run("eval", "--model", model.toString(), "--adapter", out.toString(),
        "--data", dir.resolve("eval.jsonl").toString())).as(cli.err()).isZero();
    assertThat(cli.out()).contains("accuracy");
    assertThat(cli.run("forward", "--model", model.toString(), "--adapter", out.toString(),
        "--input-ids", "97,97,97;122,122", "--json")).as(cli.err()).isZero();
    JsonNode forward = JSON.readTree(cli.out());
    assertThat(forward.get("cls").get(0)).hasSize(32);
    assertThat(forward.get("logits")).hasSize(2).allSatisfy(row -> assertThat(row).hasSize(2));
  }

  @Test
  void languageModellingWithEachParallelVariantOnLlamaAndGpt2() throws Exception {
    String[][] runs = {
        {"llama", "scaled-parallel", "--bottleneck", "8", "--scaling", "learned"},
        {"gpt2", "mh-parallel", "--bottleneck", "2"},
        {"llama", "parallel", "--placement", "both"},
        {"gpt2", "pfeiffer", "--nonlinearity", "tanh"}};
    for (String[] run : runs) {
      Path model = model(run[0], true);
      Path out = dir.resolve("out-" + run[1]);
      List<String> args = new ArrayList<>(List.of("train", "--model", model.toString(), "--data", text(16).toString(),
          "--method", run[1], "--max-steps", "3", "--no-progress", "--output", out.toString()));
      args.addAll(List.of(run).subList(2, run.length));
      assertThat(cli.run(args.toArray(new String[0]))).as(run[1] + ": " + cli.err()).isZero();
      assertThat(config(out).get("task_type").asText()).isEqualTo("CAUSAL_LM");
      assertThat(cli.run("forward", "--model", model.toString(), "--adapter", out.toString(), "--input-ids", "97,98,99",
          "--json")).as(cli.err()).isZero();
      Files.walk(model).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
    JsonNode scaled = config(dir.resolve("out-scaled-parallel")).get("stack").get(0);
    assertThat(scaled.get("learned_scaling").asBoolean()).isTrue();
    assertThat(scaled.get("scaling").asDouble()).isEqualTo(4.0);
    assertThat(config(dir.resolve("out-mh-parallel")).get("stack").get(0).get("multi_head").asBoolean()).isTrue();
    assertThat(config(dir.resolve("out-parallel")).get("stack").get(0).get("placement").asText()).isEqualTo("both");
  }

  @Test
  void badOptionsAreOneLineErrors() throws Exception {
    Path model = model("llama", false);
    Path data = text(4);
    assertThat(cli.run("train", "--model", model.toString(), "--data", data.toString(), "--method", "houlsby",
        "--reduction-factor", "5", "--output", dir.resolve("o").toString())).isEqualTo(2);
    assertThat(cli.err()).contains("reduction_factor 5 does not divide the hidden size 32");
    assertThat(cli.run("train", "--model", model.toString(), "--data", data.toString(), "--method", "pfeiffer",
        "--nonlinearity", "sigmoid", "--output", dir.resolve("o").toString())).isEqualTo(2);
    assertThat(cli.err()).contains("non_linearity must be one of relu, gelu, swish, tanh; got 'sigmoid'");
    assertThat(cli.run("train", "--model", model.toString(), "--data", data.toString(), "--method", "adalora",
        "--output", dir.resolve("o").toString())).isEqualTo(2);
    assertThat(cli.err()).contains("--method adalora is not available");

    Path adapter = dir.resolve("a");
    assertThat(cli.run("train", "--model", model.toString(), "--data", data.toString(), "--method", "houlsby",
        "--max-steps", "1", "--no-progress", "--output", adapter.toString())).as(cli.err()).isZero();
    assertThat(cli.run("merge", "--model", model.toString(), "--adapter", adapter.toString(),
        "--output", dir.resolve("merged").toString())).isEqualTo(2);
    assertThat(cli.err()).contains("bottleneck adapters cannot be merged");
  }
}
