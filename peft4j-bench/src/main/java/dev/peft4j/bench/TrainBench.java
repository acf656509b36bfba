package dev.peft4j.bench;

import dev.peft4j.data.Batch;
import dev.peft4j.generate.GenerationConfig;
import dev.peft4j.generate.Generator;
import dev.peft4j.model.llama.LlamaForCausalLM;
import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.peft.lora.LoraAdapter;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.train.AdamWConfig;
import dev.peft4j.train.BatchSource;
import dev.peft4j.train.CausalLmObjective;
import dev.peft4j.train.StepMetrics;
import dev.peft4j.train.Trainer;
import dev.peft4j.train.TrainingListener;
import dev.peft4j.train.TrainingResult;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * {@code bench train}: training steps of a PEFT method on a random LLaMA-shaped model, through the
 * real {@link Trainer} (AdamW, clipping at 1.0, the per-step scope) fed random token batches.
 *
 * <p>Phases, in one process: the matmul peak ({@link MatmulPeak}); the model; a no-grad forward
 * and a forward that records autograd (each with its own RSS peak); {@code warmup + steps}
 * training steps (their own RSS peak; RSS after step 20 and after the last, each after {@code malloc_trim}); optionally a
 * greedy generation with the {@link Generator}. Step times are wall times between the trainer's
 * step callbacks, warm-up steps excluded. FLOPs: {@link FlopCount}.
 */
public final class TrainBench {
  /** The step after which RSS is taken as the start of the growth measurement. */
  public static final int RSS_FROM_STEP = 20;

  private TrainBench() {}

  /**
   * @param shape model shape
   * @param seq tokens per row
   * @param batch rows per step
   * @param dtype weights and compute dtype
   * @param steps timed steps
   * @param warmup untimed steps before them
   * @param generate tokens to generate greedily after training (0: none)
   * @param seed weights, data and trainer seed
   * @param matmulSize side of the square matmul that measures the peak ({@link MatmulPeak#DEFAULT_SIZE})
   * @param gradientCheckpointing whether the trainer recomputes layers in the backward pass
   */
  public record Options(ModelShape shape, int seq, int batch, DType dtype, int steps, int warmup,
      int generate, long seed, int matmulSize, boolean gradientCheckpointing) {
    public Options {
      if (matmulSize < 1) {
        throw new IllegalArgumentException("--peak-size must be positive: " + matmulSize);
      }
      if (seq < 2 || batch < 1 || steps < 1 || warmup < 0 || generate < 0) {
        throw new IllegalArgumentException(String.format(Locale.ROOT,
            "need --seq >= 2, --batch >= 1, --steps >= 1, --warmup >= 0, --generate >= 0; got %d, %d, %d, %d, %d",
            seq, batch, steps, warmup, generate));
      }
    }

    public static Options defaults() {
      return new Options(ModelShape.DEFAULT, 256, 4, DType.F32, 40, 3, 0, 42, MatmulPeak.DEFAULT_SIZE, false);
    }
  }

  /**
   * Runs the benchmark.
   *
   * @param method the method's name for the report (e.g. {@code lora})
   * @param config the method's config
   */
  public static Report run(Options o, String method, PeftConfig config) throws IOException {
    Engine.ensureLoaded();
    int threads = Engine.threads();
    double peakF32 = MatmulPeak.gflops(DType.F32, o.matmulSize(), 5);
    double peakDtype = o.dtype() == DType.F32 ? peakF32 : MatmulPeak.gflops(o.dtype(), o.matmulSize(), 5);
    double peakF32AllThreads = MatmulPeak.f32AllThreads(o.matmulSize());

    System.gc();
    Memory.trim();
    long rssBase = Memory.rss();
    int maxPositions = Math.max(2048, o.seq() + o.generate() + 1);
    long buildStart = System.nanoTime();
    LlamaForCausalLM model = RandomModels.llama(o.shape(), o.dtype(), maxPositions, o.seed());
    double buildMs = (System.nanoTime() - buildStart) / 1e6;
    PeftModel peft = Peft.wrap(model, config);
    long weightBytes = 0;
    for (Parameter p : model.namedParameters().values()) {
      weightBytes += p.numel() * p.value().dtype().byteSize();
    }
    System.gc();
    Memory.trim();
    long rssWeights = Memory.rss();

    Random random = new Random(o.seed());
    // forward peaks above the weights-loaded RSS: inference (no autograd), and a forward that
    // records autograd and so keeps its activations until the end
    long peakBuild = Memory.peakRss();
    boolean peakResets = Memory.resetPeak();
    double forwardMs;
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      Tensor ids = RandomModels.tokenIds(random, o.batch(), o.seq(), o.shape().vocab());
      long t0 = System.nanoTime();
      model.forward(ids, null, null);
      forwardMs = (System.nanoTime() - t0) / 1e6;
    }
    long peakForward = Memory.peakRss();
    Memory.trim();
    Memory.resetPeak();
    try (Scope scope = Scope.open()) {
      Tensor ids = RandomModels.tokenIds(random, o.batch(), o.seq(), o.shape().vocab());
      Tensor logits = model.forward(ids, null, null);
      logits.sum().item();
    }
    long peakForwardGrad = Memory.peakRss();
    Memory.trim();

