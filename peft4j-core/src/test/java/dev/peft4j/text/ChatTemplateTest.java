package dev.peft4j.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Expected strings are worked out by hand from the Jinja templates quoted in each template
 * class (Llama-2-7b-chat-hf, Meta-Llama-3-8B-Instruct, ChatML).
 */
class ChatTemplateTest {
  static final List<ChatMessage> CONVERSATION = List.of(
      ChatMessage.system("You are terse."),
      ChatMessage.user("Hi!"),
      ChatMessage.assistant("Hello."),
      ChatMessage.user("  What is 2+2?\n"));

  @Test
  void llama2() {
    String expected = "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi! [/INST]"
        + " Hello. </s>"
        + "<s>[INST] What is 2+2? [/INST]";
    assertThat(ChatTemplate.LLAMA2.render(CONVERSATION, true)).isEqualTo(expected);
    assertThat(ChatTemplate.LLAMA2.render(CONVERSATION, false)).isEqualTo(expected);
  }

  @Test
  void llama2WithoutSystemAndStripping() {
    List<ChatMessage> chat = List.of(ChatMessage.user(" \u00a0Hi\t"), ChatMessage.assistant("\n Yes \n"));
    assertThat(ChatTemplate.LLAMA2.render(chat, false)).isEqualTo("<s>[INST] Hi [/INST] Yes </s>");
    // With a system message, strip() applies to the whole "<<SYS>>..." string: the user's leading spaces stay.
    List<ChatMessage> withSystem = List.of(ChatMessage.system(""), ChatMessage.user("  Hi  "));
    assertThat(ChatTemplate.LLAMA2.render(withSystem, false))
        .isEqualTo("<s>[INST] <<SYS>>\n\n<</SYS>>\n\n  Hi [/INST]");
  }

  @Test
  void llama2RejectsWhatTheJinjaTemplateRejects() {
    assertThatThrownBy(() -> ChatTemplate.LLAMA2.render(List.of(ChatMessage.assistant("x")), false))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("alternate");
    assertThatThrownBy(() -> ChatTemplate.LLAMA2.render(
        List.of(ChatMessage.user("a"), ChatMessage.user("b")), false))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ChatTemplate.LLAMA2.render(List.of(), false))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void llama3() {
    String body = "<|begin_of_text|>"
        + "<|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
        + "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
        + "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
        + "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>";
    assertThat(ChatTemplate.LLAMA3.render(CONVERSATION, false)).isEqualTo(body);
    assertThat(ChatTemplate.LLAMA3.render(CONVERSATION, true))
        .isEqualTo(body + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    assertThat(ChatTemplate.LLAMA3.render(List.of(), true))
        .isEqualTo("<|start_header_id|>assistant<|end_header_id|>\n\n");
  }

  @Test
  void chatMl() {
    String body = "<|im_start|>system\nYou are terse.<|im_end|>\n"
        + "<|im_start|>user\nHi!<|im_end|>\n"
        + "<|im_start|>assistant\nHello.<|im_end|>\n"
        + "<|im_start|>user\n  What is 2+2?\n<|im_end|>\n";
    assertThat(ChatTemplate.CHATML.render(CONVERSATION, false)).isEqualTo(body);
    assertThat(ChatTemplate.CHATML.render(CONVERSATION, true)).isEqualTo(body + "<|im_start|>assistant\n");
  }

  @Test
  void trainingSplitMarksTheFinalReply() {
    List<ChatMessage> chat = List.of(ChatMessage.system("Be brief."), ChatMessage.user("2+2?"), ChatMessage.assistant(" 4 "));

    ChatPrompt l2 = ChatTemplate.LLAMA2.renderForTraining(chat);
    assertThat(l2.prompt()).isEqualTo("<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n2+2? [/INST]");
    assertThat(l2.completion()).isEqualTo(" 4 </s>");

    ChatPrompt l3 = ChatTemplate.LLAMA3.renderForTraining(chat);
    assertThat(l3.prompt()).endsWith("2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
    assertThat(l3.completion()).isEqualTo("4<|eot_id|>");

    ChatPrompt ml = ChatTemplate.CHATML.renderForTraining(chat);
    assertThat(ml.text()).isEqualTo(ChatTemplate.CHATML.render(chat, false));
    assertThat(ml.prompt()).isEqualTo(ChatTemplate.CHATML.render(chat.subList(0, 2), true));
    assertThat(ml.completion()).isEqualTo(" 4 <|im_end|>\n");

    assertThatThrownBy(() -> ChatTemplate.CHATML.renderForTraining(chat.subList(0, 2)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("assistant");
    assertThatThrownBy(() -> ChatTemplate.CHATML.renderForTraining(List.of(ChatMessage.assistant("x"))))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void named() {
    assertThat(ChatTemplate.named("llama2")).isSameAs(ChatTemplate.LLAMA2);
    assertThat(ChatTemplate.named("Llama-3")).isSameAs(ChatTemplate.LLAMA3);
    assertThat(ChatTemplate.named("ChatML")).isSameAs(ChatTemplate.CHATML);
    assertThatThrownBy(() -> ChatTemplate.named("vicuna"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("llama2, llama3, chatml");
  }

  @Test
  void detectsTheRealTemplates() {
    String llama2 = "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
        + "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
        + "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
        + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
        + "{% if loop.index0 == 0 and system_message != false %}"
        + "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
        + "{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}"
        + "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
        + "{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";
    String llama3 = "{% set loop_messages = messages %}{% for message in loop_messages %}"
        + "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
        + "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
        + "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
        + "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
    String chatml = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
        + " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    assertThat(ChatTemplate.detect(llama2)).contains(ChatTemplate.LLAMA2);
    assertThat(ChatTemplate.detect(llama3)).contains(ChatTemplate.LLAMA3);
    assertThat(ChatTemplate.detect(chatml)).contains(ChatTemplate.CHATML);
  }

  @Test
  void detectRefusesVariantsThatRenderDifferently() {
    String qwen = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
        + "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
        + "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}";
    String llama31 = "{{- bos_token }}{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}"
        + "{{- \"Cutting Knowledge Date: December 2023\\n\" }}<|eot_id|><|end_header_id|>";
    String mistral = "{{ bos_token }}{% for message in messages %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% endfor %}";
    assertThat(ChatTemplate.detect(qwen)).isEmpty();
    assertThat(ChatTemplate.detect(llama31)).isEmpty();
    assertThat(ChatTemplate.detect(mistral)).isEmpty();
    assertThat(ChatTemplate.detect("")).isEmpty();
    assertThat(ChatTemplate.detect(null)).isEmpty();
  }
}
