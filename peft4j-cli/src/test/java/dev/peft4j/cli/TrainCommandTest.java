package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.generate.ByteTokenizer;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** train, eval, merge and --adapter end to end on a tiny LLaMA with a byte-level tokenizer. */
class TrainCommandTest {
  @RegisterExtension final CliCapture cli = new CliCapture();
  @TempDir Path dir;
  private Path model;
  private Path data;

  @BeforeEach
  void setUp() throws Exception {
    model = TinyCheckpoint.llama().config("vocab_size", ByteTokenizer.VOCAB).writeTo(dir.resolve("model"));
    ByteTokenizer.create(model).close();
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      lines.add("{\"text\": \"abcdefghij abcdefghij abcdefghij " + (char) ('a' + i % 10) + "\"}");
    }
    data = Files.write(dir.resolve("train.jsonl"), lines);
  }

  /** The tiny random base has near-zero logits; adapting lm_head too lets the loss fall in a few steps. */
  private String[] train(Path output, String... extra) {
    List<String> args = new ArrayList<>(List.of("train", "--model", model.toString(), "--data", data.toString(),
        "--eval-data", data.toString(), "--r", "4", "--lr", "2e-2",
        "--batch-size", "8", "--max-steps", "20", "--save-every", "5", "--no-progress", "--output", output.toString()));
    if (!List.of(extra).contains("--target")) { // a list option: a second --target would add to the first
      args.addAll(List.of("--target", "q_proj,v_proj,lm_head"));
    }
    args.addAll(List.of(extra));
    return args.toArray(new String[0]);
  }

  @Test
  void trainSavesAPeftAdapterMetricsAndALossCurveAndLowersHeldOutLoss() throws Exception {
    Path out = dir.resolve("out");
    assertThat(cli.run(train(out))).as(cli.err()).isZero();
    String text = cli.out();
    assertThat(text).contains("trainable params: ").contains("trained 20 steps");
    double before = loss(text, "before training");
    double after = loss(text, "after training");
    assertThat(after).as(text).isLessThan(0.7 * before);
    assertThat(out.resolve("adapter_config.json")).exists();
    assertThat(out.resolve("adapter_model.safetensors")).exists();
    assertThat(Files.readAllLines(out.resolve("metrics.jsonl"))).allSatisfy(line ->
        assertThat(new ObjectMapper().readTree(line).has("step")).isTrue());
    assertThat(ImageIO.read(out.resolve("loss_curve.png").toFile())).isNotNull();

    // eval with the saved adapter reproduces the final held-out loss
    assertThat(cli.run("eval", "--model", model.toString(), "--adapter", out.toString(), "--data", data.toString()))
        .as(cli.err()).isZero();
    assertThat(loss(cli.out(), "examples")).isCloseTo(after, org.assertj.core.data.Offset.offset(1e-3));

    assertThat(mergedGivesTheAdaptersLogits(out).resolve("tokenizer.json")).exists();
  }

  /** Merges {@code adapter} into the base with the CLI and checks that the checkpoint's logits equal base + adapter. */
  private Path mergedGivesTheAdaptersLogits(Path adapter) throws Exception {
    Path merged = dir.resolve(adapter.getFileName() + "-merged");
    assertThat(cli.run("merge", "--model", model.toString(), "--adapter", adapter.toString(), "--output",
        merged.toString())).as(cli.err()).isZero();
    JsonNode withAdapter = forward("--model", model.toString(), "--adapter", adapter.toString());
    JsonNode fromMerged = forward("--model", merged.toString());
    for (int i = 0; i < withAdapter.size(); i++) {
      assertThat(fromMerged.get(i).doubleValue()).isCloseTo(withAdapter.get(i).doubleValue(),
          org.assertj.core.data.Offset.offset(1e-5));
    }
    return merged;
  }

  @Test
  void doraTrainsLowersTheLossAndMergesToTheSameLogits() throws Exception {
    Path out = trainsAndLowersTheLoss("dora", "--dora");
    assertThat(Files.readString(out.resolve("adapter_config.json"))).contains("\"use_dora\": true");
    mergedGivesTheAdaptersLogits(out);
  }

  @Test
  void trainableTokenRowsTrainBesideLoraAndMergeToTheSameLogits() throws Exception {
    Path out = trainsAndLowersTheLoss("tokens", "--trainable-tokens", "97,98,99"); // a, b, c
    assertThat(Files.readString(out.resolve("adapter_config.json"))).contains("\"trainable_token_indices\": [");
    mergedGivesTheAdaptersLogits(out);
  }

  @Test
  void loraOnTheEmbeddingTrainsLowersTheLossAndMergesToTheSameLogits() throws Exception {
    mergedGivesTheAdaptersLogits(trainsAndLowersTheLoss("embedding", "--target", "embed_tokens,q_proj,lm_head"));
  }

  @Test
  void ia3TrainsLowersTheLossAndMergesToTheSameLogits() throws Exception {
    // (IA)³ only rescales the tiny random model's near-zero activations (here the logits too, through lm_head), so
    // 20 steps move the loss less than the other methods' (0.89x measured)
    Path out = trainsAndLowersTheLoss(0.93, "ia3", "--method", "ia3", "--lr", "0.3", "--target",
        "k_proj,v_proj,down_proj,lm_head");
    assertThat(Files.readString(out.resolve("adapter_config.json"))).contains("\"peft_type\": \"IA3\"")
        .contains("\"feedforward_modules\": [\n    \"down_proj\"\n  ]");
    mergedGivesTheAdaptersLogits(out);
  }

  @Test
  void lohaTrainsLowersTheLossAndMergesToTheSameLogits() throws Exception {
    Path out = trainsAndLowersTheLoss("loha", "--method", "loha");
    assertThat(Files.readString(out.resolve("adapter_config.json"))).contains("\"peft_type\": \"LOHA\"");
    mergedGivesTheAdaptersLogits(out);
  }

  @Test
  void veraTrainsLowersTheLossAndMergesToTheSameLogits() throws Exception {
    Path out = trainsAndLowersTheLoss("vera", "--method", "vera", "--r", "16", "--lr", "0.1");
    assertThat(Files.readString(out.resolve("adapter_config.json"))).contains("\"peft_type\": \"VERA\"");
    mergedGivesTheAdaptersLogits(out);
  }

  @Test
  void trainableTokensAloneTrainAndMergeToTheSameLogits() throws Exception {
    // only the input rows of a..j train (the tiny model's head is untied), so the loss falls less (0.90x measured)
    Path out = trainsAndLowersTheLoss(0.95, "tokens-alone", "--method", "trainable-tokens", "--trainable-tokens",
        "97,98,99,100,101,102,103,104,105,106", "--target", "embed_tokens", "--lr", "0.1");
    assertThat(Files.readString(out.resolve("adapter_config.json"))).contains("\"peft_type\": \"TRAINABLE_TOKENS\"");
    mergedGivesTheAdaptersLogits(out);
  }

  /** Trains into {@code dir/name} with {@code extra} options and checks the held-out loss fell below 0.7x. */
  private Path trainsAndLowersTheLoss(String name, String... extra) {
    return trainsAndLowersTheLoss(0.7, name, extra);
  }

  /** Trains into {@code dir/name} with {@code extra} options and checks the held-out loss fell below {@code ratio}x. */
  private Path trainsAndLowersTheLoss(double ratio, String name, String... extra) {
    Path out = dir.resolve(name);
    assertThat(cli.run(train(out, extra))).as(cli.err()).isZero();
    assertThat(loss(cli.out(), "after training")).as(cli.out()).isLessThan(ratio * loss(cli.out(), "before training"));
    return out;
  }

  @Test
  void mamTrainsSavesAndRunsWithAdapter() throws Exception {
    Path out = dir.resolve("mam");
    assertThat(cli.run("train", "--model", model.toString(), "--data", data.toString(), "--method", "mam",
        "--num-virtual-tokens", "2", "--bottleneck", "4", "--max-steps", "3", "--no-progress", "--output", out.toString()))
        .as(cli.err()).isZero();
    assertThat(Files.readString(out.resolve("adapter_config.json"))).contains("\"peft_type\": \"MAM\"");
    JsonNode logits = forward("--model", model.toString(), "--adapter", out.toString());
    assertThat(logits.size()).isEqualTo(ByteTokenizer.VOCAB);
  }

  @Test
  void configFileSuppliesOptionsAndTheCommandLineWins() throws Exception {
    Path config = Files.writeString(dir.resolve("run.yaml"),
        "r: 2\nmax-steps: 3\ntarget: [q_proj, v_proj]\nno-progress: true\ngradient-checkpointing: true\n");
    Path out = dir.resolve("cfg");
    assertThat(cli.run("train", "--config", config.toString(), "--model", model.toString(), "--data", data.toString(),
        "--r", "3", "--output", out.toString())).as(cli.err()).isZero();
    assertThat(cli.out()).contains("trained 3 steps").contains("gradient checkpointing: on");
    String adapterConfig = Files.readString(out.resolve("adapter_config.json"));
    assertThat(adapterConfig).contains("\"r\": 3,").contains("\"q_proj\"").contains("\"v_proj\"");
  }

  @Test
  void badDataIsAOneLineErrorNamingFileAndLine() throws Exception {
    Files.writeString(data, "{\"text\": \"fine\"}\n{\"text\": \"also fine\"}\n{not json\n");
    assertThat(cli.run(train(dir.resolve("bad")))).isEqualTo(2);
    assertThat(cli.err()).contains("train.jsonl").contains("line 3").doesNotContain("\tat ");
  }

  /**
   * kill -9 in the middle of a run, then --resume: the adapter equals that of an uninterrupted
   * run byte for byte. The first run is a separate JVM, killed after its first checkpoint.
   */
  @Test
  void resumeAfterKillNineMatchesAnUninterruptedRun() throws Exception {
    Path uninterrupted = dir.resolve("whole");
    assertThat(cli.run(train(uninterrupted, "--max-steps", "60"))).as(cli.err()).isZero();

    Path killed = dir.resolve("killed");
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "-Dpeft4j.threads=" + dev.peft4j.tensor.Engine.threads()));
    if (dev.peft4j.tensor.Engine.usesMkl()) {
      command.add("-Dorg.bytedeco.openblas.load=mkl_rt"); // the same BLAS as this JVM, or the runs round differently
    }
    command.add("dev.peft4j.cli.Peft4j");
    command.addAll(List.of(train(killed, "--max-steps", "60")));
    Process process = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(dir.resolve("killed.log").toFile()).start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (!Files.exists(killed.resolve("checkpoint-5")) && process.isAlive() && System.nanoTime() < deadline) {
        Thread.sleep(2);
      }
    } finally {
      process.destroyForcibly().waitFor(30, TimeUnit.SECONDS); // SIGKILL
    }
    assertThat(killed.resolve("checkpoint-5")).as(Files.readString(dir.resolve("killed.log"))).exists();
    assertThat(killed.resolve("adapter_config.json")).as("killed before finishing").doesNotExist();

    // the same run resumed from what the killed one left
    assertThat(cli.run(train(killed, "--max-steps", "60", "--resume"))).as(cli.err()).isZero();
    assertThat(cli.out()).contains("trained 60 steps");
    boolean identical = java.util.Arrays.equals(Files.readAllBytes(killed.resolve("adapter_model.safetensors")),
        Files.readAllBytes(uninterrupted.resolve("adapter_model.safetensors")));
    assertThat(identical).as("resumed adapter is byte-identical to the uninterrupted one").isTrue();
  }

  private JsonNode forward(String... modelArgs) throws Exception {
    List<String> args = new ArrayList<>(List.of("forward", "--input-ids", "97,98,99,100", "--json"));
    args.addAll(List.of(modelArgs));
    assertThat(cli.run(args.toArray(new String[0]))).as(cli.err()).isZero();
    return new ObjectMapper().readTree(cli.out()).get("logits").get(0);
  }

  private static double loss(String text, String linePrefix) {
    Matcher m = Pattern.compile(Pattern.quote(linePrefix) + ".*?loss ([0-9.]+)").matcher(text);
    assertThat(m.find()).as("'" + linePrefix + "' in:\n" + text).isTrue();
    return Double.parseDouble(m.group(1).replaceAll("\\.$", ""));
  }
}
