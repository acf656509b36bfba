package dev.peft4j.serve;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.text.ChatMessage;
import dev.peft4j.text.ChatTemplate;
import dev.peft4j.text.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Reads and checks the JSON body of {@code POST /v1/completions} and
 * {@code POST /v1/chat/completions}, OpenAI's fields: {@code model}, {@code prompt} (a string,
 * a one-string array, or an array of token ids) or {@code messages} (rendered with the model's
 * chat template, ChatML if it has none), {@code max_tokens} (chat also
 * {@code max_completion_tokens}), {@code temperature} (default 1, as OpenAI), {@code top_p},
 * {@code stop}, {@code stream}, {@code stream_options.include_usage}, {@code seed}, {@code n}
 * (1 only). Other fields are ignored. Every failure is an {@link ApiException} naming the field.
 * Runs on the HTTP threads (the tokenizer may be used concurrently).
 */
final class RequestParser {
  /** OpenAI's default {@code max_tokens} of the completions endpoint. */
  static final int DEFAULT_COMPLETION_TOKENS = 16;
  /** End-of-turn tokens of the built-in chat templates, also stop tokens of chat requests. */
  private static final Map<String, String> END_OF_TURN = Map.of("chatml", "<|im_end|>", "llama3", "<|eot_id|>");

  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private final Tokenizer tokenizer;
  private final ChatTemplate template; // null: the model's own template is not one peft4j renders
  private final ServedAdapters adapters;
  private final int maxTokens;
  private final long contextLength;
  private final long vocabSize;

  RequestParser(Tokenizer tokenizer, ServedAdapters adapters, int maxTokens, long contextLength, long vocabSize) {
    this.tokenizer = tokenizer;
    this.template = tokenizer.chatTemplate()
        .orElse(tokenizer.config().chatTemplate().isPresent() ? null : ChatTemplate.CHATML);
    this.adapters = adapters;
    this.maxTokens = maxTokens;
    this.contextLength = contextLength;
    this.vocabSize = vocabSize;
  }

  CompletionRequest parse(byte[] body, boolean chat) {
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (JacksonException e) {
      throw ApiException.badRequest("The request body is not valid JSON: " + firstLine(e.getOriginalMessage()), null);
    } catch (java.io.IOException e) {
      throw ApiException.badRequest("The request body could not be read: " + e.getMessage(), null);
    }
    if (root == null || !root.isObject()) {
      throw ApiException.badRequest("The request body must be a JSON object", null);
    }
    String model = text(root, "model");
    String adapter = adapters.resolve(model);
    if (root.hasNonNull("n") && !(root.get("n").canConvertToInt() && root.get("n").asInt() == 1)) {
      throw ApiException.badRequest("Only n=1 is supported, got " + root.get("n"), "n");
    }
    long[] prompt = chat ? chatPrompt(root) : completionPrompt(root);
    int tokens = maxTokens(root, chat, prompt.length, adapters.virtualPositions(adapter));
    double temperature = number(root, "temperature", 1.0, 0, 2);
    double topP = number(root, "top_p", 1.0, 0, 1);
    List<String> stop = stop(root);
    OptionalLong seed = OptionalLong.empty();
    if (root.hasNonNull("seed")) {
      if (!root.get("seed").canConvertToLong()) {
        throw ApiException.badRequest("'seed' must be an integer, got " + root.get("seed"), "seed");
      }
      seed = OptionalLong.of(root.get("seed").asLong());
    }
    boolean stream = bool(root, "stream");
    boolean includeUsage = root.path("stream_options").path("include_usage").asBoolean(false);
    return new CompletionRequest(model, adapter, chat, prompt, tokens, temperature, topP, stop, stopIds(chat),
        seed, stream, includeUsage);
  }

