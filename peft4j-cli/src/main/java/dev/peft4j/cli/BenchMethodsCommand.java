package dev.peft4j.cli;

import dev.peft4j.bench.MarkedSection;
import dev.peft4j.bench.MethodsBench;
import dev.peft4j.bench.MethodsResult;
import dev.peft4j.peft.TaskType;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code peft4j bench methods}: the generated methods table of docs/METHODS.md. */
@Command(name = "methods", description = {"The untrained model, full fine-tuning and every PEFT method that applies"
    + " to BERT, trained on the README's classification example: trainable parameters, held-out accuracy before and"
    + " after, median step time and its ratio to full fine-tuning.",
    "--write FILE replaces the section between <!-- methods-table:begin --> and <!-- methods-table:end -->."})
final class BenchMethodsCommand implements Callable<Integer> {
  /** The section of docs/METHODS.md the table fills. */
  static final String SECTION = "methods-table";

  /**
   * Every compared method as the {@code peft4j train} arguments it is trained with: the one place
   * their hyperparameters are set. Prompt tuning and P-tuning train only a few vectors and want a
   * larger learning rate, as do (IA)³ and VeRA, which train only scaling vectors; full fine-tuning moves every weight and wants a small one (tuned on the
   * README example: 5e-5 reached 80.0% in its 150 steps, 2e-4 85.6%).
   */
  static final List<String> TABLE = List.of(
      "--method full --lr 2e-4",
      "--method lora --r 8 --alpha 16 --lr 2e-3",
      "--method lora --r 8 --alpha 16 --dora --lr 2e-3",
      "--method loha --r 8 --alpha 16 --lr 5e-3",
      "--method ia3 --lr 3e-2",
      "--method vera --lr 3e-2",
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

  /** One row of {@link #TABLE} parsed by the options {@code peft4j train} uses (and its defaults). */
  static final class Row {
    @Mixin MethodOptions method;
    @Mixin OptimizerOptions optimizer;
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
      OptimizerOptions opt = row.optimizer;
      out.add(m.fullFineTuning() ? MethodsBench.Variant.full(m.method, arguments, opt.lr, opt::configure)
          : new MethodsBench.Variant(m.method, arguments, opt.lr, opt::configure, model -> m.build(TaskType.SEQ_CLS,
              List.of("classifier"), model.sourceName(), null, dev.peft4j.peft.HookSites.of(model).layers().size())));
    }
    List<String> unknown = only == null ? List.of()
        : only.stream().filter(name -> out.stream().noneMatch(v -> v.name().equals(name))).toList();
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException("--methods " + unknown + " not in the table (" + TABLE.stream()
          .map(a -> a.split(" ")[1]).distinct().collect(java.util.stream.Collectors.joining(", ")) + ")");
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
