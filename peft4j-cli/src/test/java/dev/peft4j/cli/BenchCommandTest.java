package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code peft4j bench}: each case on a tiny shape prints one JSON object with --json (no timing asserted). */
class BenchCommandTest {
  @RegisterExtension final CliCapture cli = new CliCapture();

  private JsonNode runJson(String... args) throws Exception {
    int code = cli.run(args);
    assertThat(code).as(cli.err()).isZero();
    String[] lines = cli.out().strip().split("\n");
    assertThat(lines).hasSize(1);
    return new ObjectMapper().readTree(lines[0]);
  }

  @Test
  void trainPrintsOneJsonObject() throws Exception {
    JsonNode r = runJson("bench", "train", "--preset", "tiny", "--seq", "8", "--batch", "1", "--steps", "2",
        "--warmup", "0", "--peak-size", "64", "--r", "4", "--gradient-checkpointing", "--json");
    assertThat(r.get("case").asText()).isEqualTo("train");
    assertThat(r.get("gradient_checkpointing").asBoolean()).isTrue();
    assertThat(r.get("method").asText()).isEqualTo("lora");
    assertThat(r.has("step_ms_median") && r.has("achieved_gflop_per_s") && r.has("peak_rss_mib")).isTrue();
  }

  @Test
  void shapeOptionsOverrideThePreset() throws Exception {
    JsonNode r = runJson("bench", "infer", "--preset", "tiny", "--layers", "1", "--prompt", "4", "--decode", "2",
        "--rounds", "1", "--variants", "lora", "--json");
    assertThat(r.get("shape").get("layers").asInt()).isEqualTo(1);
    assertThat(r.get("variants")).hasSize(2);
  }

  @Test
  void unknownMethodIsOneLineError() {
    int code = cli.run("bench", "train", "--preset", "tiny", "--method", "nope");
    assertThat(code).isEqualTo(Peft4j.ERROR_EXIT);
    assertThat(cli.err()).contains("--method nope is not available");
  }
}
