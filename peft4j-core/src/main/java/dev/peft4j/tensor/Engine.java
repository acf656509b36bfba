package dev.peft4j.tensor;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.global.torch;

/** Process-wide engine settings: native loading, threads, seeds, gradient mode. */
public final class Engine {
  private static final String MAX_PHYSICAL_BYTES = "org.bytedeco.javacpp.maxPhysicalBytes";
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
      if (usesMkl() && !String.valueOf(System.getenv("LD_PRELOAD")).contains("libiomp5")) {
        // MKL's threaded layer needs Intel's OpenMP loaded before it, else the JVM dies on an
        // unresolved symbol; preloaded, it is the OpenMP runtime of libtorch too
        throw new EngineException("org.bytedeco.openblas.load=mkl_rt needs MKL's OpenMP runtime preloaded:"
            + " run through bin/peft4j (built with mvn -Pmkl) or set LD_PRELOAD to its libiomp5.so");
      }
      keepJavaCppFromReadingRss();
      try {
        Loader.load(torch.class);
      } catch (UnsatisfiedLinkError | RuntimeException e) {
        throw new EngineException("could not load the libtorch natives: " + e.getMessage(), e);
      }
      String threads = System.getProperty("peft4j.threads");
      if (threads != null) {
        torch.set_num_threads(Integer.parseInt(threads));
      }
      String blasThreads = System.getenv("OPENBLAS_NUM_THREADS");
      if (blasThreads != null && blasThreads.matches("[1-9][0-9]{0,3}")) {
        // the caller's choice; told to the presets too, whose blas_get_num_threads knows only what was set
        org.bytedeco.openblas.presets.openblas_nolapack.blas_set_num_threads(Integer.parseInt(blasThreads));
      } else if (usesMkl()) {
        // MKL threads on the same OpenMP runtime as libtorch, which runs nested regions serially
        org.bytedeco.openblas.presets.openblas_nolapack.blas_set_num_threads(torch.get_num_threads());
      } else {
        // libtorch calls BLAS from inside its own OpenMP parallel regions (flash attention's
        // block matmuls, for one), and OpenBLAS's pthread pool then spins against libtorch's
        // threads. On 2 cores, 2 BLAS threads were at best 1.4x faster per training step (on an
        // otherwise idle machine) and 10-15x slower as soon as other processes used the cores
        // (docs/PERFORMANCE.md). With one BLAS thread a large f32 matmul runs on one core;
        // everything else still uses libtorch's threads, and bf16 matmuls go to oneDNN on those.
        // GOMP_SPINCOUNT=20000 (set by bin/peft4j) lets libtorch's idle threads spin only briefly.
        org.bytedeco.openblas.presets.openblas_nolapack.blas_set_num_threads(1);
      }
      loaded = true;
    }
  }

  /**
   * JavaCPP compares the process's resident memory with {@code org.bytedeco.javacpp.maxPhysicalBytes}
   * (twice the Java heap by default) whenever it registers a native object, so that the garbage
   * collector can free unreachable ones first; reading the resident size is a system call, ~0.7 µs
   * of the ~2 µs a small tensor operation costs here (measured on additions of 64 floats). peft4j frees its
   * tensors deterministically ({@link Scope}), so the check is switched off unless the caller set
   * the property. It must be set before JavaCPP's {@code Pointer} class initialises, which nothing
   * in peft4j does before this.
   */
  private static void keepJavaCppFromReadingRss() {
    if (System.getProperty(MAX_PHYSICAL_BYTES) == null) {
      System.setProperty(MAX_PHYSICAL_BYTES, "0");
    }
  }

  /**
   * Whether float32 matmuls run in Intel MKL instead of OpenBLAS: bytedeco's OpenBLAS presets load
   * {@code mkl_rt} when {@code org.bytedeco.openblas.load} says so (what {@code bin/peft4j} does
   * when built with {@code mvn -Pmkl}).
   */
  public static boolean usesMkl() {
    return "mkl_rt".equals(System.getProperty("org.bytedeco.openblas.load"));
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

  /** Threads OpenBLAS uses for one f32/f64 matmul (1 unless {@code OPENBLAS_NUM_THREADS} is set). */
  public static int blasThreads() {
    ensureLoaded();
    return org.bytedeco.openblas.presets.openblas_nolapack.blas_get_num_threads();
  }

  /**
   * Sets the threads OpenBLAS uses for one matmul. More than one is only safe when nothing else
   * runs: see {@link #ensureLoaded()}'s note on OpenBLAS inside libtorch's parallel regions.
   */
  public static void setBlasThreads(int threads) {
    if (threads <= 0) {
      throw new IllegalArgumentException("threads must be positive: " + threads);
    }
    ensureLoaded();
    org.bytedeco.openblas.presets.openblas_nolapack.blas_set_num_threads(threads);
  }

  /**
   * How float32 matmuls may compute, as {@code torch.set_float32_matmul_precision}: {@code highest}
   * (the default: exact f32), {@code high}, or {@code medium}, which lets oneDNN multiply in bf16
   * with f32 accumulation on CPUs with AMX or AVX-512 bf16 — several times faster for f32 models,
   * at bf16's ~3 significant digits per product. Process-wide.
   *
   * @throws IllegalArgumentException for another value
   */
  public static void setFloat32MatmulPrecision(String precision) {
    if (!precision.equals("highest") && !precision.equals("high") && !precision.equals("medium")) {
      throw new IllegalArgumentException("float32 matmul precision must be highest, high or medium: " + precision);
    }
    ensureLoaded();
    torch.globalContext().setFloat32MatmulPrecision(precision);
  }

  /** The current float32 matmul precision: {@code highest}, {@code high} or {@code medium}. */
  public static String float32MatmulPrecision() {
    ensureLoaded();
    return torch.globalContext().float32MatmulPrecision().toString().toLowerCase(java.util.Locale.ROOT);
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

  /** Whether autograd would record an operation on any of {@code inputs} on this thread now. */
  public static boolean records(Tensor... inputs) {
    if (!GradMode.is_enabled()) {
      return false;
    }
    for (Tensor t : inputs) {
      if (t.requiresGrad()) {
        return true;
      }
    }
    return false;
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
