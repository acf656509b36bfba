package dev.peft4j.cli;

import dev.peft4j.bench.InferBench;
import dev.peft4j.bench.InferVariant;
import dev.peft4j.bench.LoadBench;
import dev.peft4j.bench.ModelShape;
import dev.peft4j.bench.PerformanceReport;
import dev.peft4j.bench.Report;
import dev.peft4j.bench.ScaleBench;
import dev.peft4j.bench.TrainBench;
import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.TaskType;
import dev.peft4j.tensor.DType;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code peft4j bench}: the benchmark cases of peft4j-bench on random LLaMA-shaped models (see
 * docs/PERFORMANCE.md). Each case prints a table, or with {@code --json} one JSON object per line.
 */
@Command(name = "bench", description = "Benchmarks on random LLaMA-shaped models (docs/PERFORMANCE.md), and the"
    + " methods compared on the README's classification example (docs/METHODS.md).",
    subcommands = {BenchCommand.Train.class, BenchCommand.Infer.class, BenchCommand.Scale.class,
        BenchCommand.Load.class, BenchMethodsCommand.class, BenchCommand.Jmh.class, BenchCommand.ReportCommand.class})
final class BenchCommand {

  /** The model shape options every case shares. */
  static final class ShapeOptions {
    @Option(names = "--preset", paramLabel = "NAME",
        description = "Start from a named shape: default, tiny or tinyllama-1.1b; the options below override it.")
    String preset;

    @Option(names = "--dim", description = "Hidden size.") Integer dim;
    @Option(names = "--layers", description = "Decoder layers.") Integer layers;
    @Option(names = "--heads", description = "Attention heads.") Integer heads;
    @Option(names = "--kv-heads", description = "Key/value heads (grouped-query attention).") Integer kvHeads;
    @Option(names = "--ffn", description = "MLP intermediate size.") Integer ffn;
    @Option(names = "--vocab", description = "Vocabulary size.") Integer vocab;

    ModelShape shape(ModelShape fallback) {
      ModelShape b = preset == null ? fallback : ModelShape.preset(preset);
      return new ModelShape(dim != null ? dim : b.dim(), layers != null ? layers : b.layers(),
          heads != null ? heads : b.heads(), kvHeads != null ? kvHeads : b.kvHeads(),
          ffn != null ? ffn : b.ffn(), vocab != null ? vocab : b.vocab());
    }
  }

  /** Options shared by every case. */
  static final class Common {
    @Option(names = "--json", description = "Print one JSON object per case instead of a table.") boolean json;
    @Option(names = "--dtype", defaultValue = "f32", description = "Weights and compute dtype: f32 or bf16.") String dtype;
    @Option(names = "--seed", defaultValue = "42") long seed;
    @Option(names = "--matmul-precision", defaultValue = "highest", paramLabel = "P",
        description = "f32 matmuls: highest (exact, default), high or medium (bf16 products on CPUs that have them).")
    String matmulPrecision;

    DType computeDType() {
      dev.peft4j.tensor.Engine.setFloat32MatmulPrecision(matmulPrecision);
      DType d = DType.parse(dtype);
      if (!d.isFloatingPoint()) {
        throw new IllegalArgumentException("--dtype must be f32, bf16 or f16, got " + dtype);
      }
      return d;
    }
  }

  @Command(name = "train", description = "Training steps of a PEFT method: step time, tokens/s, GFLOP/s against the"
      + " in-process matmul peak, peak RSS, RSS growth.")
  static final class Train implements Callable<Integer> {
    @Mixin ShapeOptions shape;
    @Mixin Common common;
    @Mixin MethodOptions method;
    @Option(names = "--seq", defaultValue = "256", description = "Tokens per row (default ${DEFAULT-VALUE}).") int seq;
    @Option(names = "--batch", defaultValue = "4", description = "Rows per step (default ${DEFAULT-VALUE}).") int batch;
    @Option(names = "--steps", defaultValue = "40", description = "Timed steps (default ${DEFAULT-VALUE}).") int steps;
    @Option(names = "--warmup", defaultValue = "3", description = "Untimed steps first (default ${DEFAULT-VALUE}).") int warmup;
    @Option(names = "--generate", defaultValue = "0",
        description = "Then generate this many tokens greedily with the Generator (default ${DEFAULT-VALUE}).") int generate;
    @Option(names = "--peak-size", defaultValue = "2048",
        description = "Side of the square matmul that measures the peak (default ${DEFAULT-VALUE}).") int peakSize;
    @Option(names = "--gradient-checkpointing",
        description = "Train with gradient checkpointing (layers recomputed in the backward pass).") boolean gradientCheckpointing;

    @Override
    public Integer call() throws Exception {
      TrainBench.Options o = new TrainBench.Options(shape.shape(ModelShape.DEFAULT), seq, batch,
          common.computeDType(), steps, warmup, generate, common.seed, peakSize, gradientCheckpointing);
      PeftConfig config = method.build(TaskType.CAUSAL_LM, null, "random-" + o.shape().dim(), null, o.shape().layers());
      Report r = TrainBench.run(o, method.label(), config);
      r.print(System.out, common.json);
      return 0;
    }
  }

