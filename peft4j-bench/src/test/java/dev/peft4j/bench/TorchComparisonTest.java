package dev.peft4j.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TorchComparisonTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SHAPE = shapeJson();

  private static String shapeJson() {
    try {
      return JSON.writeValueAsString(ModelShape.DEFAULT.toJson());
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void eachBaselineIsPairedWithThePeft4jRunOfTheSameCaseAfterIt() throws Exception {
    List<JsonNode> runs = new ArrayList<>();
    // before the baseline: not its counterpart
    runs.add(train("f32", 4, 100, 500));
    runs.add(torchTrain("f32", 400, 900));
    // another batch size: not its counterpart either
    runs.add(train("f32", 2, 100, 500));
    runs.add(train("f32", 4, 320, 720));
    runs.add(JSON.readTree("{\"case\":\"torch-infer\",\"stack\":\"plain\",\"dtype\":\"bf16\",\"batch\":1,\"prompt\":128,"
        + "\"decode\":32,\"variants\":[{\"name\":\"base\",\"prefill_tokens_per_s\":5000,\"decode_tokens_per_s\":200}],"
        + "\"torch\":\"2.13.0+cpu\"}"));
    runs.add(JSON.readTree("{\"case\":\"infer\",\"dtype\":\"bf16\",\"batch\":1,\"prompt\":128,\"decode\":32,\"shape\":" + SHAPE
        + ",\"variants\":[{\"name\":\"base\",\"prefill_tokens_per_s\":10000,\"decode_tokens_per_s\":250},"
        + "{\"name\":\"lora\",\"prefill_tokens_per_s\":9000,\"decode_tokens_per_s\":240}]}"));

    String md = TorchComparison.markdown(runs);

    assertThat(md).contains("PyTorch 2.13.0+cpu");
    // 400 / 320 ms, 720 / 900 MiB, 10000 / 5000 and 250 / 200 tokens/s
    assertThat(md).contains(
        "| LoRA training step, f32 (median ms; speed) | transformers 5.18.0 + PEFT 0.21.0 | 1 | 400 | 320 | 1.25x |",
        "| peak RSS of the process, f32 training (MiB; memory) | transformers 5.18.0 + PEFT 0.21.0 | 1 | 900 | 720 | 0.80x |",
        "| prefill tokens/s, base, bf16 (speed) | PyTorch modules | 1 | 5,000 | 10,000 | 2.00x |",
        "| decode tokens/s, base, bf16 (speed) | PyTorch modules | 1 | 200 | 250 | 1.25x |");
    assertThat(md).doesNotContain("lora, bf16"); // the baseline has no lora variant in this run
  }

  @Test
  void repeatedPairsGiveMediansAndTheRangeOfTheRatios() throws Exception {
    List<JsonNode> runs = List.of(torchTrain("f32", 400, 900), train("f32", 320, 720),
        torchTrain("f32", 360, 880), train("f32", 400, 700), torchTrain("f32", 380, 910), train("f32", 380, 710));

    String md = TorchComparison.markdown(runs);

    // ratios 400/320 = 1.25, 360/400 = 0.90, 380/380 = 1.00; medians 380 and 380 ms
    assertThat(md).contains("| LoRA training step, f32 (median ms; speed) | transformers 5.18.0 + PEFT 0.21.0 | 3 | 380 | 380 |"
        + " 1.00x (0.90-1.25) |");
    // 720/900 = 0.80, 700/880 = 0.795, 710/910 = 0.780; medians 900 and 710 MiB
    assertThat(md).contains("| 3 | 900 | 710 | 0.80x (0.78-0.80) |");
  }

  private static JsonNode torchTrain(String dtype, double stepMs, double rssMib) throws Exception {
    return JSON.readTree(String.format(java.util.Locale.ROOT, "{\"case\":\"torch-train\",\"dtype\":\"%s\",\"batch\":4,"
        + "\"seq\":256,\"step_ms_median\":%s,\"peak_rss_mib\":%s,\"torch\":\"2.13.0+cpu\",\"stack\":\"hf\","
        + "\"transformers\":\"5.18.0\",\"peft\":\"0.21.0\"}", dtype, stepMs, rssMib));
  }

  private static JsonNode train(String dtype, double stepMs, double rssMib) throws Exception {
    return train(dtype, 4, stepMs, rssMib);
  }

  private static JsonNode train(String dtype, int batch, double stepMs, double rssMib) throws Exception {
    return JSON.readTree(String.format(java.util.Locale.ROOT, "{\"case\":\"train\",\"method\":\"lora\",\"dtype\":\"%s\","
        + "\"batch\":%d,\"seq\":256,\"step_ms_median\":%s,\"peak_rss_mib\":%s,\"shape\":%s}", dtype, batch, stepMs, rssMib, SHAPE));
  }

  @Test
  void noBaselineNoSection() throws Exception {
    JsonNode train = JSON.readTree("{\"case\":\"train\",\"method\":\"lora\",\"dtype\":\"f32\",\"batch\":4,\"seq\":256}");
    assertThat(TorchComparison.markdown(List.of(train))).isEmpty();
  }
}
