package dev.peft4j.text;

import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Renders a conversation into the prompt string a chat model was fine-tuned on, exactly as the
 * Jinja {@code chat_template} in that model's {@code tokenizer_config.json} would (Hugging Face
 * {@code apply_chat_template(messages, tokenize=False, add_generation_prompt=...)}).
 *
 * <p>Three formats are built in: {@link #LLAMA2}, {@link #LLAMA3} and {@link #CHATML}. Each
 * implementation quotes the template it reproduces. The rendered text already contains the
 * model's special tokens (e.g. {@code <s>} or {@code <|begin_of_text|>}) as text, so encode it
 * with {@code addSpecialTokens = false} to avoid a second BOS.
 */
public sealed interface ChatTemplate permits Llama2ChatTemplate, Llama3ChatTemplate, ChatMlTemplate {

  /** Llama-2-chat: {@code <s>[INST] <<SYS>>\n...\n<</SYS>>\n\n... [/INST]}. */
  ChatTemplate LLAMA2 = new Llama2ChatTemplate();

  /** Llama-3-Instruct: {@code <|begin_of_text|><|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>}. */
  ChatTemplate LLAMA3 = new Llama3ChatTemplate();

  /** ChatML: {@code <|im_start|>role\n...<|im_end|>\n}. */
  ChatTemplate CHATML = new ChatMlTemplate();

  /** The short name accepted by {@link #named(String)}: {@code llama2}, {@code llama3} or {@code chatml}. */
  String name();

  /**
   * Renders {@code messages}.
   *
   * @param addGenerationPrompt append the header that opens an assistant turn, so that the model
   *     continues with its reply (ignored by Llama-2, whose template has no such header: a prompt
   *     ending in {@code [/INST]} already asks for a reply)
   * @throws IllegalArgumentException if the template rejects the conversation (Llama-2 requires
   *     user and assistant turns to alternate, starting with the user, after an optional system
   *     message)
   */
  String render(List<ChatMessage> messages, boolean addGenerationPrompt);

  /**
   * Renders a conversation whose last message is the assistant reply to learn, and marks where
   * that reply starts. The prompt part is exactly {@code render(all but the last message, true)}
   * and the whole text is {@code render(messages, false)}.
   *
   * @throws IllegalArgumentException if the last message is not from the assistant, if it is the
   *     only message, or if the template does not render the conversation as that prompt followed
   *     by the reply
   */
  default ChatPrompt renderForTraining(List<ChatMessage> messages) {
    Objects.requireNonNull(messages, "messages");
    if (messages.size() < 2) {
      throw new IllegalArgumentException(
          "a training conversation needs at least one message before the assistant reply: "
              + messages.size() + " message(s)");
    }
    ChatMessage last = messages.get(messages.size() - 1);
    if (!"assistant".equals(last.role())) {
      throw new IllegalArgumentException(
          "the last message of a training conversation must be from \"assistant\": \"" + last.role() + "\"");
    }
    String prompt = render(messages.subList(0, messages.size() - 1), true);
    String text = render(messages, false);
    if (!text.startsWith(prompt)) {
      throw new IllegalArgumentException(
          name() + " does not render this conversation as prompt + reply; cannot mark the completion");
    }
    return new ChatPrompt(text, prompt.length());
  }

  /** All built-in templates. */
  static List<ChatTemplate> all() {
    return List.of(LLAMA2, LLAMA3, CHATML);
  }

  /**
   * Looks a template up by name, ignoring case: {@code llama2}, {@code llama3}, {@code chatml}
   * (also {@code llama-2}, {@code llama-3}).
   *
   * @throws IllegalArgumentException for any other name, listing the known ones
   */
  static ChatTemplate named(String name) {
    String key = name.toLowerCase(Locale.ROOT).replace("-", "").replace("_", "");
    for (ChatTemplate t : all()) {
      if (t.name().equals(key)) {
        return t;
      }
    }
    throw new IllegalArgumentException(
        "unknown chat template \"" + name + "\"; known: llama2, llama3, chatml");
  }

  /**
   * Recognises a {@code chat_template} from a {@code tokenizer_config.json} by its markers, in the
   * way llama.cpp's {@code llama_chat_apply_template} does. Variants that would render differently
   * from the built-in template give empty rather than a near miss:
   *
   * <ul>
   *   <li>{@code <|start_header_id|>}, {@code <|end_header_id|>} and {@code <|eot_id|>} mean
   *       {@link #LLAMA3}, unless the template writes a {@code Cutting Knowledge Date} system
   *       header (Llama 3.1 and later, not supported);
   *   <li>{@code [INST]} together with {@code <<SYS>>} means {@link #LLAMA2} (Mistral's
   *       {@code [INST]} format has no {@code <<SYS>>} and is not supported);
   *   <li>{@code <|im_start|>} and {@code <|im_end|>} mean {@link #CHATML}, unless the template
   *       itself writes an {@code <|im_start|>system} turn (Qwen-style default system prompt).
   * </ul>
   *
   * @return the matching template, or empty if none is recognised
   */
  static Optional<ChatTemplate> detect(String jinjaTemplate) {
    if (jinjaTemplate == null) {
      return Optional.empty();
    }
    String t = jinjaTemplate;
    if (t.contains("<|start_header_id|>") && t.contains("<|end_header_id|>") && t.contains("<|eot_id|>")) {
      return t.contains("Cutting Knowledge Date") ? Optional.empty() : Optional.of(LLAMA3);
    }
    if (t.contains("[INST]") && t.contains("<<SYS>>")) {
      return Optional.of(LLAMA2);
    }
    if (t.contains("<|im_start|>") && t.contains("<|im_end|>")) {
      return t.contains("<|im_start|>system") ? Optional.empty() : Optional.of(CHATML);
    }
    return Optional.empty();
  }
}