    // training
    int total = o.warmup() + o.steps();
    List<Double> stepMs = new ArrayList<>();
    List<Double> cpuMs = new ArrayList<>();
    long[] lastCpu = {0};
    long[] rssAt = new long[2];
    List<Double> losses = new ArrayList<>();
    long[] last = {0};
    TrainingListener listener = new TrainingListener() {
      @Override
      public void onStep(StepMetrics m) {
        long now = System.nanoTime();
        long cpu = Machine.processCpuNanos();
        if (m.step() > o.warmup()) {
          stepMs.add((now - last[0]) / 1e6);
          cpuMs.add((cpu - lastCpu[0]) / 1e6);
        }
        lastCpu[0] = cpu;
        losses.add(m.loss());
        // trimmed first, so memory the allocator holds for reuse does not count as growth (not timed)
        if (m.step() == RSS_FROM_STEP) {
          Memory.trim();
          rssAt[0] = Memory.rss();
        }
        if (m.step() == total) {
          Memory.trim();
          rssAt[1] = Memory.rss();
        }
        last[0] = System.nanoTime();
      }
    };
    Trainer<Batch> trainer = Trainer.builder(new CausalLmObjective(peft), new RandomBatches(o.shape().vocab(), o.batch(), o.seq(), o.seed()))
        .optimizer(AdamWConfig.withLr(1e-4))
        .clipGradNorm(1.0)
        .maxSteps(total)
        .seed(o.seed())
        .logEvery(Integer.MAX_VALUE)
        .gradientCheckpointing(o.gradientCheckpointing())
        .listener(listener)
        .build();
    Memory.resetPeak();
    last[0] = System.nanoTime();
    lastCpu[0] = Machine.processCpuNanos();
    TrainingResult result = trainer.train();
    long peakTrain = Memory.peakRss();
    // the peak again, after the steps: the better of the two is the machine's (noise only lowers it)
    peakF32 = Math.max(peakF32, MatmulPeak.gflops(DType.F32, o.matmulSize(), 5));
    peakDtype = o.dtype() == DType.F32 ? peakF32 : Math.max(peakDtype, MatmulPeak.gflops(o.dtype(), o.matmulSize(), 5));

    // generation with the real Generator
    Double generateTokensPerS = null;
    if (o.generate() > 0) {
      peft.setTraining(false);
      long[] prompt = new long[Math.min(o.seq(), 32)];
      for (int i = 0; i < prompt.length; i++) {
        prompt[i] = random.nextInt(o.shape().vocab());
      }
      Generator generator = new Generator(model, null);
      long t0 = System.nanoTime();
      int produced = generator.generate(prompt, GenerationConfig.greedy(o.generate())).ids().length;
      generateTokensPerS = produced / ((System.nanoTime() - t0) / 1e9);
    }
    long peakAll = Math.max(Math.max(peakBuild, peakForward), Math.max(peakForwardGrad, Math.max(peakTrain, Memory.peakRss())));

