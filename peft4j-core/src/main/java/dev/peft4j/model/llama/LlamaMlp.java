package dev.peft4j.model.llama;

import dev.peft4j.nn.Activation;
import dev.peft4j.nn.Linear;
import dev.peft4j.nn.Module;
import dev.peft4j.tensor.Tensor;

/** {@code mlp}: a gated MLP, {@code down(act(gate(x)) * up(x))}: SwiGLU with silu, GeGLU with Gemma's tanh GELU (Shazeer 2020). */
final class LlamaMlp extends Module {
  private final Linear gateProj;
  private final Linear upProj;
  private final Linear downProj;
  private final Activation activation;

  LlamaMlp(LlamaConfig c) {
    gateProj = child("gate_proj", new Linear(c.hiddenSize(), c.intermediateSize(), c.mlpBias()));
    upProj = child("up_proj", new Linear(c.hiddenSize(), c.intermediateSize(), c.mlpBias()));
    downProj = child("down_proj", new Linear(c.intermediateSize(), c.hiddenSize(), c.mlpBias()));
    activation = c.activation();
  }

  Tensor forward(Tensor x) {
    return downProj.forward(activation.apply(gateProj.forward(x)).mul(upProj.forward(x)));
  }

  /** {@code down_proj}, which produces the MLP's output. */
  Linear outputProjection() {
    return downProj;
  }
}
