package dev.peft4j.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.text.ChatMessage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonlDatasetTest {
  @TempDir Path tmp;

  private Path write(String name, String... lines) throws IOException {
    Path file = tmp.resolve(name);
    Files.writeString(file, String.join("\n", lines) + "\n");
    return file;
  }

  @Test
  void readsText() throws IOException {
    Path f = write("text.jsonl", "{\"text\": \"one\"}", "", "   ", "{\"text\": \"two\", \"meta\": 1}");
    Dataset d = JsonlDataset.read(f, DatasetFormat.TEXT, ReadOptions.STRICT);
    assertThat(d.examples()).containsExactly(new TextExample("one"), new TextExample("two"));
    assertThat(d.line(0)).isEqualTo(1);
    assertThat(d.line(1)).isEqualTo(4); // blank lines ignored but counted
    assertThat(d.skipped()).isZero();
    assertThat(d.source()).contains(f);
    assertThat(d.format()).contains(DatasetFormat.TEXT);
  }

  @Test
  void readsPromptCompletion() throws IOException {
    Path f = write("pc.jsonl", "{\"prompt\": \"Q: 2+2?\\nA:\", \"completion\": \" 4\"}");
    assertThat(JsonlDataset.read(f, DatasetFormat.PROMPT_COMPLETION, ReadOptions.STRICT).examples())
        .containsExactly(new PromptCompletion("Q: 2+2?\nA:", " 4"));
  }

  @Test
  void readsAlpacaWithAndWithoutInput() throws IOException {
    Path f = write("alpaca.jsonl",
        "{\"instruction\": \"Add.\", \"input\": \"2, 3\", \"output\": \"5\"}",
        "{\"instruction\": \"Greet.\", \"output\": \"Hi\"}",
        "{\"instruction\": \"Greet.\", \"input\": null, \"output\": \"Hi\"}");
    assertThat(JsonlDataset.read(f, DatasetFormat.ALPACA, ReadOptions.STRICT).examples()).containsExactly(
        new AlpacaExample("Add.", "2, 3", "5"), new AlpacaExample("Greet.", "", "Hi"), new AlpacaExample("Greet.", "", "Hi"));
  }

  @Test
  void readsChat() throws IOException {
    Path f = write("chat.jsonl", "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"},"
        + " {\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello\"}]}");
    assertThat(JsonlDataset.read(f, DatasetFormat.CHAT, ReadOptions.STRICT).examples()).containsExactly(
        new ChatExample(List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi"), ChatMessage.assistant("Hello"))));
  }

  @Test
  void readsClassificationWithStringAndIntegerLabels() throws IOException {
    Path f = write("cls.jsonl", "{\"text\": \"great\", \"label\": \"pos\"}", "{\"text\": \"bad\", \"label\": 0}");
    assertThat(JsonlDataset.read(f, DatasetFormat.CLASSIFICATION, ReadOptions.STRICT).examples())
        .containsExactly(new ClassificationExample("great", "pos"), new ClassificationExample("bad", "0"));
  }

  @Test
  void detectsTheFormatFromTheFirstObject() throws IOException {
    ObjectMapper json = new ObjectMapper();
    assertThat(DatasetFormat.detect(json.readTree("{\"text\": \"a\"}"))).isEqualTo(DatasetFormat.TEXT);
    assertThat(DatasetFormat.detect(json.readTree("{\"text\": \"a\", \"label\": 1}"))).isEqualTo(DatasetFormat.CLASSIFICATION);
    assertThat(DatasetFormat.detect(json.readTree("{\"prompt\": \"a\", \"completion\": \"b\"}")))
        .isEqualTo(DatasetFormat.PROMPT_COMPLETION);
    assertThat(DatasetFormat.detect(json.readTree("{\"instruction\": \"a\", \"output\": \"b\"}")))
        .isEqualTo(DatasetFormat.ALPACA);
    assertThat(DatasetFormat.detect(json.readTree("{\"messages\": []}"))).isEqualTo(DatasetFormat.CHAT);
    assertThatThrownBy(() -> DatasetFormat.detect(json.readTree("{\"question\": \"a\"}")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[question]");

    Path f = write("auto.jsonl", "", "{\"prompt\": \"p\", \"completion\": \"c\"}");
    assertThat(JsonlDataset.detectFormat(f)).isEqualTo(DatasetFormat.PROMPT_COMPLETION);
    Dataset d = JsonlDataset.read(f, ReadOptions.STRICT);
    assertThat(d.format()).contains(DatasetFormat.PROMPT_COMPLETION);
    assertThat(d.line(0)).isEqualTo(2);
    assertThat(DatasetFormat.named("prompt-completion")).isEqualTo(DatasetFormat.PROMPT_COMPLETION);
  }

  @Test
  void malformedLinesNameTheFileAndLine() throws IOException {
    String ok = "{\"prompt\": \"p\", \"completion\": \"c\"}";
    assertMalformedAtLine3(ok, "{\"prompt\": \"p\", \"completion\": ", "not valid JSON");
    assertMalformedAtLine3(ok, "{\"prompt\": \"p\"}", "missing \"completion\"");
    assertMalformedAtLine3(ok, "{\"prompt\": \"p\", \"completion\": 7}", "\"completion\" must be a string, got the number 7");
    assertMalformedAtLine3(ok, "[1, 2]", "expected a JSON object");
    assertMalformedAtLine3(ok, "{\"prompt\": \"p\", \"completion\": \"c\"} trailing", "not valid JSON");
  }

  private void assertMalformedAtLine3(String ok, String bad, String problem) throws IOException {
    Path f = write("bad.jsonl", ok, ok, bad, ok);
    assertThatThrownBy(() -> JsonlDataset.read(f, DatasetFormat.PROMPT_COMPLETION, ReadOptions.STRICT))
        .isInstanceOf(DatasetException.class)
        .hasMessageContaining("bad.jsonl")
        .hasMessageContaining("line 3")
        .hasMessageContaining(problem)
        .satisfies(e -> assertThat(((DatasetException) e).line()).isEqualTo(OptionalInt.of(3)))
        .satisfies(e -> assertThat(((DatasetException) e).file()).contains(f));
  }

  @Test
  void wrongTypesPerFormat() throws IOException {
    Path chat = write("chat.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\"}]}");
    assertThatThrownBy(() -> JsonlDataset.read(chat, DatasetFormat.CHAT, ReadOptions.STRICT))
        .hasMessageContaining("line 1").hasMessageContaining("missing messages[1].content");
    Path lastUser = write("chat2.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"user\", \"content\": \"?\"}]}");
    assertThatThrownBy(() -> JsonlDataset.read(lastUser, DatasetFormat.CHAT, ReadOptions.STRICT))
        .hasMessageContaining("line 1").hasMessageContaining("must be from \"assistant\"");
    Path floatLabel = write("cls.jsonl", "{\"text\": \"a\", \"label\": 0.5}");
    assertThatThrownBy(() -> JsonlDataset.read(floatLabel, DatasetFormat.CLASSIFICATION, ReadOptions.STRICT))
        .hasMessageContaining("\"label\" must be a string or an integer, got the number 0.5");
    Path badInput = write("alpaca.jsonl", "{\"instruction\": \"a\", \"input\": [], \"output\": \"b\"}");
    assertThatThrownBy(() -> JsonlDataset.read(badInput, DatasetFormat.ALPACA, ReadOptions.STRICT))
        .hasMessageContaining("\"input\" must be a string, got an array");
  }

  @Test
  void skipMalformedCountsSkippedLines() throws IOException {
    Path f = write("mixed.jsonl", "{\"text\": \"a\"}", "not json", "{\"text\": 1}", "", "{\"text\": \"b\"}", "{}");
    Dataset d = JsonlDataset.read(f, DatasetFormat.TEXT, ReadOptions.SKIP_MALFORMED);
    assertThat(d.examples()).containsExactly(new TextExample("a"), new TextExample("b"));
    assertThat(d.skipped()).isEqualTo(3);
    assertThat(d.line(1)).isEqualTo(5);
  }

  @Test
  void emptyDatasetsAreErrors() throws IOException {
    Path empty = write("empty.jsonl", "", "  ");
    assertThatThrownBy(() -> JsonlDataset.read(empty, DatasetFormat.TEXT, ReadOptions.STRICT))
        .isInstanceOf(DatasetException.class).hasMessageContaining("empty.jsonl").hasMessageContaining("no examples");
    assertThatThrownBy(() -> JsonlDataset.read(empty, ReadOptions.STRICT))
        .isInstanceOf(DatasetException.class).hasMessageContaining("empty.jsonl");
    Path allBad = write("allbad.jsonl", "x", "y");
    assertThatThrownBy(() -> JsonlDataset.read(allBad, DatasetFormat.TEXT, ReadOptions.SKIP_MALFORMED))
        .isInstanceOf(DatasetException.class).hasMessageContaining("allbad.jsonl").hasMessageContaining("2 malformed");
    assertThatThrownBy(() -> JsonlDataset.read(tmp.resolve("missing.jsonl"), DatasetFormat.TEXT, ReadOptions.STRICT))
        .isInstanceOf(DatasetException.class).hasMessageContaining("missing.jsonl").hasMessageContaining("not found");
  }

  @Test
  void byteOrderMarkAndInvalidUtf8() throws IOException {
    Path bom = tmp.resolve("bom.jsonl");
    Files.writeString(bom, "\uFEFF{\"text\": \"a\"}\n");
    assertThat(JsonlDataset.read(bom, ReadOptions.STRICT).examples()).containsExactly(new TextExample("a"));
    Path latin1 = tmp.resolve("latin1.jsonl");
    Files.write(latin1, "{\"text\": \"caf\u00e9\"}\n".getBytes(StandardCharsets.ISO_8859_1));
    assertThatThrownBy(() -> JsonlDataset.read(latin1, DatasetFormat.TEXT, ReadOptions.STRICT))
        .isInstanceOf(DatasetException.class).hasMessageContaining("latin1.jsonl").hasMessageContaining("UTF-8");
  }
}