    // FLOPs
    Map<String, Integer> ranks = new LinkedHashMap<>();
    Set<String> loraParams = new HashSet<>();
    if (peft.adapter() instanceof LoraAdapter) {
      ((LoraAdapter) peft.adapter()).deltas().forEach((module, d) -> {
        ranks.put(module, (int) d.loraA().shape()[0]);
      });
      peft.adapter().trainableParameters().forEach((path, p) -> {
        if (path.contains(".lora_")) {
          loraParams.add(path);
        }
      });
    }
    Set<String> other = new HashSet<>(peft.trainableParameters().keySet());
    other.removeAll(loraParams);
    FlopCount.Step flops = FlopCount.step(o.shape(), o.batch(), o.seq(), ranks, other, true);
    // gradient checkpointing runs the layers' forward twice: everything of the forward but the lm_head again
    double recompute = o.gradientCheckpointing()
        ? flops.forward() - 2.0 * o.batch() * o.seq() * o.shape().dim() * o.shape().vocab() : 0;
    Stats st = Stats.of(stepMs);
    double tokens = (double) o.batch() * o.seq();
    double gflops = (flops.total() + recompute) / (st.median() * 1e6);
    double utilisation = gflops / peakDtype;
    long trainable = peft.trainableParameters().values().stream().mapToLong(Parameter::numel).sum();

    Report r = new Report("train", "bench train: " + method + " on " + o.shape() + ", "
        + o.batch() + "x" + o.seq() + " tokens, " + o.dtype().name().toLowerCase(Locale.ROOT)
        + (o.gradientCheckpointing() ? ", gradient checkpointing" : ""));
    r.put("method", method)
        .put("gradient_checkpointing", o.gradientCheckpointing())
        .put("shape", o.shape().toJson())
        .put("seq", o.seq())
        .put("batch", o.batch())
        .put("dtype", o.dtype().name().toLowerCase(Locale.ROOT))
        .put("threads", threads)
        .put("f32_matmul_precision", Engine.float32MatmulPrecision())
        .put("machine", Machine.describe())
        .put("steps", o.steps())
        .put("warmup_steps", o.warmup())
        .put("trainable_parameters", trainable)
        .put("step_ms_median", st.median())
        .put("step_ms_min", st.min())
        .put("step_ms_max", st.max())
        .put("cpu_ms_per_step_median", Stats.of(cpuMs).median())
        .put("tokens_per_s", tokens / (st.median() / 1e3))
        .put("gflop_per_step", (flops.total() + recompute) / 1e9)
        .put("gflop_recompute", recompute / 1e9)
        .put("gflop_forward", flops.forward() / 1e9)
        .put("gflop_backward", flops.backward() / 1e9)
        .put("gflop_attention", flops.attention() / 1e9)
        .put("gflop_adapter", flops.adapter() / 1e9)
        .put("achieved_gflop_per_s", gflops)
        .put("matmul_peak_gflop_per_s", peakDtype)
        .put("matmul_peak_size", o.matmulSize())
        .put("matmul_peak_f32_gflop_per_s", peakF32)
        .put("matmul_peak_f32_all_blas_threads_gflop_per_s", peakF32AllThreads)
        .put("blas_threads", Engine.blasThreads())
        .put("utilisation_of_f32_all_blas_threads", gflops / peakF32AllThreads)
        .put("utilisation", utilisation)
        .put("forward_no_grad_ms", forwardMs)
        .put("build_ms", buildMs)
        .put("rss_base_mib", Memory.mib(rssBase))
        .put("rss_weights_mib", Memory.mib(rssWeights))
        .put("weights_mib", Memory.mib(weightBytes))
        .put("forward_peak_rss_mib", Memory.mib(peakForward))
        .put("forward_grad_peak_rss_mib", Memory.mib(peakForwardGrad))
        .put("train_peak_rss_mib", Memory.mib(peakTrain))
        .put("peak_rss_mib", Memory.mib(peakAll))
        .put("forward_activations_mib", Memory.mib(peakForward - rssWeights))
        .put("forward_grad_activations_mib", Memory.mib(peakForwardGrad - rssWeights))
        .put("train_above_weights_mib", Memory.mib(peakTrain - rssWeights))
        .put("peak_over_forward", ratio(weightBytes + peakTrain - rssWeights, weightBytes + peakForward - rssWeights))
        .put("peak_over_forward_grad", ratio(weightBytes + peakTrain - rssWeights, weightBytes + peakForwardGrad - rssWeights))
        .put("peak_resets", peakResets)
        .put("javacpp_physical_mib", Memory.mib(Memory.physicalBytes()))
        .put("javacpp_total_mib", Memory.mib(Memory.javacppTotalBytes()))
        .put("rss_step20_mib", rssAt[0] == 0 ? null : Memory.mib(rssAt[0]))
        .put("rss_last_mib", Memory.mib(rssAt[1]))
        .put("rss_growth_pct", rssAt[0] == 0 ? null : 100.0 * (rssAt[1] - rssAt[0]) / rssAt[0])
        .put("rss_growth_mib", rssAt[0] == 0 ? null : Memory.mib(rssAt[1] - rssAt[0]))
        .put("jvm_args", String.join(" ", java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()))
        .put("loss_first", losses.get(0))
        .put("loss_last", result.lastLoss())
        .put("generate_tokens", o.generate())
        .put("generate_tokens_per_s", generateTokensPerS)
        .put("load_average", Machine.loadAverage());

