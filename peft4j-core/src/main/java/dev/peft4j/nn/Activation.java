package dev.peft4j.nn;

import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;
import java.util.function.UnaryOperator;

/** The activation functions named by Hugging Face configs ({@code hidden_act}, {@code activation_function}). */
public enum Activation {
  GELU(Functional::gelu),
  GELU_TANH(Functional::geluTanh),
  SILU(Functional::silu),
  RELU(x -> x.clampMin(0)),
  TANH(Tensor::tanh);

  private final UnaryOperator<Tensor> function;

  Activation(UnaryOperator<Tensor> function) {
    this.function = function;
  }

  public Tensor apply(Tensor x) {
    return function.apply(x);
  }

  /** Parses a Hugging Face activation name, e.g. {@code gelu}, {@code gelu_new}, {@code silu}. */
  public static Activation fromHfName(String name) {
    switch (name) {
      case "gelu": return GELU;
      case "gelu_new": case "gelu_pytorch_tanh": case "gelu_fast": return GELU_TANH;
      case "silu": case "swish": return SILU;
      case "relu": return RELU;
      case "tanh": return TANH;
      default: throw new IllegalArgumentException("unsupported activation function '" + name + "'");
    }
  }
}
