package dev.peft4j.train;

import dev.peft4j.model.Stages;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;

/**
 * Gradient checkpointing (Chen et al. 2016, "Training deep nets with sublinear memory cost"; Hugging
 * Face's {@code gradient_checkpointing_enable}): a training step keeps only each layer's input,
 * not the activations inside the layers, and recomputes a layer when its gradient is needed. It
 * trades one more forward pass of the layers for the memory of all but one layer's activations.
 *
 * <p>libtorch's C++ API has no {@code torch.utils.checkpoint}, and the JavaCPP presets offer no way
 * to define a custom autograd function, so the backward pass is driven segment by segment, by the
 * chain rule across the layer boundaries:
 *
 * <ol>
 *   <li>Forward: the embedding stage, then each layer in its own {@link Scope}, its output detached
 *       (its graph and activations are freed at once); the layers' inputs h₀ … h_{L-1} are kept.
 *   <li>The head from x = h_L (a leaf that requires grad), and the loss back-propagated from its
 *       output ({@link LossBackward}): the head's parameters get their gradients, and
 *       g = ∂loss/∂h_L = x.grad.
 *   <li>For l = L-1 … 0: layer l is recomputed from its kept input (as a leaf that requires grad) and
 *       {@code out.backward(g)} adds ∂loss/∂θ to its parameters' gradients; g ← ∂loss/∂h_l.
 *   <li>The embedding stage is recomputed with autograd and back-propagates g, so trainable inputs
 *       (prompt and P-tuning encoders) get their gradients.
 * </ol>
 *
 * The forward runs each layer as its recomputation will (its input requiring grad, autograd
 * recording), so both compute the same values with the same kernels (bf16 attention on the CPU
 * picks its kernel by whether a backward follows). Dropout draws the same masks: the generator state
 * before each stage is saved and restored for its recomputation, and afterwards the generator
 * continues from where an ordinary step leaves it. Only libtorch's default CPU generator is
 * saved ({@link Engine#rngState()}), so dropout on another device is not reproduced.
 */
final class GradientCheckpointing {
  private GradientCheckpointing() {}

  /**
   * Back-propagates {@code loss / divisor} through {@code stages}, the loss taken from the head's
   * output by {@code loss}; runs inside the caller's {@link Scope}.
   *
   * @return the loss (not divided); the layers are not back-propagated when it is not finite
   */
  static <O> double backward(Stages<O> stages, LossBackward<? super O> loss, int divisor) {
    int layers = stages.layers();
    Tensor[] inputs = new Tensor[layers + 1]; // h_0 … h_L, no graph
    byte[][] generator = new byte[layers + 1][]; // the generator state before the embedding and each layer
    generator[0] = Engine.rngState();
    try (Engine.GradGuard g = Engine.noGrad()) {
      inputs[0] = stages.embed().detach(); // in the caller's scope: the stages keep its masks and positions
    }
    for (int i = 0; i < layers; i++) {
      generator[i + 1] = Engine.rngState();
      try (Scope scope = Scope.open()) {
        inputs[i + 1] = scope.keep(stages.layer(i, inputs[i].requiresGrad(true)).detach());
      }
    }
    double value;
    Tensor grad;
    try (Scope scope = Scope.open()) {
      Tensor x = inputs[layers].requiresGrad(true);
      value = loss.backward(stages.head(x), divisor);
      if (!Double.isFinite(value)) {
        return value;
      }
      grad = keep(scope, x.grad());
    }
    byte[] after = Engine.rngState();
    for (int i = layers - 1; i >= 0 && grad != null; i--) {
      Engine.setRngState(generator[i + 1]);
      try (Scope scope = Scope.open()) {
        stages.layer(i, inputs[i]).backward(grad);
        grad = keep(scope, inputs[i].grad());
      }
    }
    if (grad != null) {
      Engine.setRngState(generator[0]);
      Tensor embedded = stages.embed();
      if (embedded.requiresGrad()) {
        embedded.backward(grad);
      }
    }
    Engine.setRngState(after);
    return value;
  }

  /** {@code gradient} kept past {@code scope}; null (the loss does not depend on it) stays null. */
  private static Tensor keep(Scope scope, Tensor gradient) {
    return gradient == null ? null : scope.keep(gradient);
  }
}
