package dev.peft4j.generate;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
  private static final ObjectMapper JSON = new ObjectMapper();

  private ByteTokenizer() {}

  /** Writes tokenizer.json and generation_config.json into {@code dir} and loads the tokenizer. */
  public static Tokenizer create(Path dir) throws IOException {
    Files.createDirectories(dir);
    ObjectNode root = JSON.createObjectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    ObjectNode eot = root.putArray("added_tokens").addObject();
    eot.put("id", EOS).put("content", "<|endoftext|>").put("single_word", false).put("lstrip", false)
        .put("rstrip", false).put("normalized", false).put("special", true);
    root.putNull("normalizer");
    root.set("pre_tokenizer", byteLevel());
    root.putNull("post_processor");
    root.set("decoder", byteLevel());
    ObjectNode model = root.putObject("model");
    model.put("type", "BPE");
    model.putNull("dropout");
    model.putNull("unk_token");
    model.putNull("continuing_subword_prefix");
    model.putNull("end_of_word_suffix");
    model.put("fuse_unk", false);
    model.put("byte_fallback", false);
    ObjectNode vocab = model.putObject("vocab");
    String[] alphabet = alphabet();
    for (int b = 0; b < 256; b++) {
      vocab.put(alphabet[b], b);
    }
    model.putArray("merges");
    JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("tokenizer.json").toFile(), root);
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

  /** GPT-2's bytes_to_unicode. */
  private static String[] alphabet() {
    String[] chars = new String[256];
    int n = 0;
    for (int b = 0; b < 256; b++) {
      boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      chars[b] = printable ? String.valueOf((char) b) : String.valueOf((char) (256 + n++));
    }
    return chars;
  }

  private static ObjectNode byteLevel() {
    ObjectNode n = JSON.createObjectNode();
    n.put("type", "ByteLevel");
    n.put("add_prefix_space", false);
    n.put("trim_offsets", true);
    n.put("use_regex", true);
    return n;
  }
}
