package dev.peft4j.text;

import java.util.List;

/**
 * ChatML. Reproduces the template given as the ChatML example in the Hugging Face transformers
 * chat-templating guide (https://huggingface.co/docs/transformers/chat_templating) and shipped in
 * ChatML models' {@code tokenizer_config.json}, e.g. {@code teknium/OpenHermes-2.5-Mistral-7B}:
 *
 * <pre>{@code
 * {% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content']
 *     + '<|im_end|>' + '\n'}}{% endfor %}
 * {% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}
 * }</pre>
 *
 * Content is used verbatim (no trimming) and no BOS is written.
 */
final class ChatMlTemplate implements ChatTemplate {

  @Override
  public String name() {
    return "chatml";
  }

  @Override
  public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
    StringBuilder out = new StringBuilder();
    for (ChatMessage m : messages) {
      out.append("<|im_start|>").append(m.role()).append('\n').append(m.content()).append("<|im_end|>\n");
    }
    if (addGenerationPrompt) {
      out.append("<|im_start|>assistant\n");
    }
    return out.toString();
  }

  @Override
  public String toString() {
    return name();
  }
}
