package dev.peft4j.bench.jmh;

import dev.peft4j.bench.InferVariant;
import dev.peft4j.bench.ModelShape;
import dev.peft4j.bench.RandomModels;
import dev.peft4j.model.llama.LlamaForCausalLM;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.util.Random;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One LLaMA decoder layer (dim 512, 8 heads, 4 KV heads, FFN 1408, a 1,000-token vocabulary so the
 * output head stays small) with a PEFT method attached through the real modules, as
 * {@code bench infer} attaches them: {@code base}, {@code lora}, {@code houlsby} (the bottleneck
 * adapter), {@code prefix} (attention with 20 prefix positions) and {@code llama-adapter} (the
 * gated adaption-prompt attention). {@code forward} is inference (no autograd);
 * {@code forwardBackward} back-propagates Σ logits into the method's parameters (for {@code base},
 * which has none, it is the forward with autograd recording).
 */
public class MethodLayerBenchmark extends LayerBenchmark {
  private static final ModelShape SHAPE = new ModelShape(512, 1, 8, 4, 1408, 1000);
  private static final int BATCH = 4;

  @Param({"base", "lora", "houlsby", "prefix", "llama-adapter"})
  public String method;

  @Param({"128"})
  public int seq;

  private LlamaForCausalLM model;
  private AutoCloseable attached;
  private Tensor ids;

  @Setup(Level.Trial)
  public void setUp() {
    model = RandomModels.llama(SHAPE, dtype(), 2048, 7);
    InferVariant variant = InferVariant.ALL.stream().filter(v -> v.name().equals(method)).findFirst().orElseThrow();
    attached = variant.setup().attach(model, BATCH);
    ids = RandomModels.tokenIds(new Random(7), BATCH, seq, SHAPE.vocab()).retain();
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    attached.close();
    ids.close();
    RandomModels.free(model);
  }

  @Benchmark
  public void forward() {
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      model.forward(ids, null, null);
    }
  }

  @Benchmark
  public void forwardBackward() {
    try (Scope scope = Scope.open()) {
      Tensor loss = model.forward(ids, null, null).sum();
      if (loss.requiresGrad()) {
        loss.backward(); // gradients accumulate, one add per trained parameter, as in gradient accumulation
      }
    }
  }
}
