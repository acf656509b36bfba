package dev.peft4j.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CsvDatasetTest {
  @TempDir Path tmp;

  private Path write(String content) throws IOException {
    Path file = tmp.resolve("data.csv");
    Files.writeString(file, content);
    return file;
  }

  @Test
  void readsPlainAndQuotedFields() throws IOException {
    Path f = write("id,sentence,label\n"
        + "1,plain text,pos\n"
        + "2,\"with, a comma\",neg\n"
        + "3,\"she said \"\"hi\"\"\",pos\n"
        + "4,\"two\nlines\",neg\n"
        + "5,\"\",\"pos\"\n"
        + "6,after,neg");
    Dataset d = CsvDataset.read(f, "sentence", "label");
    assertThat(d.examples()).containsExactly(
        new ClassificationExample("plain text", "pos"),
        new ClassificationExample("with, a comma", "neg"),
        new ClassificationExample("she said \"hi\"", "pos"),
        new ClassificationExample("two\nlines", "neg"),
        new ClassificationExample("", "pos"),
        new ClassificationExample("after", "neg"));
    // Lines count the line break inside the quoted field of record 4.
    assertThat(new int[] {d.line(0), d.line(3), d.line(4), d.line(5)}).containsExactly(2, 5, 7, 8);
    assertThat(d.format()).contains(DatasetFormat.CLASSIFICATION);
  }

  @Test
  void crlfBlankLinesAndByteOrderMark() throws IOException {
    Path f = write("\uFEFFtext,label\r\n\"a\r\nb\",x\r\n\r\nc,y\r\n");
    Dataset d = CsvDataset.read(f, "text", "label");
    assertThat(d.examples()).containsExactly(new ClassificationExample("a\r\nb", "x"), new ClassificationExample("c", "y"));
    assertThat(d.line(1)).isEqualTo(5);
  }

  @Test
  void wrongFieldCountNamesTheLine() throws IOException {
    Path f = write("text,label\na,x\n\"multi\nline\",y\nb,x,extra\n");
    assertThatThrownBy(() -> CsvDataset.read(f, "text", "label"))
        .isInstanceOf(DatasetException.class)
        .hasMessageContaining("data.csv")
        .hasMessageContaining("line 5")
        .hasMessageContaining("3 field(s) but the header has 2");
    Dataset d = CsvDataset.read(f, "text", "label", ReadOptions.SKIP_MALFORMED);
    assertThat(d.size()).isEqualTo(2);
    assertThat(d.skipped()).isEqualTo(1);
  }

  @Test
  void quoteErrors() throws IOException {
    assertThatThrownBy(() -> CsvDataset.read(write("text,label\na,x\n\"open,y\nb,x\n"), "text", "label"))
        .isInstanceOf(DatasetException.class).hasMessageContaining("line 3").hasMessageContaining("unterminated");
    assertThatThrownBy(() -> CsvDataset.read(write("text,label\nsay \"hi\",x\n"), "text", "label"))
        .isInstanceOf(DatasetException.class).hasMessageContaining("line 2").hasMessageContaining("double quote");
    assertThatThrownBy(() -> CsvDataset.read(write("text,label\n\"a\"b,x\n"), "text", "label"))
        .isInstanceOf(DatasetException.class).hasMessageContaining("line 2").hasMessageContaining("after a closing");
  }

  @Test
  void headerAndEmptinessErrors() throws IOException {
    assertThatThrownBy(() -> CsvDataset.read(write("sentence,label\na,x\n"), "text", "label"))
        .isInstanceOf(DatasetException.class).hasMessageContaining("no text column \"text\"")
        .hasMessageContaining("[sentence, label]");
    assertThatThrownBy(() -> CsvDataset.read(write(""), "text", "label"))
        .isInstanceOf(DatasetException.class).hasMessageContaining("data.csv").hasMessageContaining("empty");
    assertThatThrownBy(() -> CsvDataset.read(write("text,label\n"), "text", "label"))
        .isInstanceOf(DatasetException.class).hasMessageContaining("no examples");
    assertThatThrownBy(() -> CsvDataset.read(write("text,label\na,\n"), "text", "label"))
        .isInstanceOf(DatasetException.class).hasMessageContaining("line 2").hasMessageContaining("empty label");
  }
}
