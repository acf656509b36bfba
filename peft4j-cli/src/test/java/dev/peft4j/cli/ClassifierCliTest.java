package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.generate.ByteTokenizer;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** A classifier saved by transformers ({@code BertForSequenceClassification}) as the base of train, eval and forward. */
class ClassifierCliTest {
  @RegisterExtension final CliCapture cli = new CliCapture();
  @TempDir Path dir;

  @Test
  void trainingOnATransformersClassifierPutsANewHeadOverItsEncoderAndMergesIt() throws Exception {
    Path model = TinyCheckpoint.bert().withClassifier(3).config("vocab_size", ByteTokenizer.VOCAB)
        .writeTo(dir.resolve("model"));
    ByteTokenizer.create(model).close();
    Path train = ClassificationFixture.sentiment(dir.resolve("train.jsonl"), 32);
    Path eval = ClassificationFixture.sentiment(dir.resolve("eval.jsonl"), 16);
    Path out = dir.resolve("out");

    assertThat(cli.run("train", "--model", model.toString(), "--data", train.toString(), "--eval-data", eval.toString(),
        "--pooling", "pooler", "--method", "lora", "--r", "4", "--epochs", "1", "--no-progress",
        "--output", out.toString())).as(cli.err()).isZero();
    // LoRA r 4 on query and value of 2 layers, 4·(32 + 32) each; the data's two labels, not the
    // checkpoint's three LABEL_i: a new 2 × 32 head (+ bias) replaces the checkpoint's
    assertThat(cli.out()).contains(String.format("trainable params: %,d ||", 2 * 2 * 4 * (32 + 32) + 2 * 32 + 2));
    JsonNode head = new ObjectMapper().readTree(out.resolve(ClassifierHead.FILE).toFile());
    assertThat(head.get("labels").toString()).isEqualTo("[\"negative\",\"positive\"]");

    assertThat(cli.run("eval", "--model", model.toString(), "--adapter", out.toString(), "--data", eval.toString()))
        .as(cli.err()).isZero();
    String withAdapter = cli.out();
    assertThat(withAdapter).contains("accuracy");
    // merged, the checkpoint is a classifier of the data's labels, with the same outputs
    Path merged = dir.resolve("merged");
    assertThat(cli.run("merge", "--model", model.toString(), "--adapter", out.toString(), "--output", merged.toString()))
        .as(cli.err()).isZero();
    assertThat(cli.run("eval", "--model", merged.toString(), "--data", eval.toString())).as(cli.err()).isZero();
    assertThat(cli.out()).isEqualTo(withAdapter);
    JsonNode config = new ObjectMapper().readTree(merged.resolve("config.json").toFile());
    assertThat(config.get("id2label").toString()).as("transformers reads the head's size from it")
        .isEqualTo("{\"0\":\"negative\",\"1\":\"positive\"}");
    // language-modelling data for a classifier is a clear error (it was libtorch's "multi-target not supported")
    Path text = Files.writeString(dir.resolve("text.jsonl"), "{\"text\": \"aaa\"}\n");
    assertThat(cli.run("eval", "--model", model.toString(), "--adapter", out.toString(), "--data", text.toString()))
        .isEqualTo(Peft4j.ERROR_EXIT);
    assertThat(cli.err()).contains("is a classifier: evaluate it on classification data").contains("not text data");
    assertThat(cli.run("forward", "--model", model.toString(), "--adapter", out.toString(),
        "--input-ids", "97,97,97;122,122", "--json")).as(cli.err()).isZero();
    assertThat(new ObjectMapper().readTree(cli.out()).get("logits"))
        .hasSize(2).allSatisfy(row -> assertThat(row).hasSize(2));
  }
}
