package dev.peft4j.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.testing.ByteLevelTokenizerJson;
import dev.peft4j.text.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Tokenizers for the data tests. The byte-level one follows dev.peft4j.text's TestTokenizerFiles
 * (package-private there): byte-level BPE without merges, so a text's ids are exactly its UTF-8
 * bytes, plus {@code <eos>} = 256 declared as eos_token in tokenizer_config.json.
 */
final class TestTokenizers {
  static final ObjectMapper JSON = new ObjectMapper();
  static final int EOS = 256;

  private TestTokenizers() {}

  /** The byte-level tokenizer: encode(s) = UTF-8 bytes of s; EOS id 256; no pad id. */
  static Tokenizer byteLevel(Path dir) throws IOException {
    ByteLevelTokenizerJson.builder().special(EOS, "<eos>").writeTo(dir);
    JSON.writeValue(dir.resolve("tokenizer_config.json").toFile(), JSON.createObjectNode().put("eos_token", "<eos>"));
    return Tokenizer.load(dir);
  }

  /** MiniLM's WordPiece tokenizer (bert-base-uncased vocabulary): [CLS]=101, [SEP]=102, [PAD]=0. */
  static Tokenizer miniLm(Path dir) throws IOException {
    return Tokenizer.fromFile(ByteLevelTokenizerJson.copyMiniLm(dir));
  }

  /** The UTF-8 bytes of {@code s} as ids of the byte-level tokenizer. */
  static int[] bytes(String s) {
    byte[] b = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    int[] ids = new int[b.length];
    for (int i = 0; i < b.length; i++) {
      ids[i] = b[i] & 0xFF;
    }
    return ids;
  }
}
