package dev.peft4j.text;

import java.util.List;

/**
 * Llama-2-chat. Reproduces the {@code chat_template} of {@code meta-llama/Llama-2-7b-chat-hf}'s
 * {@code tokenizer_config.json} (bos_token {@code <s>}, eos_token {@code </s>}):
 *
 * <pre>{@code
 * {% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}
 * {% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}
 * {% set system_message = false %}{% endif %}
 * {% for message in loop_messages %}
 *   {% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
 *     {{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}
 *   {% if loop.index0 == 0 and system_message != false %}
 *     {% set content = '<<SYS>>\n' + system_message + '\n<</SYS>>\n\n' + message['content'] %}
 *   {% else %}{% set content = message['content'] %}{% endif %}
 *   {% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}
 *   {% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}
 * {% endfor %}
 * }</pre>
 *
 * (one line in the file; broken here for reading). The template has no generation prompt.
 */
final class Llama2ChatTemplate implements ChatTemplate {
  static final String BOS = "<s>";
  static final String EOS = "</s>";

  @Override
  public String name() {
    return "llama2";
  }

  @Override
  public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
    if (messages.isEmpty()) {
      // messages[0]['role'] is undefined in Jinja: transformers raises too.
      throw new IllegalArgumentException("llama2 chat template needs at least one message");
    }
    List<ChatMessage> loop = messages;
    String system = null; // Jinja's `false`
    if ("system".equals(messages.get(0).role())) {
      loop = messages.subList(1, messages.size());
      system = messages.get(0).content();
    }
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < loop.size(); i++) {
      ChatMessage m = loop.get(i);
      boolean isUser = "user".equals(m.role());
      if (isUser != (i % 2 == 0)) {
        throw new IllegalArgumentException(
            "Conversation roles must alternate user/assistant/user/assistant/... (message "
                + (system == null ? i : i + 1) + " has role \"" + m.role() + "\")");
      }
      String content = (i == 0 && system != null)
          ? "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + m.content()
          : m.content();
      if (isUser) {
        out.append(BOS).append("[INST] ").append(PyStrings.strip(content)).append(" [/INST]");
      } else if ("assistant".equals(m.role())) {
        out.append(' ').append(PyStrings.strip(content)).append(' ').append(EOS);
      }
    }
    return out.toString();
  }

  @Override
  public String toString() {
    return name();
  }
}
