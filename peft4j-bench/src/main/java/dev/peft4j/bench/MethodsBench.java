package dev.peft4j.bench;

import dev.peft4j.data.Batch;
import dev.peft4j.data.DataLoader;
import dev.peft4j.data.Dataset;
import dev.peft4j.data.EncodedExample;
import dev.peft4j.data.ExampleTokenizer;
import dev.peft4j.data.JsonlDataset;
import dev.peft4j.data.LabelSet;
import dev.peft4j.data.ReadOptions;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.SequenceClassifier;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.tensor.Engine;
import dev.peft4j.text.Tokenizer;
import dev.peft4j.train.BatchSource;
import dev.peft4j.train.ClassificationObjective;
import dev.peft4j.train.DataLoaderSource;
import dev.peft4j.train.Evaluation;
import dev.peft4j.train.StepMetrics;
import dev.peft4j.train.Trainer;
import dev.peft4j.train.TrainingListener;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * {@code bench methods}: every PEFT method, full fine-tuning and the untrained model on one
 * classification task (the README's sentiment example by default), each trained from the same
 * seed with the real {@link Trainer}: trainable parameters, held-out accuracy before and after,
 * and the median wall time of a training step.
 *
 * <p>Each row's optimizer, schedule and clipping come from its {@link Variant#optimization}
 * ({@code peft4j train}'s own options); the model has mean pooling and a new head initialised from
 * the seed (the same head for every row, so the untrained row is every method's starting point
 * up to the method's own initialisation). No evaluation runs during training.
 */
public final class MethodsBench {
  /** The name of the row that trains nothing. */
  public static final String UNTRAINED = "untrained";

  private MethodsBench() {}

  /**
   * @param modelDir a BERT-family encoder directory (config.json, model.safetensors, tokenizer.json)
   * @param trainData, evalData classification JSONL ({@code text}, {@code label})
   * @param epochs passes over the training data
   * @param batchSize rows per step
   * @param maxLength tokens per example (longer ones are truncated)
   * @param seed the head's and adapters' initialisation, and the data order
   */
  public record Options(Path modelDir, Path trainData, Path evalData, int epochs, int batchSize, int maxLength,
      long seed) {
    public Options {
      if (epochs < 1 || batchSize < 1 || maxLength < 2) {
        throw new IllegalArgumentException(String.format(Locale.ROOT,
            "need --epochs >= 1, --batch-size >= 1, --max-length >= 2; got %d, %d, %d", epochs, batchSize, maxLength));
      }
    }
  }

  /**
   * One row of the comparison.
   *
   * @param name the method's name, as {@code peft4j train --method} takes it
   * @param arguments the {@code peft4j train} arguments the row stands for (shown in the table)
   * @param lr the peak learning rate (reported; {@code optimization} applies it)
   * @param optimization sets the trainer's optimizer, schedule and clipping for a run of the given steps
   * @param config the method's config for the model it is attached to; null for full fine-tuning
   *     (use {@link #full})
   */
  public record Variant(String name, String arguments, double lr, Optimization optimization,
      Function<SequenceClassifier, PeftConfig> config) {
    /** Full fine-tuning: every weight trains, no adapter. */
    public static Variant full(String name, String arguments, double lr, Optimization optimization) {
      return new Variant(name, arguments, lr, optimization, null);
    }

    public boolean fullFineTuning() {
      return config == null;
    }
  }

  /** Sets a trainer's optimizer, learning-rate schedule and clipping for a run of {@code steps} steps. */
  @FunctionalInterface
  public interface Optimization {
    Trainer.Builder<Batch> configure(Trainer.Builder<Batch> builder, long steps);
  }

  /**
   * What one row measured; the training figures are null for the untrained row.
   *
   * @param trainable trainable parameters while training (a prefix MLP or a P-tuning encoder included)
   * @param accuracyBefore held-out accuracy of the model as set up, before any step
   * @param stepMs median wall time of one optimizer step
   * @param fullFineTuning whether every weight trained (the step-time reference)
   */
  public record Row(String method, String arguments, Double lr, Long trainable, double accuracyBefore,
      Double accuracyAfter, Double stepMs, Long steps, Double lossLast, boolean fullFineTuning) {}

  /**
   * Runs the untrained row and then every variant, in order.
   *
   * @param onRow called with each row as soon as it is measured (progress)
   */
  public static MethodsResult run(Options o, List<Variant> variants, Consumer<Row> onRow) throws IOException {
    Engine.ensureLoaded();
    ReadOptions strict = ReadOptions.STRICT;
    Dataset train = JsonlDataset.read(o.trainData(), strict);
    Dataset eval = JsonlDataset.read(o.evalData(), strict);
    LabelSet labels = LabelSet.fromDataset(train);
    List<Row> rows = new ArrayList<>();
    long baseParameters;
    try (Tokenizer tokenizer = Tokenizer.load(o.modelDir())) {
      ExampleTokenizer encoder = ExampleTokenizer.builder(tokenizer).maxLength(o.maxLength()).labels(labels).build();
      List<EncodedExample> trainExamples = encoder.encodeAll(train);
      List<EncodedExample> evalExamples = encoder.encodeAll(eval);
      BatchSource<Batch> trainBatches = batches(trainExamples, tokenizer, o, true);
      BatchSource<Batch> evalBatches = batches(evalExamples, tokenizer, o, false);

      SequenceClassifier untrained = classifier(o, labels);
      baseParameters = untrained.parameterCount();
      rows.add(new Row(UNTRAINED, "", null, null,
          accuracy(ClassificationObjective.forEvaluation(untrained), evalBatches), null, null, null, null, false));
      onRow.accept(rows.get(0));
      for (Variant v : variants) {
        rows.add(train(o, v, classifier(o, labels), trainBatches, evalBatches));
        onRow.accept(rows.get(rows.size() - 1));
      }
    }
    return new MethodsResult(o, train.size(), eval.size(), baseParameters, rows, Machine.describe(),
        java.time.OffsetDateTime.now(java.time.ZoneOffset.UTC).truncatedTo(java.time.temporal.ChronoUnit.MINUTES).toString());
  }

  /** The encoder with a new head, initialised from the seed (as {@code peft4j train} does). */
  private static SequenceClassifier classifier(Options o, LabelSet labels) throws IOException {
    Engine.manualSeed(o.seed());
    return new SequenceClassifier(AutoModel.load(o.modelDir()), "bert", labels.names(), SequenceClassifier.Pooling.MEAN);
  }

  private static Row train(Options o, Variant v, SequenceClassifier model, BatchSource<Batch> trainBatches,
      BatchSource<Batch> evalBatches) throws IOException {
    ClassificationObjective objective;
    long trainable;
    if (v.fullFineTuning()) {
      objective = ClassificationObjective.allWeights(model);
      trainable = model.parameterCount();
    } else {
      PeftModel peft = Peft.wrap(model, v.config().apply(model));
      objective = new ClassificationObjective(peft);
      trainable = peft.trainableParameterCount();
    }
    double before = accuracy(objective, evalBatches);
    long steps = (long) trainBatches.batchesPerEpoch() * o.epochs();
    List<Double> stepMs = new ArrayList<>();
    double[] lastLoss = {Double.NaN};
    long[] last = {0};
    TrainingListener timer = new TrainingListener() {
      @Override
      public void onStep(StepMetrics m) {
        long now = System.nanoTime();
        stepMs.add((now - last[0]) / 1e6);
        lastLoss[0] = m.loss();
        last[0] = System.nanoTime();
      }
    };
    Trainer<Batch> trainer = v.optimization().configure(Trainer.builder(objective, trainBatches), steps)
        .maxSteps(steps)
        .seed(o.seed())
        .logEvery(Integer.MAX_VALUE)
        .listener(timer)
        .build();
    last[0] = System.nanoTime();
    trainer.train();
    double after = accuracy(objective, evalBatches);
    return new Row(v.name(), v.arguments(), v.lr(), trainable, before, after, Stats.of(stepMs).median(), steps,
        lastLoss[0], v.fullFineTuning());
  }

  private static double accuracy(ClassificationObjective objective, BatchSource<Batch> evalBatches) {
    return Evaluation.run(objective, evalBatches, 0).accuracy().orElseThrow();
  }

  private static BatchSource<Batch> batches(List<EncodedExample> examples, Tokenizer tokenizer, Options o,
      boolean shuffle) {
    return new DataLoaderSource(DataLoader.builder(examples).batchSize(o.batchSize()).padIdFrom(tokenizer)
        .shuffle(shuffle).seed(o.seed()).build());
  }
}
