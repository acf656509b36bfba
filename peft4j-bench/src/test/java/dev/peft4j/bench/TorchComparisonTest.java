package dev.peft4j.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TorchComparisonTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void eachBaselineSitsBesideThePeft4jRunOfTheSameCase() throws Exception {
    String shape = JSON.writeValueAsString(ModelShape.DEFAULT.toJson());
    List<JsonNode> runs = new ArrayList<>();
    runs.add(JSON.readTree("{\"case\":\"torch-train\",\"dtype\":\"f32\",\"batch\":4,\"seq\":256,\"step_ms_median\":400,"
        + "\"peak_rss_mib\":900,\"torch\":\"2.13.0+cpu\",\"stack\":\"hf\",\"transformers\":\"5.18.0\",\"peft\":\"0.21.0\"}"));
    // another batch size: not the baseline's counterpart
    runs.add(JSON.readTree("{\"case\":\"train\",\"method\":\"lora\",\"dtype\":\"f32\",\"batch\":2,\"seq\":256,"
        + "\"step_ms_median\":100,\"peak_rss_mib\":500,\"shape\":" + shape + "}"));
    runs.add(JSON.readTree("{\"case\":\"train\",\"method\":\"lora\",\"dtype\":\"f32\",\"batch\":4,\"seq\":256,"
        + "\"step_ms_median\":320,\"peak_rss_mib\":720,\"shape\":" + shape + "}"));
    runs.add(JSON.readTree("{\"case\":\"torch-infer\",\"dtype\":\"bf16\",\"batch\":1,\"prompt\":128,\"decode\":32,"
        + "\"variants\":[{\"name\":\"base\",\"prefill_tokens_per_s\":5000,\"decode_tokens_per_s\":200}],\"torch\":\"2.13.0+cpu\"}"));
    runs.add(JSON.readTree("{\"case\":\"infer\",\"dtype\":\"bf16\",\"batch\":1,\"prompt\":128,\"decode\":32,\"shape\":" + shape
        + ",\"variants\":[{\"name\":\"base\",\"prefill_tokens_per_s\":10000,\"decode_tokens_per_s\":250},"
        + "{\"name\":\"lora\",\"prefill_tokens_per_s\":9000,\"decode_tokens_per_s\":240}]}"));

    String md = TorchComparison.markdown(runs);

    assertThat(md).contains("PyTorch 2.13.0+cpu");
    // 400 / 320 ms, 720 / 900 MiB, 10000 / 5000 and 250 / 200 tokens/s
    assertThat(md).contains(
        "| LoRA training step, f32 (median ms) | transformers 5.18.0 + PEFT 0.21.0 | 400 | 320 | 1.25x the speed |",
        "| peak RSS of the process, f32 training (MiB) | transformers 5.18.0 + PEFT 0.21.0 | 900 | 720 | 0.80x the memory |",
        "| prefill tokens/s, base, bf16 | PyTorch modules | 5,000 | 10,000 | 2.00x the speed |",
        "| decode tokens/s, base, bf16 | PyTorch modules | 200 | 250 | 1.25x the speed |");
    assertThat(md).doesNotContain("lora, bf16"); // the baseline has no lora variant in this run
  }

  @Test
  void noBaselineNoSection() throws Exception {
    JsonNode train = JSON.readTree("{\"case\":\"train\",\"method\":\"lora\",\"dtype\":\"f32\",\"batch\":4,\"seq\":256}");
    assertThat(TorchComparison.markdown(List.of(train))).isEmpty();
  }
}
