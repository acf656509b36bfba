package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.model.SequenceClassifier.Pooling;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A classifier's labels and pooling travel with its adapter ({@value ClassifierHead#FILE}), so eval
 * scores with the pooling the head was trained on; older directories with {@code labels.json}
 * still load (mean pooling); a malformed file is refused naming it.
 */
class ClassifierHeadTest {
  @RegisterExtension final CliCapture cli = new CliCapture();
  @TempDir Path dir;

  @Test
  void anAdapterTrainedWithClsPoolingEvaluatesAsTrained() throws Exception {
    ClassificationFixture.Task task = ClassificationFixture.task(dir);
    Path out = dir.resolve("lora");
    assertThat(cli.run(task.trainArguments(out, "--method", "lora", "--r", "4", "--lr", "1e-2"))).as(cli.err()).isZero();
    assertThat(ClassifierHead.readFrom(out)).contains(new ClassifierHead(List.of("negative", "positive"), Pooling.CLS));
    Matcher trained = Pattern.compile("after training:  accuracy [\\d.]+% \\(loss ([\\d.]+)").matcher(cli.out());
    assertThat(trained.find()).as(cli.out()).isTrue();

    assertThat(cli.run("eval", "--model", task.model().toString(), "--adapter", out.toString(), "--data", task.eval().toString()))
        .as(cli.err()).isZero();
    assertThat(cli.out()).contains("loss " + trained.group(1));
  }

  @Test
  void aDirectoryWithOnlyLabelsJsonLoadsWithMeanPooling() throws Exception {
    Files.writeString(dir.resolve(ClassifierHead.LEGACY_FILE), "[\"negative\", \"positive\"]");
    assertThat(ClassifierHead.readFrom(dir)).contains(new ClassifierHead(List.of("negative", "positive"), Pooling.MEAN));
    assertThat(ClassifierHead.readFrom(dir.resolve("nothing-here"))).isEmpty();
  }

  @Test
  void writtenHeadsReadBack() throws Exception {
    ClassifierHead head = new ClassifierHead(List.of("a", "b", "c"), Pooling.POOLER);
    head.writeTo(dir);
    assertThat(ClassifierHead.readFrom(dir)).contains(head);
  }

  @Test
  void malformedFilesAreRefusedNamingTheFile() throws Exception {
    Path file = dir.resolve(ClassifierHead.FILE);
    for (String text : new String[] {"{\"labels\": [\"a\"], \"pooling\": \"max\"}", "{\"labels\": [], \"pooling\": \"mean\"}",
        "{\"labels\": [\"a\", 3], \"pooling\": \"mean\"}", "[\"a\"]", "{\"labels\": [\"a\"]", "{\"labels\": [\"a\"]}"}) {
      Files.writeString(file, text);
      assertThatThrownBy(() -> ClassifierHead.readFrom(dir)).as(text).isInstanceOf(ModelFormatException.class)
          .hasMessageContaining(file.toString());
    }
  }

  @Test
  void anUnknownPoolingOptionIsAUsageError() throws Exception {
    Path model = ClassificationFixture.bert(dir.resolve("model"), false);
    Path train = ClassificationFixture.sentiment(dir.resolve("train.jsonl"), 8);
    assertThat(cli.run("train", "--model", model.toString(), "--data", train.toString(), "--pooling", "max",
        "--max-steps", "1", "--no-progress", "--output", dir.resolve("out").toString())).isNotZero();
    assertThat(cli.err()).contains("unknown pooling 'max'; expected mean, cls or pooler");
    assertThat(dir.resolve("out")).doesNotExist();
  }
}
