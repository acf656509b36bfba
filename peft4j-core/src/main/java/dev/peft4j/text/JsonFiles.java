package dev.peft4j.text;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalInt;

/** Reading the small JSON side files of a model directory, with errors that name the file. */
final class JsonFiles {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private JsonFiles() {}

  /** Parses {@code file} as a JSON object. */
  static JsonNode readObject(Path file) throws TokenizerException {
    JsonNode root;
    try {
      root = MAPPER.readTree(file.toFile());
    } catch (NoSuchFileException e) {
      throw new TokenizerException(file, "file not found", e);
    } catch (JsonProcessingException e) {
      throw new TokenizerException(file, "invalid JSON", e);
    } catch (IOException e) {
      throw new TokenizerException(file, "cannot read", e);
    }
    if (root == null || !root.isObject()) {
      throw new TokenizerException(file, "expected a JSON object");
    }
    return root;
  }

  /** A string field, or the {@code content} of an AddedToken object ({@code {"content": ...}}). */
  static Optional<String> token(JsonNode node) {
    if (node == null || node.isNull()) {
      return Optional.empty();
    }
    if (node.isTextual()) {
      return Optional.of(node.asText());
    }
    if (node.isObject() && node.path("content").isTextual()) {
      return Optional.of(node.get("content").asText());
    }
    return Optional.empty();
  }

  /** An integer field that fits an {@code int}; absent for null, non-integers and huge sentinels. */
  static OptionalInt smallInt(JsonNode node) {
    if (node == null || !node.isNumber()) {
      return OptionalInt.empty();
    }
    if (node.isIntegralNumber()) {
      return node.canConvertToInt() ? OptionalInt.of(node.asInt()) : OptionalInt.empty();
    }
    double d = node.asDouble();
    return d == Math.rint(d) && Math.abs(d) <= Integer.MAX_VALUE ? OptionalInt.of((int) d) : OptionalInt.empty();
  }

  static Optional<Boolean> bool(JsonNode node) {
    return node != null && node.isBoolean() ? Optional.of(node.asBoolean()) : Optional.empty();
  }
}
