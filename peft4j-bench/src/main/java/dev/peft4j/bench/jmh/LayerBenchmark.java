package dev.peft4j.bench.jmh;

import dev.peft4j.tensor.DType;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The settings the layer-level benchmarks share (JMH reads them from the superclass): average
 * time in microseconds over 5 one-second iterations after 3 of warm-up, one fork, in float32 and
 * in bf16.
 */
@State(org.openjdk.jmh.annotations.Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public abstract class LayerBenchmark {
  @Param({"f32", "bf16"})
  public String dtype;

  /** The compute dtype of this run. */
  protected DType dtype() {
    return DType.parse(dtype);
  }
}
