package dev.peft4j.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.text.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LabelSetTest {
  @TempDir Path tmp;

  @Test
  void sortedFromDataIsIndependentOfOrder() {
    Dataset d = Dataset.of(List.of(new ClassificationExample("a", "pos"), new ClassificationExample("b", "neg"),
        new ClassificationExample("c", "neutral"), new ClassificationExample("d", "pos")));
    LabelSet labels = LabelSet.fromDataset(d);
    assertThat(labels.names()).containsExactly("neg", "neutral", "pos");
    assertThat(labels.id("pos")).isEqualTo(2);
    assertThat(labels.name(0)).isEqualTo("neg");
    assertThat(labels.id2label()).containsExactly(Map.entry(0, "neg"), Map.entry(1, "neutral"), Map.entry(2, "pos"));
    assertThat(labels.label2id()).containsExactly(Map.entry("neg", 0), Map.entry("neutral", 1), Map.entry("pos", 2));
  }

  @Test
  void integerLabelsSortNumerically() {
    assertThat(LabelSet.sorted(List.of("10", "2", "0", "1", "2")).names()).containsExactly("0", "1", "2", "10");
    assertThat(LabelSet.sorted(List.of("1", "01")).size()).isEqualTo(2);
  }

  @Test
  void explicitOrderAndErrors() {
    LabelSet labels = LabelSet.of(List.of("yes", "no"));
    assertThat(labels.id("no")).isEqualTo(1);
    assertThatThrownBy(() -> labels.id("maybe")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("\"maybe\"").hasMessageContaining("[yes, no]");
    assertThatThrownBy(() -> LabelSet.of(List.of("a", "a"))).hasMessageContaining("duplicate label \"a\"");
    assertThatThrownBy(() -> LabelSet.of(List.of())).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> LabelSet.fromDataset(Dataset.of(List.of(new TextExample("x")))))
        .hasMessageContaining("not a classification dataset");
  }

  @Test
  void unknownLabelNamesLabelFileAndLine() throws IOException {
    Path f = tmp.resolve("test.jsonl");
    Files.writeString(f, "{\"text\": \"a\", \"label\": \"pos\"}\n\n{\"text\": \"b\", \"label\": \"meh\"}\n");
    Dataset d = JsonlDataset.read(f, DatasetFormat.CLASSIFICATION, ReadOptions.STRICT);
    try (Tokenizer tok = TestTokenizers.miniLm(tmp.resolve("minilm"))) {
      ExampleTokenizer enc = ExampleTokenizer.builder(tok).labels(LabelSet.of(List.of("neg", "pos"))).build();
      assertThatThrownBy(() -> enc.encodeAll(d))
          .isInstanceOf(DatasetException.class)
          .hasMessageContaining("test.jsonl")
          .hasMessageContaining("line 3")
          .hasMessageContaining("label \"meh\" is not in the label set [neg, pos]");
      // In memory, the example number is named instead.
      Dataset mem = Dataset.of(List.of(new ClassificationExample("b", "meh")));
      assertThatThrownBy(() -> enc.encodeAll(mem)).hasMessageStartingWith("example 1: label \"meh\"");
    }
  }
}
