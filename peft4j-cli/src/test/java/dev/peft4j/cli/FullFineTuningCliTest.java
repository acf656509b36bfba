package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.generate.ByteTokenizer;
import dev.peft4j.generate.TestModels;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code train --method full}: every weight trains; the output is a model directory that eval loads as --model. */
class FullFineTuningCliTest {
  @RegisterExtension final CliCapture cli = new CliCapture();
  @TempDir Path dir;

  @Test
  void fullFineTuningSavesAModelThatEvaluatesAsTrained() throws Exception {
    ClassificationFixture.Task task = ClassificationFixture.task(dir);
    Path out = dir.resolve("full");
    assertThat(cli.run(task.trainArguments(out, "--method", "full", "--lr", "1e-3"))).as(cli.err()).isZero();
    assertThat(cli.out()).contains("trainable%: 100.0000 (full fine-tuning)").contains("model saved to " + out);
    assertThat(out.resolve("config.json")).exists();
    assertThat(out.resolve("model.safetensors")).exists();
    assertThat(out.resolve("tokenizer.json")).exists();
    assertThat(Files.readString(out.resolve(ClassifierHead.FILE))).contains("\"pooling\": \"cls\"");
    assertThat(out.resolve("adapter_config.json")).doesNotExist();
    Matcher trained = Pattern.compile("after training:  accuracy ([\\d.]+)% \\(loss ([\\d.]+)").matcher(cli.out());
    assertThat(trained.find()).as(cli.out()).isTrue();

    // the saved directory is a model: same accuracy and loss as at the end of training (so the same pooling)
    assertThat(cli.run("eval", "--model", out.toString(), "--data", task.eval().toString())).as(cli.err()).isZero();
    assertThat(cli.out()).contains(String.format("loss %s", trained.group(2)))
        .contains(String.format("accuracy %.2f%%", Double.parseDouble(trained.group(1))));
  }

  @Test
  void aFullyFineTunedLanguageModelIsAModelDirectory() throws Exception {
    Path model = dir.resolve("llama");
    TestModels.lively(TinyCheckpoint.llama().config("vocab_size", ByteTokenizer.VOCAB)).writeTo(model);
    ByteTokenizer.create(model).close();
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      lines.add("{\"text\": \"abcdefgh" + "ijklmnop".substring(0, 1 + i % 7) + "\"}");
    }
    Path text = Files.write(dir.resolve("text.jsonl"), lines);
    Path out = dir.resolve("full-lm");
    assertThat(cli.run("train", "--model", model.toString(), "--data", text.toString(), "--method", "full",
        "--max-steps", "3", "--lr", "1e-2", "--no-progress", "--output", out.toString())).as(cli.err()).isZero();
    assertThat(out.resolve(ClassifierHead.FILE)).doesNotExist();
    assertThat(cli.run("forward", "--model", model.toString(), "--input-ids", "97,98,99", "--json")).as(cli.err()).isZero();
    String base = cli.out();
    assertThat(cli.run("forward", "--model", out.toString(), "--input-ids", "97,98,99", "--json")).as(cli.err()).isZero();
    assertThat(cli.out()).as("trained weights give other logits").isNotEqualTo(base);
    assertThat(cli.run("generate", "--model", out.toString(), "--prompt", "abc", "--max-new-tokens", "3"))
        .as(cli.err()).isZero();
  }

  @Test
  void fullIsNotAnAdapterForTheBenchCases() {
    assertThat(cli.run("bench", "train", "--preset", "tiny", "--method", "full")).isEqualTo(Peft4j.ERROR_EXIT);
    assertThat(cli.err()).contains("--method full trains every weight and has no adapter config");
  }
}
