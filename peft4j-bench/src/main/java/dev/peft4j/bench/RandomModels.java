package dev.peft4j.bench;

import dev.peft4j.model.llama.LlamaForCausalLM;
import dev.peft4j.nn.Parameter;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.util.Map;
import java.util.Random;

/** LLaMA models with random weights, so benchmarks need no checkpoint. */
public final class RandomModels {
  private RandomModels() {}

  /**
   * A {@link LlamaForCausalLM} of {@code shape} whose weights are N(0, 0.02²) (norm weights 1),
   * stored in {@code dtype}. Each weight is drawn in float32 and converted in its own scope, so
   * the transient memory is one tensor.
   */
  public static LlamaForCausalLM llama(ModelShape shape, DType dtype, int maxPositions, long seed) {
    LlamaForCausalLM model = new LlamaForCausalLM(shape.config(maxPositions));
    Engine.manualSeed(seed);
    try (Engine.GradGuard noGrad = Engine.noGrad()) {
      for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet()) {
        try (Scope scope = Scope.open()) {
          Parameter p = e.getValue();
          Tensor value = e.getKey().endsWith("norm.weight")
              ? Tensor.ones(dtype, p.shape())
              : Tensor.randn(DType.F32, p.shape()).mul_(0.02).to(dtype);
          p.set(value.contiguous());
        }
      }
    }
    return model;
  }

  /** {@code batch x length} token ids drawn uniformly from {@code [0, vocab)}. */
  public static Tensor tokenIds(Random random, int batch, int length, int vocab) {
    long[] ids = new long[batch * length];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = random.nextInt(vocab);
    }
    return Tensor.ofLongs(ids, batch, length);
  }

  /**
   * Frees every parameter's native memory now instead of waiting for the garbage collector;
   * {@code model} must not be used afterwards.
   */
  public static void free(dev.peft4j.nn.Module model) {
    for (Parameter p : model.namedParameters().values()) {
      if (p.isSet()) {
        p.value().close();
      }
    }
  }
}
