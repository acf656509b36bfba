package dev.peft4j.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.text.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
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
    Files.createDirectories(dir);
    String[] alphabet = byteLevelAlphabet();
    ObjectNode root = JSON.createObjectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    ArrayNode added = root.putArray("added_tokens");
    added.addObject().put("id", EOS).put("content", "<eos>").put("single_word", false).put("lstrip", false)
        .put("rstrip", false).put("normalized", false).put("special", true);
    root.putNull("normalizer");
    root.set("pre_tokenizer", byteLevelNode());
    root.putNull("post_processor");
    root.set("decoder", byteLevelNode());
    ObjectNode model = root.putObject("model");
    model.put("type", "BPE");
    model.putNull("dropout");
    model.putNull("unk_token");
    model.putNull("continuing_subword_prefix");
    model.putNull("end_of_word_suffix");
    model.put("fuse_unk", false);
    model.put("byte_fallback", false);
    ObjectNode vocab = model.putObject("vocab");
    for (int b = 0; b < 256; b++) {
      vocab.put(alphabet[b], b);
    }
    model.putArray("merges");
    JSON.writeValue(dir.resolve("tokenizer.json").toFile(), root);
    JSON.writeValue(dir.resolve("tokenizer_config.json").toFile(), JSON.createObjectNode().put("eos_token", "<eos>"));
    return Tokenizer.load(dir);
  }

  /** MiniLM's WordPiece tokenizer (bert-base-uncased vocabulary): [CLS]=101, [SEP]=102, [PAD]=0. */
  static Tokenizer miniLm(Path dir) throws IOException {
    Files.createDirectories(dir);
    Path target = dir.resolve("tokenizer.json");
    try (InputStream in = TestTokenizers.class.getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
      if (in == null) {
        throw new IllegalStateException("test resource missing: all-minilm-l6-v2-tokenizer.json");
      }
      Files.copy(in, target);
    }
    return Tokenizer.fromFile(target);
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

  /** GPT-2's bytes_to_unicode. */
  private static String[] byteLevelAlphabet() {
    String[] chars = new String[256];
    int n = 0;
    for (int b = 0; b < 256; b++) {
      boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      chars[b] = printable ? String.valueOf((char) b) : String.valueOf((char) (256 + n++));
    }
    return chars;
  }

  private static ObjectNode byteLevelNode() {
    ObjectNode n = JSON.createObjectNode();
    n.put("type", "ByteLevel");
    n.put("add_prefix_space", false);
    n.put("trim_offsets", true);
    n.put("use_regex", true);
    return n;
  }
}
