package dev.peft4j.model.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.io.HfConfig;
import dev.peft4j.io.ModelFormatException;
import dev.peft4j.nn.Activation;
import dev.peft4j.nn.RopeScaling;
import org.junit.jupiter.api.Test;

/**
 * The LLaMA family's defaults where {@code config.json} is silent, as transformers 5.18's config
 * classes have them ({@code models/qwen3/configuration_qwen3.py}: head_dim 128, attention_bias
 * false, vocab 151936, max_position_embeddings 32768; Qwen2's q/k/v biases in
 * {@code modeling_qwen2.py}; {@code models/gemma3/configuration_gemma3.py}: every sixth layer full,
 * window 4096, rope θ 10⁶ for the full layers and 10⁴ for the sliding ones, query_pre_attn_scalar 256).
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

  /** Gemma 3 as transformers 4.x wrote it (rope_theta, rope_local_base_freq, rope_scaling, sliding_window_pattern). */
  @Test
  void gemma3InTheOlderLayoutAndItsDefaults() throws Exception {
    LlamaConfig gemma = LlamaConfig.from(HfConfig.parse("{\"model_type\": \"gemma3_text\", \"hidden_size\": 64,"
        + " \"num_hidden_layers\": 7, \"rope_theta\": 500000.0, \"rope_local_base_freq\": 20000.0,"
        + " \"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": 8.0}, \"sliding_window\": 512}", "gemma"));
    assertThat(gemma.gemma3().slidingLayers()).containsExactly(true, true, true, true, true, false, true);
    assertThat(gemma.gemma3().slidingWindow()).isEqualTo(512);
    assertThat(gemma.ropeTheta()).isEqualTo(500000.0);
    assertThat(gemma.ropeScaling()).isEqualTo(new RopeScaling.Linear(8.0));
    assertThat(gemma.gemma3().localRopeTheta()).isEqualTo(20000.0);
    assertThat(gemma.gemma3().embedScale()).isEqualTo(8.0);
    assertThat(gemma.gemma3().attentionScale()).isEqualTo(1 / 16.0);
    assertThat(gemma.gemma3().finalLogitSoftcap()).isNull();
    assertThat(gemma.headDim()).isEqualTo(256);
    assertThat(gemma.tieWordEmbeddings()).isTrue();
    assertThat(gemma.activation()).isEqualTo(Activation.GELU_TANH);
    assertThat(gemma.normOffset()).isEqualTo(1.0);
    assertThat(gemma.qkNorm()).isTrue();

    assertThatThrownBy(() -> LlamaConfig.from(HfConfig.parse(
        "{\"model_type\": \"gemma3_text\", \"attn_logit_softcapping\": 50.0}", "gemma")))
        .isInstanceOf(ModelFormatException.class).hasMessageContaining("attn_logit_softcapping is not supported");
    assertThatThrownBy(() -> LlamaConfig.from(HfConfig.parse(
        "{\"model_type\": \"gemma3_text\", \"num_hidden_layers\": 2, \"layer_types\": [\"full_attention\","
            + " \"chunked_attention\"]}", "gemma")))
        .isInstanceOf(ModelFormatException.class).hasMessageContaining("layer_types[1] 'chunked_attention' is not supported");
  }
}