  private long[] completionPrompt(JsonNode root) {
    JsonNode p = root.get("prompt");
    if (p == null || p.isNull()) {
      throw ApiException.badRequest("'prompt' is required", "prompt");
    }
    if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
      p = p.get(0);
    }
    long[] ids;
    if (p.isTextual()) {
      ids = Arrays.stream(tokenizer.encode(p.asText(), true)).asLongStream().toArray();
    } else if (p.isArray() && p.size() > 0 && p.get(0).isIntegralNumber()) {
      ids = new long[p.size()];
      for (int i = 0; i < ids.length; i++) {
        JsonNode id = p.get(i);
        if (!id.canConvertToLong() || !id.isIntegralNumber() || id.asLong() < 0 || id.asLong() >= vocabSize) {
          throw ApiException.badRequest("'prompt' token " + i + " is " + id + ", not an id in [0, " + vocabSize + ")",
              "prompt");
        }
        ids[i] = id.asLong();
      }
    } else {
      throw ApiException.badRequest("'prompt' must be a string, a one-string array or an array of token ids"
          + " (one prompt per request)", "prompt");
    }
    if (ids.length == 0) {
      throw ApiException.badRequest("'prompt' encodes to no tokens", "prompt");
    }
    return ids;
  }

  /**
   * The conversation rendered with the model's chat template, or ChatML for a model without one.
   * A model whose template is not one of the built-in ones gets 400: rendering it as ChatML would
   * silently give it a prompt format it was not trained on.
   */
  private long[] chatPrompt(JsonNode root) {
    if (template == null) {
      throw ApiException.badRequest("This model's chat_template is not one that peft4j renders (llama2, llama3,"
          + " chatml); render the conversation yourself and use /v1/completions", "messages");
    }
    JsonNode m = root.get("messages");
    if (m == null || !m.isArray() || m.isEmpty()) {
      throw ApiException.badRequest("'messages' must be a non-empty array of {role, content}", "messages");
    }
    List<ChatMessage> messages = new ArrayList<>();
    for (int i = 0; i < m.size(); i++) {
      JsonNode message = m.get(i);
      JsonNode role = message.get("role");
      if (role == null || !role.isTextual()) {
        throw ApiException.badRequest("messages[" + i + "].role must be a string", "messages");
      }
      messages.add(new ChatMessage(role.asText(), content(message.get("content"), i)));
    }
    String text;
    try {
      text = template.render(messages, true);
    } catch (IllegalArgumentException e) {
      throw ApiException.badRequest(template.name() + " chat template: " + e.getMessage(), "messages");
    }
    long[] ids = Arrays.stream(tokenizer.encode(text, false)).asLongStream().toArray();
    if (ids.length == 0) {
      throw ApiException.badRequest("'messages' render to no tokens", "messages");
    }
    return ids;
  }

  /** A message's content: a string, or an array of {@code {"type": "text", "text"}} parts. */
  private static String content(JsonNode content, int index) {
    if (content != null && content.isTextual()) {
      return content.asText();
    }
    if (content != null && content.isArray()) {
      StringBuilder text = new StringBuilder();
      for (JsonNode part : content) {
        if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
          throw ApiException.badRequest("messages[" + index + "].content: only text parts are supported", "messages");
        }
        text.append(part.get("text").asText());
      }
      return text.toString();
    }
    throw ApiException.badRequest("messages[" + index + "].content must be a string or an array of text parts",
        "messages");
  }

  /**
   * {@code max_tokens}: at most the server's limit, and the adapter's virtual positions, the prompt
   * and it must fit the context. Default: OpenAI's 16 for completions, as many as fit (up to the
   * limit) for chat.
   */
  private int maxTokens(JsonNode root, boolean chat, int promptLength, int virtualPositions) {
    String field = chat && !root.hasNonNull("max_tokens") && root.hasNonNull("max_completion_tokens")
        ? "max_completion_tokens" : "max_tokens";
    long room = contextLength - virtualPositions - promptLength;
    String prompt = "the prompt has " + promptLength
        + (virtualPositions == 0 ? "" : " after the adapter's " + virtualPositions + " virtual positions");
    if (room < 1) {
      throw ApiException.badRequest("This model's context length is " + contextLength + " tokens; " + prompt
          + ", which leaves no room for a completion", chat ? "messages" : "prompt");
    }
    if (!root.hasNonNull(field)) {
      return (int) Math.min(chat ? maxTokens : Math.min(DEFAULT_COMPLETION_TOKENS, maxTokens), room);
    }
    JsonNode n = root.get(field);
    if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() < 1) {
      throw ApiException.badRequest("'" + field + "' must be a positive integer, got " + n, field);
    }
    int tokens = n.asInt();
    if (tokens > maxTokens) {
      throw ApiException.badRequest("'" + field + "' is " + tokens + ", more than this server's limit of "
          + maxTokens, field);
    }
    if (tokens > room) {
      throw ApiException.badRequest("This model's context length is " + contextLength + " tokens; " + prompt
          + " and " + field + " asks for " + tokens + " more", field);
    }
    return tokens;
  }

  private static List<String> stop(JsonNode root) {
    JsonNode s = root.get("stop");
    if (s == null || s.isNull()) {
      return List.of();
    }
    List<String> stops = new ArrayList<>();
    if (s.isTextual()) {
      stops.add(s.asText());
    } else if (s.isArray() && s.size() <= 4) {
      s.forEach(x -> stops.add(x.isTextual() ? x.asText() : ""));
    } else {
      throw ApiException.badRequest("'stop' must be a string or an array of up to 4 strings", "stop");
    }
    if (stops.contains("")) {
      throw ApiException.badRequest("'stop' strings must be non-empty strings: " + s, "stop");
    }
    return stops;
  }

  /** The tokenizer's EOS ids, and for chat the template's end-of-turn token if the vocabulary has it. */
  private Set<Long> stopIds(boolean chat) {
    Set<Long> ids = new HashSet<>();
    tokenizer.eosIds().forEach(id -> ids.add((long) id));
    String endOfTurn = template == null ? null : END_OF_TURN.get(template.name());
    if (chat && endOfTurn != null) {
      tokenizer.tokenToId(endOfTurn).ifPresent(id -> ids.add((long) id));
    }
    return Set.copyOf(ids);
  }

  private static String text(JsonNode root, String field) {
    JsonNode n = root.get(field);
    if (n == null || n.isNull()) {
      throw ApiException.badRequest("'" + field + "' is required", field);
    }
    if (!n.isTextual()) {
      throw ApiException.badRequest("'" + field + "' must be a string, got " + n, field);
    }
    return n.asText();
  }

  private static double number(JsonNode root, String field, double fallback, double min, double max) {
    JsonNode n = root.get(field);
    if (n == null || n.isNull()) {
      return fallback;
    }
    if (!n.isNumber() || n.asDouble() < min || n.asDouble() > max) {
      throw ApiException.badRequest("'" + field + "' must be a number in [" + min + ", " + max + "], got " + n, field);
    }
    return n.asDouble();
  }

  private static boolean bool(JsonNode root, String field) {
    JsonNode n = root.get(field);
    if (n == null || n.isNull()) {
      return false;
    }
    if (!n.isBoolean()) {
      throw ApiException.badRequest("'" + field + "' must be true or false, got " + n, field);
    }
    return n.asBoolean();
  }

  private static String firstLine(String message) {
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }
}