    Table t = new Table("figure", "value");
    t.row("step time median / min / max", String.format(Locale.ROOT, "%.1f / %.1f / %.1f ms", st.median(), st.min(), st.max()));
    t.row("CPU time per step (all threads), median", String.format(Locale.ROOT, "%.1f ms", Stats.of(cpuMs).median()));
    t.row("tokens/s", tokens / (st.median() / 1e3));
    t.row("GFLOP per step (fwd + bwd + recomputed fwd)", String.format(Locale.ROOT,
        "%.2f (%.2f + %.2f + %.2f; attention %.2f, adapter %.3f)", (flops.total() + recompute) / 1e9, flops.forward() / 1e9,
        flops.backward() / 1e9, recompute / 1e9, flops.attention() / 1e9, flops.adapter() / 1e9));
    t.row("achieved GFLOP/s", gflops);
    t.row("matmul peak GFLOP/s (" + o.dtype().name().toLowerCase(Locale.ROOT) + ", " + threads + " threads, "
        + Engine.blasThreads() + " BLAS)", peakDtype);
    t.row("utilisation", String.format(Locale.ROOT, "%.1f%%", 100 * utilisation));
    t.row("f32 peak with " + threads + " BLAS threads; utilisation of it", String.format(Locale.ROOT, "%.0f GFLOP/s; %.1f%%",
        peakF32AllThreads, 100 * gflops / peakF32AllThreads));
    t.row("RSS: before the model / with weights (weights alone)", mibs(rssBase) + " / " + mibs(rssWeights)
        + " (" + mibs(weightBytes) + ")");
    t.row("peak above the weights: forward (no grad) / forward (grad) / training", mibs(peakForward - rssWeights)
        + " / " + mibs(peakForwardGrad - rssWeights) + " / " + mibs(peakTrain - rssWeights));
    t.row("training memory over forward (weights + above)", String.format(Locale.ROOT, "%.2fx no-grad, %.2fx grad",
        ratio(weightBytes + peakTrain - rssWeights, weightBytes + peakForward - rssWeights),
        ratio(weightBytes + peakTrain - rssWeights, weightBytes + peakForwardGrad - rssWeights)));
    t.row("peak RSS of the process", mibs(peakAll));
    t.row("JavaCPP physical / allocated", mibs(Memory.physicalBytes()) + " / " + mibs(Memory.javacppTotalBytes()));
    t.row("RSS growth step " + RSS_FROM_STEP + " -> " + total, rssAt[0] == 0 ? "- (fewer than 21 steps)"
        : String.format(Locale.ROOT, "%s -> %s (%+.2f%%)", mibs(rssAt[0]), mibs(rssAt[1]),
            100.0 * (rssAt[1] - rssAt[0]) / rssAt[0]));
    t.row("loss first -> last", String.format(Locale.ROOT, "%.4f -> %.4f", losses.get(0), result.lastLoss()));
    if (generateTokensPerS != null) {
      t.row("greedy generation tokens/s", generateTokensPerS);
    }
    r.table(t);
    r.note("trainable parameters: " + String.format(Locale.ROOT, "%,d", trainable) + "; threads: " + threads
        + (peakResets ? "" : "; peak RSS could not be reset per phase (process peak shown)"));
    return r;
  }

  private static double ratio(long a, long b) {
    return b <= 0 ? Double.NaN : (double) a / b;
  }

  private static String mibs(long bytes) {
    return String.format(Locale.ROOT, "%,.0f MiB", bytes / (1024.0 * 1024.0));
  }
}