  @Command(name = "infer", description = "Prefill and decode tokens/s of the base model, LoRA unmerged and merged,"
      + " four LoRAs in one mixed batch, prefix tuning, LLaMA-Adapter and a Houlsby adapter, with the ratio of each to the base.")
  static final class Infer implements Callable<Integer> {
    @Mixin ShapeOptions shape;
    @Mixin Common common;
    @Option(names = "--batch", defaultValue = "1", description = "Rows (default ${DEFAULT-VALUE}).") int batch;
    @Option(names = "--prompt", defaultValue = "128", description = "Prompt tokens per row (default ${DEFAULT-VALUE}).") int prompt;
    @Option(names = "--decode", defaultValue = "32", description = "Decoded tokens per row (default ${DEFAULT-VALUE}).") int decode;
    @Option(names = "--rounds", defaultValue = "10", description = "Counted rounds over all variants (default ${DEFAULT-VALUE}).") int rounds;
    @Option(names = "--variants", defaultValue = "all", description = "Comma-separated variants (base is always included): all, lora, lora-merged, lora-model-dtype, lora-mixed4 (--batch >= 4),"
        + " prefix, llama-adapter, houlsby.") String variants;

    @Override
    public Integer call() {
      InferBench.Options o = new InferBench.Options(shape.shape(ModelShape.DEFAULT), common.computeDType(), batch, prompt,
          decode, rounds, common.seed, InferVariant.select(variants, batch));
      InferBench.run(o).print(System.out, common.json);
      return 0;
    }
  }

  @Command(name = "scale", description = "LoRA step time and peak memory as the sequence grows, for three model sizes"
      + " (or one shape given with the shape options); a table and a PNG plot.")
  static final class Scale implements Callable<Integer> {
    @Mixin ShapeOptions shape;
    @Mixin Common common;
    @Mixin MethodOptions method;
    @Option(names = "--seqs", split = ",", defaultValue = "128,256,512,1024", description = "Sequence lengths (default ${DEFAULT-VALUE}).") List<Integer> seqs;
    @Option(names = "--batch", defaultValue = "1", description = "Rows per step (default ${DEFAULT-VALUE}).") int batch;
    @Option(names = "--steps", defaultValue = "2", description = "Timed steps per point (default ${DEFAULT-VALUE}).") int steps;
    @Option(names = "--warmup", defaultValue = "1", description = "Untimed steps per point (default ${DEFAULT-VALUE}).") int warmup;
    @Option(names = "--plot", defaultValue = "bench-scale.png", description = "PNG to write (default ${DEFAULT-VALUE}).") Path plot;

    @Override
    public Integer call() throws Exception {
      boolean custom = shape.preset != null || shape.dim != null || shape.layers != null || shape.heads != null
          || shape.kvHeads != null || shape.ffn != null || shape.vocab != null;
      Map<String, ModelShape> sizes = custom ? new LinkedHashMap<>(Map.of("custom", shape.shape(ModelShape.DEFAULT)))
          : ScaleBench.DEFAULT_SIZES;
      ScaleBench.Options o = new ScaleBench.Options(sizes, seqs, batch, common.computeDType(), steps, warmup,
          common.seed, plot);
      // one adapted layer (LLaMA-Adapter's default would be every layer, which differs per size)
      ScaleBench.run(o, () -> method.build(TaskType.CAUSAL_LM, null, "random", null, 1)).print(System.out, common.json);
      return 0;
    }
  }

  @Command(name = "load", description = "AutoModel.load of a random ~1 GB f32 checkpoint written for the purpose,"
      + " mapped (zero-copy, the default) and copying, each followed by the first forward (which pays the page"
      + " faults of a mapped load) and a second one; times and RSS.")
  static final class Load implements Callable<Integer> {
    @Mixin ShapeOptions shape;
    @Option(names = "--json", description = "Print one JSON object instead of a table.") boolean json;
    @Option(names = "--reps", defaultValue = "3", description = "Loads of each kind (default ${DEFAULT-VALUE}).") int reps;
    @Option(names = "--dir", description = "Write the checkpoint here and keep it (default: a temporary directory).") Path dir;
    @Option(names = "--seed", defaultValue = "42") long seed;

    @Override
    public Integer call() throws Exception {
      LoadBench.Options o = new LoadBench.Options(shape.shape(LoadBench.ONE_GB), reps, dir, dir != null, seed);
      LoadBench.run(o).print(System.out, json);
      return 0;
    }
  }

  @Command(name = "jmh", description = "JMH micro-benchmarks (LoRA linear, attention with a prefix, a decoder layer with each"
      + " method (LoRA, bottleneck adapter, prefix, LLaMA-Adapter), safetensors load);"
      + " arguments go to JMH, e.g. 'bench jmh -f 1 -wi 2 -i 3 LoraLinear'.")
  static final class Jmh implements Callable<Integer> {
    @picocli.CommandLine.Unmatched
    List<String> args;

    @Override
    public Integer call() throws Exception {
      org.openjdk.jmh.Main.main(args == null ? new String[0] : args.toArray(new String[0]));
      return 0;
    }
  }

  @Command(name = "report", description = "Renders docs/PERFORMANCE.md from the JSON lines of bench runs.")
  static final class ReportCommand implements Callable<Integer> {
    @Option(names = "--input", required = true, split = ",", paramLabel = "FILE", description = "JSON-lines files written by bench --json.") List<Path> inputs;
    @Option(names = "--output", required = true, paramLabel = "FILE", description = "Markdown file to write.") Path output;
    @Option(names = "--command", paramLabel = "TEXT", description = "How the inputs were produced, quoted in the report.") String command;
    @Option(names = "--notes", paramLabel = "FILE", description = "Markdown appended after the generated sections (the analysis).") Path notes;

    @Override
    public Integer call() throws Exception {
      PerformanceReport.write(inputs, output, command, notes);
      System.out.println("wrote " + output);
      return 0;
    }
  }
}
