package dev.peft4j.bench;

import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;

/**
 * The in-process matmul ceiling the training figures are compared with: the best GFLOP/s of a
 * square {@code n x n} matmul ({@code 2 n³} FLOPs), on the threads libtorch uses now. n = 2048 is
 * big enough to saturate BLAS on a few cores and small enough to take well under a second.
 */
public final class MatmulPeak {
  public static final int DEFAULT_SIZE = 2048;

  private MatmulPeak() {}

  /** Best GFLOP/s over {@code reps} timed runs after one warm-up. */
  public static double gflops(DType dtype, int n, int reps) {
    Engine.ensureLoaded();
    try (Scope scope = Scope.open(); Engine.GradGuard noGrad = Engine.noGrad()) {
      Tensor a = Tensor.randn(DType.F32, n, n).to(dtype);
      Tensor b = Tensor.randn(DType.F32, n, n).to(dtype);
      a.matmul(b).close();
      double best = 0;
      for (int i = 0; i < reps; i++) {
        long start = System.nanoTime();
        Tensor c = a.matmul(b);
        long nanos = System.nanoTime() - start;
        c.close();
        best = Math.max(best, 2.0 * n * n * n / nanos);
      }
      return best;
    }
  }

  public static double gflops(DType dtype) {
    return gflops(dtype, DEFAULT_SIZE, 5);
  }

  /**
   * The f32 peak with OpenBLAS on as many threads as libtorch uses (a reference: the engine runs
   * OpenBLAS on one thread, see {@link Engine#setBlasThreads}); the setting is restored after.
   */
  public static double f32AllThreads(int n) {
    int before = Engine.blasThreads();
    Engine.setBlasThreads(Engine.threads());
    try {
      return gflops(DType.F32, n, 5);
    } finally {
      Engine.setBlasThreads(before);
    }
  }
}
