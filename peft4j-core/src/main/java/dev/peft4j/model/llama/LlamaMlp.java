package dev.peft4j.model.llama;

import dev.peft4j.nn.Linear;
import dev.peft4j.nn.Module;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;

/** {@code mlp}: SwiGLU, {@code down(silu(gate(x)) * up(x))} (Shazeer 2020). */
final class LlamaMlp extends Module {
  private final Linear gateProj;
  private final Linear upProj;
  private final Linear downProj;

  LlamaMlp(LlamaConfig c) {
    gateProj = child("gate_proj", new Linear(c.hiddenSize(), c.intermediateSize(), c.mlpBias()));
    upProj = child("up_proj", new Linear(c.hiddenSize(), c.intermediateSize(), c.mlpBias()));
    downProj = child("down_proj", new Linear(c.intermediateSize(), c.hiddenSize(), c.mlpBias()));
  }

  Tensor forward(Tensor x) {
    return downProj.forward(Functional.silu(gateProj.forward(x)).mul(upProj.forward(x)));
  }

  /** {@code down_proj}, which produces the MLP's output. */
  Linear outputProjection() {
    return downProj;
  }
}
