package dev.peft4j.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Tokenizer files for tests: MiniLM's (bert-base-uncased) from the test classpath, and a tiny byte-level BPE. */
final class TestTokenizerFiles {
  static final ObjectMapper JSON = new ObjectMapper();
  /** In the langchain4j all-MiniLM-L6-v2 jar (test scope). */
  static final String MINILM_RESOURCE = "/all-minilm-l6-v2-tokenizer.json";

  private TestTokenizerFiles() {}

  /** Copies MiniLM's tokenizer.json into {@code dir} and returns the file. */
  static Path copyMiniLm(Path dir) throws IOException {
    Files.createDirectories(dir);
    Path target = dir.resolve("tokenizer.json");
    try (InputStream in = TestTokenizerFiles.class.getResourceAsStream(MINILM_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("test resource missing: " + MINILM_RESOURCE);
      }
      Files.copy(in, target);
    }
    return target;
  }

  /** The {@code model.vocab} object of a tokenizer.json, read independently of the code under test. */
  static JsonNode vocab(Path tokenizerJson) throws IOException {
    return JSON.readTree(tokenizerJson.toFile()).get("model").get("vocab");
  }

  /**
   * GPT-2's {@code bytes_to_unicode}: printable Latin-1 bytes map to themselves, the other 68
   * bytes to U+0100 onwards, in byte order.
   */
  static String[] byteLevelAlphabet() {
    List<Integer> printable = new ArrayList<>();
    for (int b = '!'; b <= '~'; b++) {
      printable.add(b);
    }
    for (int b = 0xA1; b <= 0xAC; b++) {
      printable.add(b);
    }
    for (int b = 0xAE; b <= 0xFF; b++) {
      printable.add(b);
    }
    String[] chars = new String[256];
    int n = 0;
    for (int b = 0; b < 256; b++) {
      chars[b] = printable.contains(b) ? String.valueOf((char) b) : String.valueOf((char) (256 + n++));
    }
    return chars;
  }

  static final String EOT = "<|endoftext|>";

  /**
   * A byte-level BPE tokenizer.json: ids 0..255 are the 256 byte characters (id = byte value),
   * 256 = "he", 257 = "Ġw" (two merges), 258 = {@code <|endoftext|>} (special added token).
   */
  static Path writeByteLevel(Path dir) throws IOException {
    Files.createDirectories(dir);
    String[] alphabet = byteLevelAlphabet();
    ObjectNode root = JSON.createObjectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    ArrayNode added = root.putArray("added_tokens");
    ObjectNode eot = added.addObject();
    eot.put("id", 258).put("content", EOT).put("single_word", false).put("lstrip", false)
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
    for (int b = 0; b < 256; b++) {
      vocab.put(alphabet[b], b);
    }
    vocab.put("he", 256);
    vocab.put(alphabet[' '] + "w", 257);
    ArrayNode merges = model.putArray("merges");
    merges.add("h e");
    merges.add(alphabet[' '] + " w");
    Path file = dir.resolve("tokenizer.json");
    JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), root);
    return file;
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
