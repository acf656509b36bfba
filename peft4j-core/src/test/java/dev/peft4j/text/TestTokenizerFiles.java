package dev.peft4j.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.testing.ByteLevelTokenizerJson;
import java.io.IOException;
import java.nio.file.Path;

/** Tokenizer files for the text tests: MiniLM's (bert-base-uncased) and a tiny byte-level BPE with two merges. */
final class TestTokenizerFiles {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String EOT = "<|endoftext|>";

  private TestTokenizerFiles() {}

  /** Copies MiniLM's tokenizer.json into {@code dir} and returns the file. */
  static Path copyMiniLm(Path dir) throws IOException {
    return ByteLevelTokenizerJson.copyMiniLm(dir);
  }

  /** The {@code model.vocab} object of a tokenizer.json, read independently of the code under test. */
  static JsonNode vocab(Path tokenizerJson) throws IOException {
    return JSON.readTree(tokenizerJson.toFile()).get("model").get("vocab");
  }

  static String[] byteLevelAlphabet() {
    return ByteLevelTokenizerJson.alphabet();
  }

  /**
   * A byte-level BPE tokenizer.json: ids 0..255 are the 256 byte characters (id = byte value),
   * 256 = "he", 257 = "Ġw" (two merges), 258 = {@code <|endoftext|>} (special added token).
   */
  static Path writeByteLevel(Path dir) throws IOException {
    return ByteLevelTokenizerJson.builder()
        .merge("h", "e", 256)
        .merge(byteLevelAlphabet()[' '], "w", 257)
        .special(258, EOT)
        .writeTo(dir);
  }
}
