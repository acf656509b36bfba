package dev.peft4j.cli;

import dev.peft4j.bench.InferBench;
import dev.peft4j.bench.InferVariant;
import dev.peft4j.bench.LoadBench;
import dev.peft4j.bench.MarkedSection;
import dev.peft4j.bench.MethodsBench;
import dev.peft4j.bench.MethodsResult;
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
        BenchCommand.Load.class, BenchCommand.Methods.class, BenchCommand.Jmh.class, BenchCommand.ReportCommand.class})
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
      Report r = TrainBench.run(o, method.method, config);
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
    @Option(names = "--variants", defaultValue = "all", description = "Comma-separated variants (base is always included): all, lora, lora-merged, lora-mixed4 (--batch >= 4),"
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

  @Command(name = "methods", description = {"The untrained model, full fine-tuning and every PEFT method that applies"
      + " to BERT, trained on the README's classification example: trainable parameters, held-out accuracy before and"
      + " after, median step time and its ratio to full fine-tuning.",
      "--write FILE replaces the section between <!-- methods-table:begin --> and <!-- methods-table:end -->."})
  static final class Methods implements Callable<Integer> {
    /** The section of docs/METHODS.md the table fills. */
    static final String SECTION = "methods-table";

    /**
     * Every compared method as the {@code peft4j train} arguments it is trained with: the one place
     * their hyperparameters are set. Prompt tuning and P-tuning train only a few vectors and want a
     * larger learning rate; full fine-tuning moves every weight and wants a small one (tuned on the
     * README example: 5e-5 reached 80.0% in its 150 steps, 2e-4 85.6%).
     */
    static final List<String> TABLE = List.of(
        "--method full --lr 2e-4",
        "--method lora --r 8 --alpha 16 --lr 2e-3",
        "--method houlsby --lr 2e-3",
        "--method pfeiffer --lr 2e-3",
        "--method parallel --lr 2e-3",
        "--method scaled-parallel --lr 2e-3",
        "--method mh-parallel --lr 2e-3",
        "--method prefix --lr 5e-3",
        "--method prompt --lr 3e-2",
        "--method p-tuning --lr 5e-3",
        "--method mam --lr 2e-3");

    @Option(names = "--model", defaultValue = "target/minilm", paramLabel = "DIR",
        description = "A BERT-family model directory (default ${DEFAULT-VALUE}, made by import-onnx --minilm).") Path model;
    @Option(names = "--data", defaultValue = "examples/sentiment/train.jsonl", paramLabel = "FILE",
        description = "Training data, classification JSONL (default ${DEFAULT-VALUE}).") Path data;
    @Option(names = "--eval-data", defaultValue = "examples/sentiment/eval.jsonl", paramLabel = "FILE",
        description = "Held-out data (default ${DEFAULT-VALUE}).") Path evalData;
    @Option(names = "--epochs", defaultValue = "3", description = "Epochs per method (default ${DEFAULT-VALUE}).") int epochs;
    @Option(names = "--batch-size", defaultValue = "8", description = "Rows per step (default ${DEFAULT-VALUE}).") int batchSize;
    @Option(names = "--max-length", defaultValue = "256", description = "Tokens per example (default ${DEFAULT-VALUE}).") int maxLength;
    @Option(names = "--seed", defaultValue = "42") long seed;
    @Option(names = "--methods", split = ",", paramLabel = "NAME",
        description = "Only these methods (default: every row of the table).") List<String> only;
    @Option(names = "--json", description = "Print one JSON object per row instead of a table.") boolean json;
    @Option(names = "--write", paramLabel = "FILE",
        description = "Replace the marked section of this Markdown file (docs/METHODS.md) with the generated table.") Path write;

    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    /** One row of {@link #TABLE} parsed by the options {@code peft4j train} uses. */
    static final class Row {
      @Mixin MethodOptions method;
      @Option(names = "--lr", required = true) double lr;
    }

    /** The rows of {@link #TABLE} (those named by {@code only}, if given) as bench variants. */
    static List<MethodsBench.Variant> variants(List<String> only) {
      List<MethodsBench.Variant> out = new java.util.ArrayList<>();
      for (String arguments : TABLE) {
        Row row = new Row();
        new picocli.CommandLine(row).parseArgs(arguments.split(" "));
        MethodOptions m = row.method;
        if (only != null && !only.contains(m.method)) {
          continue;
        }
        out.add(m.fullFineTuning() ? MethodsBench.Variant.full(m.method, arguments, row.lr)
            : new MethodsBench.Variant(m.method, arguments, row.lr, model -> m.build(TaskType.SEQ_CLS,
                List.of("classifier"), model.sourceName(), null, dev.peft4j.peft.HookSites.of(model).layers().size())));
      }
      if (only != null && out.size() != only.size()) {
        List<String> unknown = new java.util.ArrayList<>(only);
        out.forEach(v -> unknown.remove(v.name()));
        throw new IllegalArgumentException("--methods " + unknown + " not in the table (" + TABLE.stream()
            .map(a -> a.split(" ")[1]).collect(java.util.stream.Collectors.joining(", ")) + ")");
      }
      return out;
    }

    @Override
    public Integer call() throws Exception {
      List<MethodsBench.Variant> variants = variants(only);
      if (write != null) {
        MarkedSection.replace(java.nio.file.Files.readString(write), SECTION, ""); // the markers are checked before the training
      }
      MethodsResult result = MethodsBench.run(new MethodsBench.Options(model, data, evalData, epochs, batchSize,
          maxLength, seed), variants, row -> System.err.printf(java.util.Locale.ROOT, "%s: accuracy %.1f%% -> %s%n",
              row.method(), 100 * row.accuracyBefore(), row.accuracyAfter() == null ? "-"
                  : String.format(java.util.Locale.ROOT, "%.1f%%", 100 * row.accuracyAfter())));
      if (json) {
        result.rowReports().forEach(r -> r.print(System.out, true));
      } else {
        result.summary().print(System.out, false);
      }
      if (write != null) {
        List<String> args = spec.commandLine().getParseResult().originalArgs();
        String command = "peft4j bench methods " + String.join(" ", args.subList(args.indexOf("methods") + 1, args.size()));
        MarkedSection.replace(write, SECTION, result.markdown(command.strip()));
        System.out.println("wrote " + write);
      }
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
