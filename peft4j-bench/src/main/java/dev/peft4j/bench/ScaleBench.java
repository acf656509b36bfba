package dev.peft4j.bench;

import dev.peft4j.data.Batch;
import dev.peft4j.model.llama.LlamaForCausalLM;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.train.AdamWConfig;
import dev.peft4j.train.CausalLmObjective;
import dev.peft4j.train.StepMetrics;
import dev.peft4j.train.Trainer;
import dev.peft4j.train.TrainingListener;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * {@code bench scale}: LoRA training step time and peak memory as the sequence grows, for several
 * model sizes; a table and a PNG with one panel per figure.
 *
 * <p>Each size's model is built once; each (size, sequence length) point runs {@code warmup +
 * steps} trainer steps with the RSS peak reset just before, and reports the median step time and
 * the peak RSS, also as the part above the RSS with the weights loaded.
 */
public final class ScaleBench {
  /** The three default sizes: about 6M, 20M and 110M parameters. */
  public static final Map<String, ModelShape> DEFAULT_SIZES = sizes();

  private ScaleBench() {}

  private static Map<String, ModelShape> sizes() {
    Map<String, ModelShape> m = new LinkedHashMap<>();
    m.put("small", new ModelShape(256, 2, 4, 2, 704, 8000));
    m.put("default", ModelShape.DEFAULT);
    m.put("large", new ModelShape(1024, 8, 16, 4, 2816, 8000));
    return m;
  }

  public record Options(Map<String, ModelShape> sizes, List<Integer> seqs, int batch, DType dtype, int steps,
      int warmup, long seed, Path plot) {
    public Options {
      sizes = new LinkedHashMap<>(sizes);
      seqs = List.copyOf(seqs);
      if (sizes.isEmpty() || seqs.isEmpty() || batch < 1 || steps < 1 || warmup < 0) {
        throw new IllegalArgumentException("need sizes, sequence lengths, --batch >= 1, --steps >= 1, --warmup >= 0");
      }
      for (int s : seqs) {
        if (s < 2) {
          throw new IllegalArgumentException("sequence lengths must be >= 2: " + s);
        }
      }
    }

    public static Options defaults() {
      return new Options(DEFAULT_SIZES, List.of(128, 256, 512, 1024), 1, DType.F32, 2, 1, 42, Path.of("bench-scale.png"));
    }
  }

  /**
   * @param config the method for every point (a fresh adapter per size)
   * @param plot where to write the PNG, or null for none
   */
  public static Report run(Options o, Supplier<PeftConfig> config) throws IOException {
    Engine.ensureLoaded();
    int maxSeq = o.seqs().stream().mapToInt(Integer::intValue).max().orElseThrow();
    List<Map<String, Object>> points = new ArrayList<>();
    Table t = new Table("size", "params", "seq", "step ms", "tokens/s", "peak RSS MiB", "above weights MiB");
    LinePlot.Panel time = new LinePlot.Panel("LoRA training step time", "sequence length (tokens, batch " + o.batch() + ")", "ms per step");
    LinePlot.Panel memory = new LinePlot.Panel("Peak RSS above the weights", "sequence length (tokens, batch " + o.batch() + ")", "MiB");
    for (Map.Entry<String, ModelShape> size : o.sizes().entrySet()) {
      ModelShape shape = size.getValue();
      LlamaForCausalLM model = RandomModels.llama(shape, o.dtype(), Math.max(2048, maxSeq + 1), o.seed());
      PeftModel peft = Peft.wrap(model, config.get());
      System.gc();
      Memory.trim();
      long rssWeights = Memory.rss();
      for (int seq : o.seqs()) {
        List<Double> ms = new ArrayList<>();
        long[] last = {0};
        TrainingListener listener = new TrainingListener() {
          @Override
          public void onStep(StepMetrics m) {
            long now = System.nanoTime();
            if (m.step() > o.warmup()) {
              ms.add((now - last[0]) / 1e6);
            }
            last[0] = System.nanoTime();
          }
        };
        Trainer<Batch> trainer = Trainer.builder(new CausalLmObjective(peft),
                new RandomBatches(shape.vocab(), o.batch(), seq, o.seed()))
            .optimizer(AdamWConfig.withLr(1e-4))
            .clipGradNorm(1.0)
            .maxSteps(o.warmup() + o.steps())
            .seed(o.seed())
            .logEvery(Integer.MAX_VALUE)
            .listener(listener)
            .build();
        Memory.trim();
        Memory.resetPeak();
        last[0] = System.nanoTime();
        trainer.train();
        long peak = Memory.peakRss();
        double median = Stats.of(ms).median();
        double tps = (double) o.batch() * seq / (median / 1e3);
        Map<String, Object> point = new LinkedHashMap<>();
        point.put("size", size.getKey());
        point.put("parameters", shape.parameterCount());
        point.put("seq", seq);
        point.put("step_ms", median);
        point.put("tokens_per_s", tps);
        point.put("peak_rss_mib", Memory.mib(peak));
        point.put("peak_above_weights_mib", Memory.mib(peak - rssWeights));
        points.add(point);
        t.row(size.getKey(), String.format(Locale.ROOT, "%.1fM", shape.parameterCount() / 1e6), seq, median, tps,
            Memory.mib(peak), Memory.mib(peak - rssWeights));
        time.point(size.getKey(), seq, median);
        memory.point(size.getKey(), seq, Memory.mib(peak - rssWeights));
      }
      RandomModels.free(model);
    }
    Report r = new Report("scale", "bench scale: LoRA step time and peak memory, "
        + o.dtype().name().toLowerCase(Locale.ROOT) + ", batch " + o.batch());
    Map<String, Object> sizes = new LinkedHashMap<>();
    o.sizes().forEach((k, v) -> sizes.put(k, v.toJson()));
    r.put("dtype", o.dtype().name().toLowerCase(Locale.ROOT))
        .put("threads", Engine.threads())
        .put("f32_matmul_precision", Engine.float32MatmulPrecision())
        .put("batch", o.batch())
        .put("steps", o.steps())
        .put("sizes", sizes)
        .put("points", points)
        .put("load_average", Machine.loadAverage());
    if (o.plot() != null) {
      LinePlot.write(o.plot(), 560, 420, List.of(time, memory));
      r.put("plot", o.plot().toString());
      r.note("plot: " + o.plot());
    }
    r.table(t);
    return r;
  }
}
