package dev.peft4j.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.peft.lora.LoraConfig;
import dev.peft4j.tensor.DType;
import java.awt.image.BufferedImage;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each bench case runs on a tiny shape and prints one well-formed JSON object; no timing is asserted. */
class BenchCasesTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  private static JsonNode json(Report r) throws Exception {
    JsonNode node = JSON.readTree(r.toJson());
    assertThat(r.toJson()).doesNotContain("\n");
    assertThat(r.toText()).startsWith("== ");
    return node;
  }

  private static void assertKeys(JsonNode node, String... keys) {
    List<String> missing = new ArrayList<>();
    for (String k : keys) {
      if (!node.has(k)) {
        missing.add(k);
      }
    }
    assertThat(missing).as("missing keys in " + node).isEmpty();
  }

  @Test
  void trainReportsTimesFlopsMemoryAndGrowth() throws Exception {
    TrainBench.Options o = new TrainBench.Options(ModelShape.TINY, 16, 2, DType.F32, 21, 1, 3, 1, 128, false);
    JsonNode r = json(TrainBench.run(o, "lora", LoraConfig.builder().r(4).loraAlpha(8).build()));
    assertKeys(r, "case", "measured_at", "method", "shape", "seq", "batch", "dtype", "threads", "machine", "steps",
        "step_ms_median", "step_ms_min", "step_ms_max", "cpu_ms_per_step_median", "tokens_per_s", "gflop_per_step",
        "gflop_forward", "gflop_backward", "achieved_gflop_per_s", "matmul_peak_gflop_per_s",
        "matmul_peak_f32_all_blas_threads_gflop_per_s", "utilisation", "weights_mib", "forward_peak_rss_mib",
        "forward_grad_peak_rss_mib", "train_peak_rss_mib", "peak_rss_mib", "peak_over_forward",
        "peak_over_forward_grad", "javacpp_physical_mib", "javacpp_total_mib", "rss_step20_mib", "rss_last_mib",
        "rss_growth_pct", "loss_first", "loss_last", "generate_tokens_per_s", "load_average");
    assertThat(r.get("case").asText()).isEqualTo("train");
    assertThat(r.get("shape").get("dim").asInt()).isEqualTo(ModelShape.TINY.dim());
    assertThat(r.get("step_ms_median").asDouble()).isPositive();
    assertThat(r.get("gflop_per_step").asDouble()).isPositive();
    assertThat(r.get("rss_growth_pct").isNumber()).isTrue();
    assertThat(r.get("generate_tokens_per_s").isNumber()).isTrue();
  }

  @Test
  void inferReportsEveryVariantWithRatios() throws Exception {
    InferBench.Options o = new InferBench.Options(ModelShape.TINY, DType.F32, 4, 8, 3, 1, 1, InferVariant.ALL);
    JsonNode r = json(InferBench.run(o));
    assertKeys(r, "case", "shape", "dtype", "batch", "prompt", "decode", "rounds", "variants");
    assertThat(r.get("variants")).extracting(v -> v.get("name").asText())
        .containsExactlyElementsOf(InferVariant.ALL.stream().map(InferVariant::name).toList());
    for (JsonNode v : r.get("variants")) {
      assertKeys(v, "name", "prefill_tokens_per_s", "decode_tokens_per_s", "prefill_ratio", "decode_ratio",
          "prefill_ms", "decode_ms_per_token");
    }
    assertThat(r.get("variants").get(0).get("name").asText()).isEqualTo("base");
    assertThat(r.get("variants").get(0).get("prefill_ratio").asDouble()).isEqualTo(1.0);
    JsonNode mixed = r.get("variants").get(InferVariant.ALL.stream().map(InferVariant::name).toList().indexOf("lora-mixed4"));
    assertThat(mixed.get("name").asText()).isEqualTo("lora-mixed4");
    assertKeys(mixed, "reference", "prefill_ratio_to_reference", "decode_ratio_to_reference");
    assertThat(mixed.get("reference").asText()).isEqualTo("lora");
    assertThat(mixed.get("target_ratio").asDouble()).isEqualTo(0.80);
    JsonNode modelDType = r.get("variants").get(InferVariant.ALL.stream().map(InferVariant::name).toList()
        .indexOf("lora-model-dtype"));
    assertThat(modelDType.has("target")).as("in f32 it would repeat lora's target row").isFalse();
  }

  @Test
  void variantsAreSelectedByNameWithTheirReference() {
    assertThat(InferVariant.select("lora-merged", 1)).extracting(InferVariant::name).containsExactly("base", "lora-merged");
    assertThat(InferVariant.select("lora-mixed4", 8)).extracting(InferVariant::name)
        .containsExactly("base", "lora", "lora-mixed4");
    assertThat(InferVariant.select("all", 8)).isEqualTo(InferVariant.ALL);
    assertThat(InferVariant.select("all", 1)).extracting(InferVariant::name).doesNotContain("lora-mixed4");
    assertThatThrownBy(() -> InferVariant.select("lora-mixed4", 2)).hasMessageContaining("--batch 4");
    assertThatThrownBy(() -> InferVariant.select("lora,nope", 1)).hasMessageContaining("unknown variant 'nope'");
  }

  @Test
  void scaleReportsEveryPointAndWritesAPlot() throws Exception {
    Path plot = dir.resolve("scale.png");
    ScaleBench.Options o = new ScaleBench.Options(Map.of("tiny", ModelShape.TINY), List.of(8, 16), 1, DType.F32, 1, 0, 1, plot);
    JsonNode r = json(ScaleBench.run(o, () -> LoraConfig.builder().r(4).build()));
    assertKeys(r, "case", "dtype", "batch", "sizes", "points", "plot");
    assertThat(r.get("points")).hasSize(2);
    for (JsonNode p : r.get("points")) {
      assertKeys(p, "size", "parameters", "seq", "step_ms", "tokens_per_s", "peak_rss_mib", "peak_above_weights_mib");
    }
    BufferedImage image = ImageIO.read(plot.toFile());
    assertThat(image.getWidth()).isEqualTo(1120);
    assertThat(image.getHeight()).isEqualTo(420);
  }

  @Test
  void loadReportsBothLoadsAndTheForwardsAfterThem() throws Exception {
    JsonNode r = json(LoadBench.run(new LoadBench.Options(ModelShape.TINY, 1, dir.resolve("ckpt"), true, 1)));
    assertKeys(r, "case", "shape", "bytes", "tokens", "load_ms_median", "load_gb_per_s", "mapped", "copied");
    for (String mode : new String[] {"mapped", "copied"}) {
      assertKeys(r.get(mode), "load_ms_median", "load_ms_min", "load_ms_max", "first_forward_ms_median",
          "forward_ms_median", "rss_after_load_mib", "rss_anon_after_load_mib", "rss_file_after_load_mib",
          "rss_after_forward_mib", "rss_anon_after_forward_mib", "rss_file_after_forward_mib", "peak_rss_mib");
    }
    assertThat(r.get("load_ms_median").asDouble()).isEqualTo(r.get("mapped").get("load_ms_median").asDouble());
    assertThat(r.get("bytes").asLong()).isEqualTo(ModelShape.TINY.parameterCount() * 4);
    assertThat(dir.resolve("ckpt/model.safetensors")).exists();
  }

  @Test
  void flopCountFollowsTheGradientPath() {
    ModelShape s = new ModelShape(64, 2, 4, 4, 128, 100);
    int n = 10;
    FlopCount.Step inference = FlopCount.step(s, 1, n, Map.of(), java.util.Set.of(), false);
    double projections = 2.0 * n * (s.layers() * s.linearParamsPerLayer() + (long) s.dim() * s.vocab());
    double attention = s.layers() * 4.0 * s.heads() * n * n * s.headDim();
    assertThat(inference.forward()).isEqualTo(projections + attention);
    assertThat(inference.backward()).isZero();
    // LoRA on layer 1's q_proj only: layer 0 and layer 1's k/v need no backward
    FlopCount.Step lora = FlopCount.step(s, 1, n, Map.of("model.layers.1.self_attn.q_proj", 2), java.util.Set.of(), true);
    double head = 2.0 * n * s.dim() * s.vocab();
    double loraBackward = 2.0 * n * 2 * (2 * s.dim()) + 2.0 * n * 2 * s.dim();
    double attnBackward = 2 * 4.0 * s.heads() * n * n * s.headDim();
    double oAndMlp = 2.0 * n * ((long) s.dim() * s.dim() + 3L * s.dim() * s.ffn());
    assertThat(lora.backward()).isEqualTo(oAndMlp + head + loraBackward + attnBackward);
  }

  @Test
  void reportRendersTargetsFromRuns() throws Exception {
    TrainBench.Options o = new TrainBench.Options(ModelShape.TINY, 8, 1, DType.F32, 2, 0, 0, 1, 64, false);
    Report train = TrainBench.run(o, "lora", LoraConfig.builder().r(2).build());
    TrainBench.Options withCheckpointing = new TrainBench.Options(ModelShape.TINY, 8, 1, DType.F32, 2, 0, 0, 1, 64, true);
    Report checkpointed = TrainBench.run(withCheckpointing, "lora", LoraConfig.builder().r(2).build());
    assertThat(json(checkpointed).get("gradient_checkpointing").asBoolean()).isTrue();
    Report infer = InferBench.run(new InferBench.Options(ModelShape.TINY, DType.F32, 4, 4, 2, 1, 1, InferVariant.ALL));
    Path lines = dir.resolve("runs.jsonl");
    Files.writeString(lines, train.toJson() + "\n" + checkpointed.toJson() + "\n" + infer.toJson() + "\n",
        StandardCharsets.UTF_8);
    Path md = dir.resolve("PERFORMANCE.md");
    PerformanceReport.write(List.of(lines), md, "peft4j bench train --json");
    String text = Files.readString(md);
    assertThat(text).contains("## Targets (issue 8)", "Unmerged LoRA", "Merged LoRA", "Mixed batch of 4 LoRAs", "## Training", "## Inference",
        "peft4j bench train --json", "| lora (checkpointing) |");
  }

  @Test
  void jmhBenchmarksAreGenerated() throws Exception {
    try (InputStream in = getClass().getResourceAsStream("/META-INF/BenchmarkList")) {
      assertThat(in).isNotNull();
      String list = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      assertThat(list).contains("LoraLinearBenchmark", "PrefixAttentionBenchmark", "SafeTensorsLoadBenchmark",
          "MethodLayerBenchmark");
    }
  }
}
