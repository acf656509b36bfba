package dev.peft4j.tensor;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.global.torch;

/** Process-wide engine settings: native loading, threads, seeds, gradient mode. */
public final class Engine {
  private static volatile boolean loaded;

  private Engine() {}

  /** Loads the libtorch natives once; sets the thread count from {@code peft4j.threads} if given. */
  public static void ensureLoaded() {
    if (loaded) {
      return;
    }
    synchronized (Engine.class) {
      if (loaded) {
        return;
      }
      try {
        Loader.load(torch.class);
      } catch (UnsatisfiedLinkError | RuntimeException e) {
        throw new EngineException("could not load the libtorch natives: " + e.getMessage(), e);
      }
      if (System.getenv("OMP_WAIT_POLICY") == null && System.getenv("OPENBLAS_NUM_THREADS") == null) {
        // libtorch's OpenMP pool and OpenBLAS's own pool both spin-wait; on a small machine the
        // two oversubscribe the cores and every op stalls (~10x slower on 2 cores). One BLAS
        // thread avoids that; OMP_WAIT_POLICY=PASSIVE (set by bin/peft4j) is faster still.
        org.bytedeco.openblas.presets.openblas_nolapack.blas_set_num_threads(1);
      }
      String threads = System.getProperty("peft4j.threads");
      if (threads != null) {
        torch.set_num_threads(Integer.parseInt(threads));
      }
      loaded = true;
    }
  }

  /** Sets the number of intra-op threads libtorch uses. */
  public static void setThreads(int threads) {
    if (threads <= 0) {
      throw new IllegalArgumentException("threads must be positive: " + threads);
    }
    ensureLoaded();
    torch.set_num_threads(threads);
  }

  public static int threads() {
    ensureLoaded();
    return torch.get_num_threads();
  }

  /** Seeds libtorch's default generator (weights init, dropout, sampling). */
  public static void manualSeed(long seed) {
    ensureLoaded();
    torch.manual_seed(seed);
  }

  /** The state of libtorch's default CPU generator, for checkpoints. */
  public static byte[] rngState() {
    ensureLoaded();
    try (Scope scope = Scope.open()) {
      Tensor state = new Tensor(torch.getDefaultCPUGenerator().get_state());
      return state.toBytes().array();
    }
  }

  /** Restores a state from {@link #rngState()}, so sampling continues identically. */
  public static void setRngState(byte[] state) {
    ensureLoaded();
    try (Scope scope = Scope.open()) {
      torch.getDefaultCPUGenerator().set_state(
          Tensor.fromBytes(java.nio.ByteBuffer.wrap(state), DType.U8, state.length).handle());
    }
  }

  /** Disables gradient recording on this thread until closed. */
  public static GradGuard noGrad() {
    ensureLoaded();
    GradGuard guard = new GradGuard(GradMode.is_enabled());
    GradMode.set_enabled(false);
    return guard;
  }

  /** Restores the previous gradient mode when closed. */
  public static final class GradGuard implements AutoCloseable {
    private final boolean previous;

    private GradGuard(boolean previous) {
      this.previous = previous;
    }

    @Override
    public void close() {
      GradMode.set_enabled(previous);
    }
  }
}
