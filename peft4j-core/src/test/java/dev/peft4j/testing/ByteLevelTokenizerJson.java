package dev.peft4j.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes byte-level BPE {@code tokenizer.json} files for tests (GPT-2's layout: ids 0..255 are
 * the 256 byte characters, id = byte value), with optional merges and special tokens; and copies
 * MiniLM's real tokenizer.json from the test classpath.
 */
public final class ByteLevelTokenizerJson {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Map<String, Integer> mergedTokens = new LinkedHashMap<>();
  private final Map<Integer, String> specials = new LinkedHashMap<>();

  private ByteLevelTokenizerJson() {}

  public static ByteLevelTokenizerJson builder() {
    return new ByteLevelTokenizerJson();
  }

  /** Adds the merge {@code left right} producing token id {@code id}. */
  public ByteLevelTokenizerJson merge(String left, String right, int id) {
    mergedTokens.put(left + " " + right, id);
    return this;
  }

  /** Adds a special token (an added token that is never split). */
  public ByteLevelTokenizerJson special(int id, String content) {
    specials.put(id, content);
    return this;
  }

  /** Writes {@code dir/tokenizer.json} and returns its path. */
  public Path writeTo(Path dir) throws IOException {
    Files.createDirectories(dir);
    String[] alphabet = alphabet();
    ObjectNode root = JSON.createObjectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    ArrayNode added = root.putArray("added_tokens");
    specials.forEach((id, content) -> added.addObject().put("id", id).put("content", content)
        .put("single_word", false).put("lstrip", false).put("rstrip", false).put("normalized", false)
        .put("special", true));
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
    for (int b = 0; b < 256; b++) {
      vocab.put(alphabet[b], b);
    }
    ArrayNode merges = model.putArray("merges");
    mergedTokens.forEach((pair, id) -> {
      vocab.put(pair.replace(" ", ""), id);
      merges.add(pair);
    });
    Path file = dir.resolve("tokenizer.json");
    JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), root);
    return file;
  }

  /** GPT-2's {@code bytes_to_unicode}: the printable character standing for each byte. */
  public static String[] alphabet() {
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

  /** Copies MiniLM's tokenizer.json (bert-base-uncased vocabulary) from the test classpath into {@code dir}. */
  public static Path copyMiniLm(Path dir) throws IOException {
    Files.createDirectories(dir);
    Path target = dir.resolve("tokenizer.json");
    try (InputStream in = ByteLevelTokenizerJson.class.getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
      if (in == null) {
        throw new IllegalStateException("test resource missing: all-minilm-l6-v2-tokenizer.json");
      }
      Files.copy(in, target);
    }
    return target;
  }
}
