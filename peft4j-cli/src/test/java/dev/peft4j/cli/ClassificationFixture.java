package dev.peft4j.cli;

import dev.peft4j.generate.ByteTokenizer;
import dev.peft4j.testing.TinyCheckpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** A tiny BERT over the byte tokenizer and a classification task it can learn from the tokens alone. */
final class ClassificationFixture {
  private ClassificationFixture() {}

  /** A tiny BERT model directory (config, weights, tokenizer) at {@code dir}; {@code pooler} keeps BERT's pooler. */
  static Path bert(Path dir, boolean pooler) throws IOException {
    TinyCheckpoint checkpoint = TinyCheckpoint.bert().config("vocab_size", ByteTokenizer.VOCAB);
    if (!pooler) {
      checkpoint.weights().keySet().removeIf(k -> k.startsWith("pooler."));
      checkpoint.shapes().keySet().removeIf(k -> k.startsWith("pooler."));
    }
    checkpoint.writeTo(dir);
    ByteTokenizer.create(dir).close();
    return dir;
  }

  /** The tiny BERT (no pooler) with 32 training and 16 evaluation examples, written under {@code dir}. */
  static Task task(Path dir) throws IOException {
    return new Task(bert(dir.resolve("model"), false), sentiment(dir.resolve("train.jsonl"), 32),
        sentiment(dir.resolve("eval.jsonl"), 16));
  }

  /** A model directory with training and evaluation data for it. */
  record Task(Path model, Path train, Path eval) {
    /**
     * Arguments of {@code train} on this task, evaluated, with [CLS] pooling, one epoch, no progress
     * bar, into {@code out}; then {@code options} (the method and its settings).
     */
    String[] trainArguments(Path out, String... options) {
      List<String> args = new ArrayList<>(List.of("train", "--model", model.toString(), "--data", train.toString(),
          "--eval-data", eval.toString(), "--pooling", "cls", "--epochs", "1", "--no-progress", "--output", out.toString()));
      args.addAll(List.of(options));
      return args.toArray(String[]::new);
    }
  }

  /** {@code count} lines: "aaaa..." is positive, "zzzz..." negative. */
  static Path sentiment(Path file, int count) throws IOException {
    Random random = new Random(file.getFileName().toString().hashCode());
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      boolean positive = i % 2 == 0;
      String text = (positive ? "a" : "z").repeat(3 + random.nextInt(5));
      lines.add("{\"text\": \"" + text + "\", \"label\": \"" + (positive ? "positive" : "negative") + "\"}");
    }
    return Files.write(file, lines);
  }
}
