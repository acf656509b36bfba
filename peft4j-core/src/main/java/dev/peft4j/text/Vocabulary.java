package dev.peft4j.text;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The token ↔ id tables of a {@code tokenizer.json} ({@code model.vocab} plus
 * {@code added_tokens}), which DJL does not expose, and its {@code padding} section. Read with a
 * streaming parser that skips {@code model.merges}, the bulk of a large BPE file.
 */
final class Vocabulary {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final Map<String, Integer> ids;
  private final String[] tokens; // index = id; null where no token has that id
  private final int size;
  private final Optional<String> padToken;
  private final OptionalInt padId;

  private Vocabulary(Map<String, Integer> ids, String[] tokens, Optional<String> padToken, OptionalInt padId) {
    this.ids = ids;
    this.tokens = tokens;
    this.size = (int) Arrays.stream(tokens).filter(t -> t != null).count();
    this.padToken = padToken;
    this.padId = padId;
  }

  /**
   * Reads and checks {@code file}.
   *
   * @throws TokenizerException if the file is missing, is not JSON, or has no {@code model.vocab}
   */
  static Vocabulary read(Path file) throws TokenizerException {
    Map<String, Integer> ids = new HashMap<>();
    JsonNode added = null;
    JsonNode padding = null;
    boolean sawModel = false;
    boolean sawVocab = false;
    try (InputStream in = Files.newInputStream(file);
        JsonParser p = new JsonFactory(MAPPER).createParser(in)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new TokenizerException(file, "not a tokenizer.json (expected a JSON object)");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken value = p.nextToken();
        if ("model".equals(field) && value == JsonToken.START_OBJECT) {
          sawModel = true;
          while (p.nextToken() == JsonToken.FIELD_NAME) {
            String modelField = p.currentName();
            JsonToken v = p.nextToken();
            if ("vocab".equals(modelField)) {
              sawVocab = readVocab(p, v, ids, file);
            } else {
              p.skipChildren();
            }
          }
        } else if ("added_tokens".equals(field)) {
          added = p.readValueAsTree();
        } else if ("padding".equals(field)) {
          padding = p.readValueAsTree();
        } else {
          p.skipChildren();
        }
      }
    } catch (NoSuchFileException e) {
      throw new TokenizerException(file, "tokenizer file not found", e);
    } catch (JsonProcessingException e) {
      throw new TokenizerException(file, "not a tokenizer.json (invalid JSON)", e);
    } catch (TokenizerException e) {
      throw e;
    } catch (IOException e) {
      throw new TokenizerException(file, "cannot read tokenizer file", e);
    }
    if (!sawModel || !sawVocab) {
      throw new TokenizerException(file, "not a tokenizer.json (no model.vocab)");
    }
    if (added != null && added.isArray()) {
      for (JsonNode t : added) {
        if (t.path("content").isTextual() && t.path("id").canConvertToInt()) {
          ids.put(t.get("content").asText(), t.get("id").asInt());
        }
      }
    }
    int maxId = ids.values().stream().mapToInt(Integer::intValue).max().orElse(-1);
    String[] tokens = new String[maxId + 1];
    for (Map.Entry<String, Integer> e : ids.entrySet()) {
      if (e.getValue() < 0) {
        throw new TokenizerException(file, "negative token id " + e.getValue() + " for \"" + e.getKey() + "\"");
      }
      tokens[e.getValue()] = e.getKey();
    }
    Optional<String> padToken = Optional.empty();
    OptionalInt padId = OptionalInt.empty();
    if (padding != null && padding.isObject()) {
      if (padding.path("pad_token").isTextual()) {
        padToken = Optional.of(padding.get("pad_token").asText());
      }
      if (padding.path("pad_id").canConvertToInt()) {
        padId = OptionalInt.of(padding.get("pad_id").asInt());
      }
    }
    return new Vocabulary(ids, tokens, padToken, padId);
  }

  /** {@code model.vocab}: an object token → id (BPE, WordPiece, WordLevel) or [[piece, score], ...] (Unigram). */
  private static boolean readVocab(JsonParser p, JsonToken start, Map<String, Integer> ids, Path file)
      throws IOException {
    if (start == JsonToken.START_OBJECT) {
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String token = p.currentName();
        p.nextToken();
        ids.put(token, p.getIntValue());
      }
      return true;
    }
    if (start == JsonToken.START_ARRAY) {
      int id = 0;
      while (p.nextToken() == JsonToken.START_ARRAY) {
        if (p.nextToken() != JsonToken.VALUE_STRING) {
          throw new TokenizerException(file, "not a tokenizer.json (unigram vocab entry is not [piece, score])");
        }
        ids.putIfAbsent(p.getText(), id++);
        while (p.nextToken() != JsonToken.END_ARRAY) {
          p.skipChildren();
        }
      }
      return true;
    }
    p.skipChildren();
    return false;
  }

  /** Number of distinct ids (model vocabulary plus added tokens). */
  int size() {
    return size;
  }

  OptionalInt id(String token) {
    Integer id = ids.get(token);
    return id == null ? OptionalInt.empty() : OptionalInt.of(id);
  }

  Optional<String> token(int id) {
    return id >= 0 && id < tokens.length ? Optional.ofNullable(tokens[id]) : Optional.empty();
  }

  /** {@code padding.pad_token} of the tokenizer.json, if it configures padding. */
  Optional<String> padToken() {
    return padToken;
  }

  /** {@code padding.pad_id} of the tokenizer.json, if it configures padding. */
  OptionalInt padId() {
    return padId;
  }
}
