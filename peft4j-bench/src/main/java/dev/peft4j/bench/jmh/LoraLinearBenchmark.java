package dev.peft4j.bench.jmh;

import dev.peft4j.bench.ModelShape;
import dev.peft4j.bench.RandomModels;
import dev.peft4j.model.llama.LlamaForCausalLM;
import dev.peft4j.nn.Parameter;
import dev.peft4j.nn.Projection;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.peft.lora.LoraConfig;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One {@code dim x dim} projection, forward and backward, on {@code tokens} rows that need a
 * gradient (as in the middle of a network): frozen alone, and with a LoRA delta of rank {@code r}
 * attached through the real hook ({@link Projection#forward} + {@code LoraDelta}). The difference
 * is what LoRA costs per adapted layer.
 */
public class LoraLinearBenchmark extends LayerBenchmark {
  @Param({"1024"})
  public int tokens;

  @Param({"512"})
  public int dim;

  @Param({"8"})
  public int rank;

  private LlamaForCausalLM model;
  private Projection frozen;   // k_proj: no adapter
  private Projection adapted;  // q_proj: LoRA attached
  private PeftModel peft;
  private Tensor x;

  @Setup(Level.Trial)
  public void setUp() {
    DType d = dtype();
    ModelShape shape = new ModelShape(dim, 1, 8, 8, 4 * dim, 256);
    model = RandomModels.llama(shape, d, 2048, 1);
    peft = Peft.wrap(model, LoraConfig.builder().r(rank).loraAlpha(2 * rank).targetModules("q_proj")
        .init(LoraConfig.LoraInit.RANDOM).build());
    frozen = (Projection) model.namedModules().get("model.layers.0.self_attn.k_proj");
    adapted = (Projection) model.namedModules().get("model.layers.0.self_attn.q_proj");
    x = Tensor.randn(DType.F32, tokens, dim).to(d).retain();
    x.requiresGrad(true);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    x.close();
    RandomModels.free(model);
  }

  @Benchmark
  public void frozenForwardBackward() {
    try (Scope scope = Scope.open()) {
      frozen.forward(x).sum().backward();
      x.clearGrad();
    }
  }

  @Benchmark
  public void loraForwardBackward() {
    try (Scope scope = Scope.open()) {
      adapted.forward(x).sum().backward();
      x.clearGrad();
      for (Parameter p : peft.trainableParameters().values()) {
        p.value().clearGrad();
      }
    }
  }
}
