package dev.peft4j.bench.jmh;

import dev.peft4j.tensor.DType;
import org.openjdk.jmh.annotations.Param;

/** A layer-level micro-benchmark, run in float32 and in bf16. */
public abstract class LayerBenchmark extends MicroBenchmark {
  @Param({"f32", "bf16"})
  public String dtype;

  /** The compute dtype of this run. */
  protected DType dtype() {
    return DType.parse(dtype);
  }
}
