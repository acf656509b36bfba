package dev.peft4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import dev.peft4j.text.ChatMessage;
import java.util.ArrayList;
import java.util.List;

/** Turns one JSON object into the {@link Example} of a {@link DatasetFormat}, checking every field. */
final class JsonExamples {
  private JsonExamples() {}

  static Example parse(JsonNode object, DatasetFormat format) throws MalformedRecordException {
    if (!object.isObject()) {
      throw new MalformedRecordException("expected a JSON object " + format.keys() + ", got " + kind(object));
    }
    switch (format) {
      case TEXT:
        return new TextExample(string(object, "text"));
      case PROMPT_COMPLETION:
        return new PromptCompletion(string(object, "prompt"), string(object, "completion"));
      case ALPACA:
        return new AlpacaExample(string(object, "instruction"), optionalString(object, "input"), string(object, "output"));
      case CHAT:
        return chat(object);
      case CLASSIFICATION:
        return new ClassificationExample(string(object, "text"), label(object));
      default:
        throw new AssertionError(format);
    }
  }

  private static ChatExample chat(JsonNode object) throws MalformedRecordException {
    JsonNode array = required(object, "messages");
    if (!array.isArray()) {
      throw new MalformedRecordException("\"messages\" must be an array, got " + kind(array));
    }
    List<ChatMessage> messages = new ArrayList<>(array.size());
    for (int i = 0; i < array.size(); i++) {
      JsonNode m = array.get(i);
      String where = "messages[" + i + "]";
      if (!m.isObject()) {
        throw new MalformedRecordException(where + " must be an object {\"role\", \"content\"}, got " + kind(m));
      }
      String role = field(m, "role", where + ".role");
      if (role.isEmpty()) {
        throw new MalformedRecordException(where + ".role must not be empty");
      }
      messages.add(new ChatMessage(role, field(m, "content", where + ".content")));
    }
    try {
      return new ChatExample(messages);
    } catch (IllegalArgumentException e) {
      throw new MalformedRecordException(e.getMessage());
    }
  }

  private static String label(JsonNode object) throws MalformedRecordException {
    JsonNode n = required(object, "label");
    String label;
    if (n.isTextual()) {
      label = n.textValue();
    } else if (n.isIntegralNumber()) {
      label = n.bigIntegerValue().toString();
    } else {
      throw new MalformedRecordException("\"label\" must be a string or an integer, got " + kind(n));
    }
    if (label.isEmpty()) {
      throw new MalformedRecordException("\"label\" must not be empty");
    }
    return label;
  }

  private static String string(JsonNode object, String key) throws MalformedRecordException {
    return field(object, key, "\"" + key + "\"");
  }

  private static String field(JsonNode object, String key, String name) throws MalformedRecordException {
    JsonNode n = object.get(key);
    if (n == null || n.isNull()) {
      throw new MalformedRecordException("missing " + name);
    }
    if (!n.isTextual()) {
      throw new MalformedRecordException(name + " must be a string, got " + kind(n));
    }
    return n.textValue();
  }

  /** A string field that may be absent or null ({@code ""} then). */
  private static String optionalString(JsonNode object, String key) throws MalformedRecordException {
    JsonNode n = object.get(key);
    if (n == null || n.isNull()) {
      return "";
    }
    if (!n.isTextual()) {
      throw new MalformedRecordException("\"" + key + "\" must be a string, got " + kind(n));
    }
    return n.textValue();
  }

  private static JsonNode required(JsonNode object, String key) throws MalformedRecordException {
    JsonNode n = object.get(key);
    if (n == null || n.isNull()) {
      throw new MalformedRecordException("missing \"" + key + "\"");
    }
    return n;
  }

  /** A JSON value's kind for messages: "number 3", "array", "boolean true", ... */
  static String kind(JsonNode n) {
    switch (n.getNodeType()) {
      case ARRAY:
        return "an array";
      case OBJECT:
        return "an object";
      case STRING:
        return "a string";
      case NUMBER:
        return "the number " + n.asText();
      case BOOLEAN:
        return "the boolean " + n.asText();
      case NULL:
        return "null";
      default:
        return n.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
    }
  }
}
