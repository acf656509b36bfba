package dev.peft4j.text;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The parts of a Hugging Face {@code tokenizer_config.json} peft4j uses. Every field is optional;
 * {@link #empty()} is a tokenizer.json without a config.
 *
 * @param bosToken {@code bos_token}: a string or an AddedToken object's {@code content}
 * @param eosToken {@code eos_token}
 * @param padToken {@code pad_token}
 * @param addBosToken {@code add_bos_token}: when present, whether encoding with special tokens
 *     prepends the BOS token (it then overrides the post-processor of tokenizer.json, as
 *     transformers' Llama tokenizers do)
 * @param addEosToken {@code add_eos_token}: likewise for appending EOS
 * @param modelMaxLength {@code model_max_length}; absent when missing or set to transformers'
 *     "very large" sentinel (anything beyond {@code int})
 * @param paddingSide {@code padding_side}
 * @param chatTemplate {@code chat_template}: the Jinja source, or the template named
 *     {@code default} when the file holds a list of named templates
 */
public record TokenizerConfig(
    Optional<String> bosToken,
    Optional<String> eosToken,
    Optional<String> padToken,
    Optional<Boolean> addBosToken,
    Optional<Boolean> addEosToken,
    OptionalInt modelMaxLength,
    Optional<PaddingSide> paddingSide,
    Optional<String> chatTemplate) {

  public TokenizerConfig {
    Objects.requireNonNull(bosToken, "bosToken");
    Objects.requireNonNull(eosToken, "eosToken");
    Objects.requireNonNull(padToken, "padToken");
    Objects.requireNonNull(addBosToken, "addBosToken");
    Objects.requireNonNull(addEosToken, "addEosToken");
    Objects.requireNonNull(modelMaxLength, "modelMaxLength");
    Objects.requireNonNull(paddingSide, "paddingSide");
    Objects.requireNonNull(chatTemplate, "chatTemplate");
  }

  /** No configuration at all. */
  public static TokenizerConfig empty() {
    return new TokenizerConfig(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
        Optional.empty(), OptionalInt.empty(), Optional.empty(), Optional.empty());
  }

  /**
   * Reads a {@code tokenizer_config.json}.
   *
   * @throws TokenizerException if the file is missing, is not a JSON object, or has a
   *     {@code padding_side} other than {@code left}/{@code right}
   */
  public static TokenizerConfig read(Path file) throws TokenizerException {
    JsonNode root = JsonFiles.readObject(file);
    Optional<PaddingSide> side = Optional.empty();
    JsonNode sideNode = root.get("padding_side");
    if (sideNode != null && !sideNode.isNull()) {
      try {
        side = Optional.of(PaddingSide.parse(sideNode.asText()));
      } catch (IllegalArgumentException e) {
        throw new TokenizerException(file, e.getMessage());
      }
    }
    return new TokenizerConfig(
        JsonFiles.token(root.get("bos_token")),
        JsonFiles.token(root.get("eos_token")),
        JsonFiles.token(root.get("pad_token")),
        JsonFiles.bool(root.get("add_bos_token")),
        JsonFiles.bool(root.get("add_eos_token")),
        JsonFiles.smallInt(root.get("model_max_length")),
        side,
        chatTemplate(root.get("chat_template")));
  }

  /** This config with {@code chatTemplate} replaced. */
  public TokenizerConfig withChatTemplate(String template) {
    return new TokenizerConfig(bosToken, eosToken, padToken, addBosToken, addEosToken, modelMaxLength,
        paddingSide, Optional.of(template));
  }

  /** The built-in template recognised in {@link #chatTemplate()}, if any; see {@link ChatTemplate#detect}. */
  public Optional<ChatTemplate> detectChatTemplate() {
    return chatTemplate.flatMap(ChatTemplate::detect);
  }

  private static Optional<String> chatTemplate(JsonNode node) {
    if (node == null || node.isNull()) {
      return Optional.empty();
    }
    if (node.isTextual()) {
      return Optional.of(node.asText());
    }
    if (node.isArray()) { // [{"name": "default", "template": "..."}, {"name": "tool_use", ...}]
      for (JsonNode named : node) {
        if ("default".equals(named.path("name").asText()) && named.path("template").isTextual()) {
          return Optional.of(named.get("template").asText());
        }
      }
    }
    return Optional.empty();
  }
}
