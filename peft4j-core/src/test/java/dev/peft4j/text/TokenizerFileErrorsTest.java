package dev.peft4j.text;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad or missing files give a {@link TokenizerException} that names the file. */
class TokenizerFileErrorsTest {
  @TempDir Path tmp;

  @Test
  void missingFile() {
    Path missing = tmp.resolve("nope/tokenizer.json");
    assertThatThrownBy(() -> Tokenizer.fromFile(missing))
        .isInstanceOf(TokenizerException.class)
        .hasMessageContaining(missing.toString());
  }

  @Test
  void missingDirectoryAndMissingTokenizerJson() throws Exception {
    Path dir = tmp.resolve("model");
    assertThatThrownBy(() -> Tokenizer.load(dir))
        .isInstanceOf(TokenizerException.class)
        .hasMessageContaining(dir.toString());
    Files.createDirectories(dir);
    assertThatThrownBy(() -> Tokenizer.load(dir))
        .isInstanceOf(TokenizerException.class)
        .hasMessageContaining(dir.resolve("tokenizer.json").toString());
  }

  @Test
  void notJson() throws Exception {
    Path file = Files.writeString(tmp.resolve("tokenizer.json"), "this is not json {");
    assertThatThrownBy(() -> Tokenizer.fromFile(file))
        .isInstanceOf(TokenizerException.class)
        .hasMessageContaining("not a tokenizer.json")
        .hasMessageContaining(file.toString());
  }

  @Test
  void jsonButNotATokenizer() throws Exception {
    Path file = Files.writeString(tmp.resolve("tokenizer.json"), "{\"architectures\": [\"BertModel\"]}");
    assertThatThrownBy(() -> Tokenizer.fromFile(file))
        .isInstanceOf(TokenizerException.class)
        .hasMessageContaining("no model.vocab")
        .hasMessageContaining(file.toString());
    Path array = Files.writeString(tmp.resolve("array.json"), "[1, 2]");
    assertThatThrownBy(() -> Tokenizer.fromFile(array))
        .isInstanceOf(TokenizerException.class)
        .hasMessageContaining(array.toString());
  }

  @Test
  void vocabButRejectedByTheRustParser() throws Exception {
    Path file = Files.writeString(tmp.resolve("tokenizer.json"),
        "{\"model\": {\"type\": \"NoSuchModel\", \"vocab\": {\"a\": 0}}}");
    assertThatThrownBy(() -> Tokenizer.fromFile(file))
        .isInstanceOf(TokenizerException.class)
        .hasMessageContaining("not a valid tokenizer.json")
        .hasMessageContaining(file.toString());
  }

  @Test
  void badSideFilesAreNamed() throws Exception {
    Path dir = tmp.resolve("model");
    TestTokenizerFiles.copyMiniLm(dir);
    Path config = Files.writeString(dir.resolve("tokenizer_config.json"), "{not json");
    assertThatThrownBy(() -> Tokenizer.load(dir))
        .isInstanceOf(TokenizerException.class)
        .hasMessageContaining(config.toString());
    Files.writeString(config, "{\"padding_side\": \"middle\"}");
    assertThatThrownBy(() -> Tokenizer.load(dir))
        .isInstanceOf(TokenizerException.class)
        .hasMessageContaining("padding_side")
        .hasMessageContaining(config.toString());
    Files.writeString(config, "{}");
    Path gen = Files.writeString(dir.resolve("generation_config.json"), "[]");
    assertThatThrownBy(() -> Tokenizer.load(dir))
        .isInstanceOf(TokenizerException.class)
        .hasMessageContaining(gen.toString());
  }
}
