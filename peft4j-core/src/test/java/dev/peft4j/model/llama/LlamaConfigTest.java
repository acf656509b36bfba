package dev.peft4j.model.llama;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.io.HfConfig;
import org.junit.jupiter.api.Test;

/**
 * The LLaMA family's defaults where {@code config.json} is silent, as transformers 5.18's config
 * classes have them ({@code models/qwen3/configuration_qwen3.py}: head_dim 128, attention_bias
 * false, vocab 151936, max_position_embeddings 32768; Qwen2's q/k/v biases in
 * {@code modeling_qwen2.py}).
 */
class LlamaConfigTest {

  @Test
  void qwen3NormsEachHeadOfQAndKAndHasNoBiasesByDefault() throws Exception {
    LlamaConfig qwen3 = LlamaConfig.from(HfConfig.parse(
        "{\"model_type\": \"qwen3\", \"hidden_size\": 64, \"num_attention_heads\": 4}", "qwen3"));
    assertThat(qwen3.qkNorm()).isTrue();
    assertThat(qwen3.headDim()).as("Qwen3Config's head_dim, not hidden/heads").isEqualTo(128);
    assertThat(qwen3.qkvBias()).isFalse();
    assertThat(qwen3.outputBias()).isFalse();
    assertThat(qwen3.vocabSize()).isEqualTo(151936);
    assertThat(qwen3.maxPositions()).isEqualTo(32768);

    LlamaConfig biased = LlamaConfig.from(HfConfig.parse(
        "{\"model_type\": \"qwen3\", \"attention_bias\": true, \"head_dim\": 16}", "qwen3"));
    assertThat(biased.qkvBias()).isTrue();
    assertThat(biased.outputBias()).as("Qwen3's o_proj follows attention_bias").isTrue();
    assertThat(biased.headDim()).isEqualTo(16);

    LlamaConfig qwen2 = LlamaConfig.from(HfConfig.parse("{\"model_type\": \"qwen2\"}", "qwen2"));
    assertThat(qwen2.qkNorm()).isFalse();
    assertThat(qwen2.qkvBias()).isTrue();
    assertThat(qwen2.outputBias()).isFalse();
  }
}
