package dev.peft4j.cli;

import dev.peft4j.data.Batch;
import dev.peft4j.data.DataLoader;
import dev.peft4j.data.Dataset;
import dev.peft4j.data.DatasetFormat;
import dev.peft4j.data.EncodedExample;
import dev.peft4j.data.ExampleTokenizer;
import dev.peft4j.data.LabelSet;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.Encoder;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.model.SequenceClassifier;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.peft.TaskType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.text.Tokenizer;
import dev.peft4j.train.BatchSource;
import dev.peft4j.train.CausalLmObjective;
import dev.peft4j.train.ClassificationObjective;
import dev.peft4j.train.DataLoaderSource;
import dev.peft4j.train.EvalResult;
import dev.peft4j.train.Evaluation;
import dev.peft4j.train.Trainer;
import dev.peft4j.train.TrainingObjective;
import dev.peft4j.train.TrainingResult;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code peft4j train}: fine-tunes a frozen model with a PEFT method on a JSONL dataset, evaluates
 * before and after, and saves the adapter (Hugging Face PEFT format), {@code metrics.jsonl} and a
 * loss curve to {@code --output}. With {@code --method full} every weight trains instead and the
 * whole model is saved as a model directory ({@link ModelSetup#saveFullModel}).
 */
@Command(name = "train", description = {"Fine-tune a model with a PEFT method.",
    "Options may also come from a YAML file: --config run.yaml (command-line options win)."})
final class TrainCommand implements Callable<Integer> {
  @Mixin CommonOptions common;

  @Option(names = "--data", required = true, paramLabel = "FILE", description = "Training data (JSONL).")
  Path data;

  @Option(names = "--eval-data", paramLabel = "FILE", description = "Held-out data (JSONL), evaluated before, during and after training.")
  Path evalData;

  @Option(names = "--format", defaultValue = "auto", paramLabel = "FORMAT",
      description = "text, prompt-completion, alpaca, chat, classification, or auto (from the first line's keys).")
  String format;

  @Mixin MethodOptions methodOptions;

  @Option(names = "--epochs", defaultValue = "3") int epochs;
  @Option(names = "--max-steps", defaultValue = "0", description = "Optimizer steps; overrides --epochs when > 0.") long maxSteps;
  @Option(names = "--batch-size", defaultValue = "8") int batchSize;
  @Option(names = "--grad-accum", defaultValue = "1", description = "Micro-batches per optimizer step.") int gradAccum;
  @Mixin OptimizerOptions optimizer;
  @Option(names = "--eval-every", defaultValue = "0", description = "Evaluate every N steps (0: once per epoch).") int evalEvery;
  @Option(names = "--early-stopping", defaultValue = "0", description = "Stop after N evaluations without improvement (0: off).") int patience;
  @Option(names = "--save-every", defaultValue = "0", description = "Checkpoint every N steps (0: once per epoch).") int saveEvery;
  @Option(names = "--max-length", defaultValue = "256", description = "Tokens per example (longer ones are truncated).") int maxLength;
  @Option(names = "--pooling", defaultValue = "mean", description = "Classification pooling: mean, cls or pooler.") String pooling;
  @Option(names = "--seed", defaultValue = "42") long seed;
  @Option(names = "--gradient-checkpointing",
      description = "Recompute each layer in the backward pass instead of keeping its activations (less memory, slower steps).")
  boolean gradientCheckpointing;
  @Option(names = "--skip-malformed", description = "Skip and count malformed data lines instead of failing.") boolean skipMalformed;
  @Option(names = "--resume", description = "Continue from the newest checkpoint in --output.") boolean resume;
  @Option(names = "--no-progress", description = "Print log lines instead of a progress bar.") boolean noProgress;
  @Option(names = "--output", required = true, paramLabel = "DIR", description = "Where the adapter, checkpoints and metrics go.")
  Path output;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    Path modelDir = common.modelDir();
    try (Tokenizer tokenizer = Tokenizer.load(modelDir)) {
      Dataset train = Datasets.read(data, format, skipMalformed);
      Dataset eval = evalData == null ? null : Datasets.read(evalData, format, skipMalformed);
      boolean classification = train.format().orElseThrow() == DatasetFormat.CLASSIFICATION;
      LabelSet labels = classification ? LabelSet.fromDataset(train) : null;
      Engine.manualSeed(seed); // the new head's and the adapter's initialisation
      PretrainedModel model = loadModel(modelDir, labels);
      boolean full = methodOptions.fullFineTuning();
      PeftModel peft = full ? null : Peft.wrap(model, methodOptions.build(classification ? TaskType.SEQ_CLS
          : TaskType.CAUSAL_LM, classification ? List.of("classifier") : null, common.model, tokenizer,
          dev.peft4j.peft.HookSites.of(model).layers().size()));
      out.println(full ? String.format(Locale.ROOT, "trainable params: %,d || all params: %,d || trainable%%: 100.0000"
          + " (full fine-tuning)", model.parameterCount(), model.parameterCount()) : peft.trainableParametersSummary());
      if (gradientCheckpointing) {
        out.println("gradient checkpointing: on (each layer is recomputed in the backward pass)");
      }

      ExampleTokenizer.Builder encoderBuilder = ExampleTokenizer.builder(tokenizer).maxLength(maxLength);
      ExampleTokenizer encoder = (labels == null ? encoderBuilder : encoderBuilder.labels(labels)).build();
      java.util.function.UnaryOperator<EncodedExample> prepare = methodOptions.exampleTransform(); // P-tuning templates
      BatchSource<Batch> trainBatches = loader(encoder.encodeAll(train).stream().map(prepare).toList(), tokenizer, true);
      BatchSource<Batch> evalBatches = eval == null ? null
          : loader(encoder.encodeAll(eval).stream().map(prepare).toList(), tokenizer, false);
      TrainingObjective<Batch> objective = full
          ? (classification ? ClassificationObjective.allWeights((SequenceClassifier) model) : CausalLmObjective.allWeights(model))
          : (classification ? new ClassificationObjective(peft) : new CausalLmObjective(peft));

      if (evalBatches != null) {
        out.println("before training: " + describe(Evaluation.run(objective, evalBatches, 0)));
      }
      long steps = maxSteps > 0 ? maxSteps
          : (long) Math.ceil((double) trainBatches.batchesPerEpoch() * epochs / gradAccum);
      TrainingResult result;
      try (ProgressReporter progress = noProgress ? ProgressReporter.lines(out) : ProgressReporter.bar(steps)) {
        Trainer<Batch> trainer = trainer(objective, trainBatches, evalBatches, steps, progress);
        result = resume ? trainer.trainOrResume() : trainer.train();
      }
      out.printf(Locale.ROOT, "trained %d steps (%s), last loss %.4f%n", result.steps(), result.stopReason(), result.lastLoss());
      if (evalBatches != null) {
        out.println("after training:  " + describe(Evaluation.run(objective, evalBatches, result.steps())));
      }
      if (full) {
        ModelSetup.saveFullModel(model, modelDir, output, head(labels));
        out.println("model saved to " + output + " (use it as --model)");
      } else {
        peft.save(output);
        if (labels != null) {
          head(labels).writeTo(output);
        }
        out.println("adapter saved to " + output);
      }
    }
    out.flush();
    return 0;
  }

  private PretrainedModel loadModel(Path modelDir, LabelSet labels) throws java.io.IOException {
    PretrainedModel base = AutoModel.load(modelDir, common.loadOptions());
    if (labels == null) {
      if (!(base instanceof dev.peft4j.model.CausalLm)) {
        throw new IllegalArgumentException(base.architecture() + " is not a causal LM; language-modelling data needs one");
      }
      return base;
    }
    if (!(base instanceof Encoder) && !(base instanceof SequenceClassifier)) {
      throw new IllegalArgumentException("classification data needs an encoder model (BERT), got " + base.architecture());
    }
    return head(labels).on(base);
  }

  /** The classification head of {@code labels} with {@code --pooling}; null for language modelling. */
  private ClassifierHead head(LabelSet labels) {
    return labels == null ? null : new ClassifierHead(labels.names(), ClassifierHead.parsePooling(pooling));
  }

  private BatchSource<Batch> loader(List<EncodedExample> examples, Tokenizer tokenizer, boolean shuffle) {
    return new DataLoaderSource(DataLoader.builder(examples).batchSize(batchSize).padIdFrom(tokenizer)
        .shuffle(shuffle).seed(seed).build());
  }

  private Trainer<Batch> trainer(TrainingObjective<Batch> objective, BatchSource<Batch> trainBatches,
      BatchSource<Batch> evalBatches, long steps, ProgressReporter progress) {
    int stepsPerEpoch = (int) Math.max(1, trainBatches.batchesPerEpoch() / gradAccum);
    Trainer.Builder<Batch> b = optimizer.configure(Trainer.builder(objective, trainBatches), steps)
        .maxSteps(steps)
        .gradientAccumulation(gradAccum)
        .seed(seed)
        .outputDir(output)
        .checkpointEvery(saveEvery > 0 ? saveEvery : stepsPerEpoch)
        .gradientCheckpointing(gradientCheckpointing)
        .listener(progress);
    if (evalBatches != null) {
      b.evalData(evalBatches).evalEvery(evalEvery > 0 ? evalEvery : stepsPerEpoch);
      if (patience > 0) {
        b.earlyStoppingPatience(patience);
      }
    }
    return b.build();
  }

  private static String describe(EvalResult r) {
    String s = String.format(Locale.ROOT, "loss %.4f, perplexity %.3f", r.loss(), r.perplexity());
    return r.accuracy().isPresent()
        ? String.format(Locale.ROOT, "accuracy %.1f%% (%s)", 100 * r.accuracy().getAsDouble(), s) : s;
  }
}
