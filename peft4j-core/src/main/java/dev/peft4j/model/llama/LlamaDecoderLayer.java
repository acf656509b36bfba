package dev.peft4j.model.llama;

import dev.peft4j.nn.KvCache;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.RmsNorm;
import dev.peft4j.nn.RotaryEmbedding;
import dev.peft4j.tensor.Tensor;

/** One pre-norm block: {@code h = x + attn(norm(x)); out = h + mlp(norm(h))}. */
final class LlamaDecoderLayer extends Module {
  private final RmsNorm inputLayernorm;
  final LlamaAttention selfAttn;
  private final RmsNorm postAttentionLayernorm;
  private final LlamaMlp mlp;

  LlamaDecoderLayer(LlamaConfig c, int layer) {
    selfAttn = child("self_attn", new LlamaAttention(c, layer));
    mlp = child("mlp", new LlamaMlp(c));
    inputLayernorm = child("input_layernorm", new RmsNorm(c.hiddenSize(), c.rmsNormEps()));
    postAttentionLayernorm = child("post_attention_layernorm", new RmsNorm(c.hiddenSize(), c.rmsNormEps()));
  }

  Tensor forward(Tensor x, RotaryEmbedding rope, Tensor positions, KvCache cache, Tensor mask) {
    Tensor h = x.add(selfAttn.forward(inputLayernorm.forward(x), rope, positions, cache, mask));
    return h.add(mlp.forward(postAttentionLayernorm.forward(h)));
  }
}
