package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's main job, shortened to two epochs: LoRA on all-MiniLM-L6-v2 (imported from the
 * Maven artifact) with a new head lifts held-out accuracy on examples/sentiment well above the
 * untrained head's (~50% on this balanced set).
 */
class ReadmeExampleTest {
  @RegisterExtension final CliCapture cli = new CliCapture();
  @TempDir Path dir;

  @Test
  void loraOnMiniLmLiftsSentimentAccuracy() throws Exception {
    Path examples = Path.of("..", "examples", "sentiment").toAbsolutePath().normalize();
    assertThat(examples.resolve("train.jsonl")).exists();
    Path model = dir.resolve("minilm");
    assertThat(cli.run("import-onnx", "--minilm", "--output", model.toString())).as(cli.err()).isZero();
    int code = cli.run("train", "--model", model.toString(), "--data", examples.resolve("train.jsonl").toString(),
        "--eval-data", examples.resolve("eval.jsonl").toString(), "--method", "lora", "--r", "8", "--alpha", "16",
        "--epochs", "2", "--lr", "2e-3", "--no-progress", "--output", dir.resolve("out").toString());
    assertThat(code).as(cli.err()).isZero();
    double before = accuracy(cli.out(), "before training");
    double after = accuracy(cli.out(), "after training");
    assertThat(before).as(cli.out()).isBetween(30.0, 70.0);
    assertThat(after).as(cli.out()).isGreaterThanOrEqualTo(75.0).isGreaterThan(before + 20);
    assertThat(Files.readString(dir.resolve("out/" + ClassifierHead.FILE))).contains("negative").contains("positive");
  }

  private static double accuracy(String text, String prefix) {
    Matcher m = Pattern.compile(Pattern.quote(prefix) + ":\\s+accuracy ([0-9.]+)%").matcher(text);
    assertThat(m.find()).as(text).isTrue();
    return Double.parseDouble(m.group(1));
  }
}
