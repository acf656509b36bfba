package dev.peft4j.bench.jmh;

import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Causal grouped-query attention over {@code seq} positions with {@code prefix} learned key/value
 * positions in front (prefix tuning's joint softmax, He et al. 2022), forward and backward into
 * q, k, v and the prefix, through {@link Functional#scaledDotProductAttention}. prefix = 0 is plain
 * attention. This is the bare attention math; {@link MethodLayerBenchmark} runs the prefix module
 * itself inside a decoder layer.
 */
public class PrefixAttentionBenchmark extends LayerBenchmark {
  @Param({"0", "16"})
  public int prefix;

  @Param({"256"})
  public int seq;

  private static final int BATCH = 4;
  private static final int HEADS = 8;
  private static final int KV_HEADS = 4;
  private static final int HEAD_DIM = 64;

  private Tensor q;
  private Tensor k;
  private Tensor v;
  private Tensor prefixK;
  private Tensor prefixV;
  private Tensor mask;

  @Setup(Level.Trial)
  public void setUp() {
    DType d = dtype();
    q = grad(Tensor.randn(DType.F32, BATCH, HEADS, seq, HEAD_DIM).to(d));
    k = grad(Tensor.randn(DType.F32, BATCH, KV_HEADS, seq, HEAD_DIM).to(d));
    v = grad(Tensor.randn(DType.F32, BATCH, KV_HEADS, seq, HEAD_DIM).to(d));
    prefixK = grad(Tensor.randn(DType.F32, 1, KV_HEADS, Math.max(prefix, 1), HEAD_DIM).to(d));
    prefixV = grad(Tensor.randn(DType.F32, 1, KV_HEADS, Math.max(prefix, 1), HEAD_DIM).to(d));
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      // query i sees every prefix position and the positions up to i
      Tensor keys = Tensor.arange(prefix + seq).view(1, prefix + seq);
      Tensor queries = Tensor.arange(seq).add((long) prefix).view(seq, 1);
      mask = keys.le(queries).view(1, 1, seq, prefix + seq).retain();
    }
  }

  private static Tensor grad(Tensor t) {
    return t.retain().requiresGrad(true);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    for (Tensor t : new Tensor[] {q, k, v, prefixK, prefixV, mask}) {
      t.close();
    }
  }

  @Benchmark
  public void forwardBackward() {
    try (Scope scope = Scope.open()) {
      Tensor keys = k;
      Tensor values = v;
      if (prefix > 0) {
        keys = Tensor.cat(2, prefixK.expand(BATCH, KV_HEADS, prefix, HEAD_DIM), k);
        values = Tensor.cat(2, prefixV.expand(BATCH, KV_HEADS, prefix, HEAD_DIM), v);
      }
      Functional.scaledDotProductAttention(q, keys, values, mask, 1.0 / Math.sqrt(HEAD_DIM)).sum().backward();
      for (Tensor t : new Tensor[] {q, k, v, prefixK, prefixV}) {
        t.clearGrad();
      }
    }
  }
}
