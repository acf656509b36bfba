package dev.peft4j.peft.prompt;

import dev.peft4j.nn.Module;
import dev.peft4j.nn.Parameter;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;

/**
 * A bidirectional multi-layer LSTM over one sequence, {@code torch.nn.LSTM(bidirectional=True)}
 * with PyTorch's parameter names, gate order (i, f, g, o) and init U(-1/√H, 1/√H):
 * <pre>
 *   i = σ(W_ii x + b_ii + W_hi h + b_hi)    f = σ(W_if x + b_if + W_hf h + b_hf)
 *   g = tanh(W_ig x + b_ig + W_hg h + b_hg) o = σ(W_io x + b_io + W_ho h + b_ho)
 *   c' = f ⊙ c + i ⊙ g                      h' = o ⊙ tanh(c')
 * </pre>
 * The backward direction reads the sequence from the end; a layer's output is
 * {@code [h_forward; h_backward]} per step, the next layer's input (after dropout while training).
 */
final class Lstm extends Module {
  private final long hidden;
  private final int layers;
  private final Parameter[][] weights; // [layer·2 + direction] → {W_ih [4H, in], W_hh [4H, H], b_ih [4H], b_hh [4H]}

  Lstm(long input, long hidden, int layers) {
    this.hidden = hidden;
    this.layers = layers;
    this.weights = new Parameter[layers * 2][];
    double bound = 1.0 / Math.sqrt(hidden);
    for (int l = 0; l < layers; l++) {
      long in = l == 0 ? input : 2 * hidden;
      for (int dir = 0; dir < 2; dir++) {
        String suffix = "_l" + l + (dir == 1 ? "_reverse" : "");
        Parameter[] p = {
            parameter("weight_ih" + suffix, 4 * hidden, in), parameter("weight_hh" + suffix, 4 * hidden, hidden),
            parameter("bias_ih" + suffix, 4 * hidden), parameter("bias_hh" + suffix, 4 * hidden)};
        try (Engine.GradGuard g = Engine.noGrad()) {
          for (Parameter q : p) {
            q.set(Tensor.zeros(DType.F32, q.shape()).uniform_(-bound, bound));
          }
        }
        weights[l * 2 + dir] = p;
      }
    }
  }

  /** @param x [T, input] @return [T, 2·hidden] */
  Tensor forward(Tensor x, double dropout, boolean training) {
    Tensor input = x;
    for (int l = 0; l < layers; l++) {
      Tensor out = Tensor.cat(-1, direction(input, weights[l * 2], false), direction(input, weights[l * 2 + 1], true));
      input = l < layers - 1 ? Functional.dropout(out, dropout, training) : out;
    }
    return input;
  }

  /** One direction over [T, in]: hidden states [T, H] in sequence order. */
  private Tensor direction(Tensor x, Parameter[] p, boolean reverse) {
    long steps = x.size(0);
    Tensor inputGates = Functional.linear(x, p[0].value(), p[2].value()); // [T, 4H]
    Tensor h = Tensor.zeros(DType.F32, 1, hidden);
    Tensor c = Tensor.zeros(DType.F32, 1, hidden);
    Tensor[] outputs = new Tensor[(int) steps];
    for (int step = 0; step < steps; step++) {
      int t = reverse ? (int) steps - 1 - step : step;
      Tensor gates = inputGates.narrow(0, t, 1).add(Functional.linear(h, p[1].value(), p[3].value())); // [1, 4H]
      Tensor i = Functional.sigmoid(gates.narrow(1, 0, hidden));
      Tensor f = Functional.sigmoid(gates.narrow(1, hidden, hidden));
      Tensor g = gates.narrow(1, 2 * hidden, hidden).tanh();
      Tensor o = Functional.sigmoid(gates.narrow(1, 3 * hidden, hidden));
      c = f.mul(c).add(i.mul(g));
      h = o.mul(c.tanh());
      outputs[t] = h;
    }
    return Tensor.cat(0, outputs);
  }
}
