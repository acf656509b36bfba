package dev.peft4j.text;

import java.util.List;

/**
 * Llama-3-Instruct. Reproduces the {@code chat_template} of
 * {@code meta-llama/Meta-Llama-3-8B-Instruct}'s {@code tokenizer_config.json} (bos_token
 * {@code <|begin_of_text|>}):
 *
 * <pre>{@code
 * {% set loop_messages = messages %}{% for message in loop_messages %}
 *   {% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'
 *       + message['content'] | trim + '<|eot_id|>' %}
 *   {% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}
 * {% endfor %}
 * {% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}
 * }</pre>
 *
 * (one line in the file). In Jinja a filter binds tighter than {@code +}, so only the content is
 * trimmed. Llama 3.1+ templates add a dated system header and are a different format.
 */
final class Llama3ChatTemplate implements ChatTemplate {
  static final String BOS = "<|begin_of_text|>";

  @Override
  public String name() {
    return "llama3";
  }

  @Override
  public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < messages.size(); i++) {
      ChatMessage m = messages.get(i);
      if (i == 0) {
        out.append(BOS);
      }
      out.append("<|start_header_id|>").append(m.role()).append("<|end_header_id|>\n\n")
          .append(PyStrings.strip(m.content())).append("<|eot_id|>");
    }
    if (addGenerationPrompt) {
      out.append("<|start_header_id|>assistant<|end_header_id|>\n\n");
    }
    return out.toString();
  }

  @Override
  public String toString() {
    return name();
  }
}
