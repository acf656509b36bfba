package dev.peft4j.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.generate.FinishReason;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * The response bodies, in OpenAI's shapes: {@code text_completion}, {@code chat.completion},
 * their stream chunks ({@code chat.completion.chunk} for chat), {@code list} of {@code model}s,
 * and {@code {"error": {...}}}.
 */
final class OpenAiJson {
  private static final ObjectMapper JSON = new ObjectMapper();

  private OpenAiJson() {}

  /** A complete (non-streamed) response. */
  static String completion(Job job, Job.Finished end) {
    ObjectNode root = head(job, job.request().chat() ? "chat.completion" : "text_completion");
    ObjectNode choice = root.putArray("choices").addObject();
    choice.put("index", 0);
    if (job.request().chat()) {
      choice.putObject("message").put("role", "assistant").put("content", end.text());
    } else {
      choice.put("text", end.text());
    }
    choice.putNull("logprobs");
    choice.put("finish_reason", finishReason(end.reason()));
    usage(root, job, end);
    return write(root);
  }

  /**
   * A stream chunk: {@code piece} of text (for chat, a null piece opens the message with the
   * assistant role), or with {@code end} set, the last chunk with the finish reason.
   */
  static String chunk(Job job, String piece, Job.Finished end) {
    boolean chat = job.request().chat();
    ObjectNode root = head(job, chat ? "chat.completion.chunk" : "text_completion");
    ObjectNode choice = root.putArray("choices").addObject();
    choice.put("index", 0);
    if (chat) {
      ObjectNode delta = choice.putObject("delta");
      if (piece == null && end == null) {
        delta.put("role", "assistant").put("content", "");
      } else if (piece != null) {
        delta.put("content", piece);
      }
    } else {
      choice.put("text", piece == null ? "" : piece);
    }
    choice.putNull("logprobs");
    if (end == null) {
      choice.putNull("finish_reason");
    } else {
      choice.put("finish_reason", finishReason(end.reason()));
    }
    return write(root);
  }

  /** The chunk after the last one when {@code stream_options.include_usage} is set: no choices, usage. */
  static String usageChunk(Job job, Job.Finished end) {
    ObjectNode root = head(job, job.request().chat() ? "chat.completion.chunk" : "text_completion");
    root.putArray("choices");
    usage(root, job, end);
    return write(root);
  }

  /** {@code GET /v1/models}: the base model, then the adapters (with {@code parent}). */
  static String models(String baseName, List<String> adapters, long created) {
    ObjectNode root = JSON.createObjectNode();
    root.put("object", "list");
    ArrayNode data = root.putArray("data");
    data.add(model(baseName, null, created));
    adapters.forEach(a -> data.add(model(a, baseName, created)));
    return write(root);
  }

  /** One {@code model} object; {@code parent} is the base model of an adapter, or null. */
  static ObjectNode model(String id, String parent, long created) {
    ObjectNode m = JSON.createObjectNode();
    m.put("id", id);
    m.put("object", "model");
    m.put("created", created);
    m.put("owned_by", "peft4j");
    if (parent != null) {
      m.put("parent", parent);
    }
    return m;
  }

  /** {@code DELETE /admin/adapters/{name}}: OpenAI's deleted-model shape. */
  static String deleted(String id) {
    return write(JSON.createObjectNode().put("id", id).put("object", "model").put("deleted", true));
  }

  static String error(ApiException e) {
    ObjectNode root = JSON.createObjectNode();
    ObjectNode error = root.putObject("error");
    error.put("message", e.getMessage());
    error.put("type", e.type());
    if (e.param() == null) {
      error.putNull("param");
    } else {
      error.put("param", e.param());
    }
    if (e.code() == null) {
      error.putNull("code");
    } else {
      error.put("code", e.code());
    }
    return write(root);
  }

  static String write(ObjectNode node) {
    try {
      return JSON.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** OpenAI has two reasons: {@code stop} (a stop token or string) and {@code length}. */
  static String finishReason(FinishReason reason) {
    return reason == FinishReason.LENGTH ? "length" : "stop";
  }

  private static ObjectNode head(Job job, String object) {
    ObjectNode root = JSON.createObjectNode();
    root.put("id", job.id());
    root.put("object", object);
    root.put("created", job.created());
    root.put("model", job.request().model());
    return root;
  }

  private static void usage(ObjectNode root, Job job, Job.Finished end) {
    int prompt = job.request().prompt().length;
    root.putObject("usage").put("prompt_tokens", prompt).put("completion_tokens", end.completionTokens())
        .put("total_tokens", prompt + end.completionTokens());
  }
}
