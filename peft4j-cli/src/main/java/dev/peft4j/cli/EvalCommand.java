package dev.peft4j.cli;

import dev.peft4j.data.Dataset;
import dev.peft4j.data.DatasetFormat;
import dev.peft4j.data.DataLoader;
import dev.peft4j.data.ExampleTokenizer;
import dev.peft4j.data.LabelSet;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.model.SequenceClassifier;
import dev.peft4j.text.Tokenizer;
import dev.peft4j.train.CausalLmObjective;
import dev.peft4j.train.ClassificationObjective;
import dev.peft4j.train.DataLoaderSource;
import dev.peft4j.train.EvalResult;
import dev.peft4j.train.Evaluation;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code peft4j eval}: loss and perplexity (and accuracy for classification) of a model, with or without an adapter. */
@Command(name = "eval", description = "Evaluate a model (and adapter) on a dataset.")
final class EvalCommand implements Callable<Integer> {
  @Mixin CommonOptions common;

  @Mixin AdapterOption adapterOption;

  @Option(names = "--data", required = true, paramLabel = "FILE", description = "Evaluation data (JSONL or CSV).")
  Path data;

  @Option(names = "--format", defaultValue = "auto", paramLabel = "FORMAT") String format;
  @Option(names = "--batch-size", defaultValue = "16") int batchSize;
  @Option(names = "--max-length", defaultValue = "256") int maxLength;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    Path modelDir = common.modelDir();
    PretrainedModel model = ModelSetup.load(modelDir, adapterOption.dir(), common.loadOptions());
    Dataset dataset = Datasets.read(data, format, false);
    boolean classifier = model instanceof SequenceClassifier;
    DatasetFormat dataFormat = dataset.format().orElseThrow();
    if (classifier != (dataFormat == DatasetFormat.CLASSIFICATION)) {
      throw new IllegalArgumentException(classifier
          ? model.architecture() + " is a classifier: evaluate it on classification data ({\"text\", \"label\"}), not "
              + dataFormat.name().toLowerCase(Locale.ROOT) + " data in " + data
          : data + " holds classification data, which needs a classifier (the model, or the adapter, trained on such"
              + " data); " + model.architecture() + " is not one");
    }
    try (Tokenizer tokenizer = Tokenizer.load(modelDir)) {
      LabelSet labels = classifier ? LabelSet.of(((SequenceClassifier) model).labels()) : null;
      ExampleTokenizer.Builder encoderBuilder = ExampleTokenizer.builder(tokenizer).maxLength(maxLength);
      ExampleTokenizer encoder = (labels == null ? encoderBuilder : encoderBuilder.labels(labels)).build();
      DataLoaderSource source = new DataLoaderSource(DataLoader.builder(encoder.encodeAll(dataset))
          .batchSize(batchSize).padIdFrom(tokenizer).shuffle(false).build());
      EvalResult r = Evaluation.run(labels == null
          ? CausalLmObjective.forEvaluation(causal(model))
          : ClassificationObjective.forEvaluation((SequenceClassifier) model), source, 0);
      PrintWriter out = spec.commandLine().getOut();
      out.printf(Locale.ROOT, "examples %d  loss %.4f  perplexity %.3f%s%n", dataset.size(), r.loss(), r.perplexity(),
          r.accuracy().isPresent() ? String.format(Locale.ROOT, "  accuracy %.2f%%", 100 * r.accuracy().getAsDouble()) : "");
      out.flush();
    }
    return 0;
  }

  private static dev.peft4j.model.CausalLm causal(PretrainedModel model) {
    if (!(model instanceof dev.peft4j.model.CausalLm)) {
      throw new IllegalArgumentException(model.architecture() + " is not a causal LM; evaluate it with classification data and its adapter");
    }
    return (dev.peft4j.model.CausalLm) model;
  }
}
