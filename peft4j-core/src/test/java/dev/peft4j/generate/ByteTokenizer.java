package dev.peft4j.generate;

import dev.peft4j.testing.ByteLevelTokenizerJson;
import dev.peft4j.text.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A byte-level tokenizer for generation tests: id = byte value for 0..255 (no merges), and
 * {@code <|endoftext|>} = 256, a special token that is also the EOS id (generation_config.json).
 * Any id sequence decodes; ids of a UTF-8 string are its bytes. Public for the CLI tests.
 */
public final class ByteTokenizer {
  public static final int EOS = 256;
  public static final int VOCAB = 257;

  private ByteTokenizer() {}

  /** Writes tokenizer.json and generation_config.json into {@code dir} and loads the tokenizer. */
  public static Tokenizer create(Path dir) throws IOException {
    ByteLevelTokenizerJson.builder().special(EOS, "<|endoftext|>").writeTo(dir);
    Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": " + EOS + "}");
    return Tokenizer.load(dir);
  }

  /** The ids of {@code text}: its UTF-8 bytes. */
  public static long[] ids(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    long[] ids = new long[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      ids[i] = bytes[i] & 0xFF;
    }
    return ids;
  }
}
