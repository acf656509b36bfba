package dev.peft4j.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What the figures were measured on: CPU, cores, load, the settings that change libtorch's speed. */
public final class Machine {
  private Machine() {}

  /** The 1-minute load average (other processes competing for the cores), or null if unknown. */
  public static Double loadAverage() {
    double l = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    return l < 0 ? null : l;
  }

  /** CPU time of the whole process (all threads) so far, in nanoseconds, or -1 if unknown. */
  public static long processCpuNanos() {
    java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean) {
      return ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime();
    }
    return -1;
  }

  /** The CPU model name from /proc/cpuinfo, or the JVM's arch. */
  public static String cpuModel() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8)) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).trim();
        }
      }
    } catch (IOException | RuntimeException e) {
      // fall through
    }
    return System.getProperty("os.arch");
  }

  /** Whether the CPU advertises AMX bf16 tiles or AVX-512 bf16 (oneDNN's fast bf16 paths). */
  public static String bf16Support() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8)) {
        if (line.startsWith("flags")) {
          List<String> flags = List.of(line.substring(line.indexOf(':') + 1).trim().split("\\s+"));
          return flags.contains("amx_bf16") ? "amx_bf16" : flags.contains("avx512_bf16") ? "avx512_bf16" : "none";
        }
      }
    } catch (IOException | RuntimeException e) {
      // fall through
    }
    return "unknown";
  }

  /** The machine as a JSON object. */
  public static Map<String, Object> describe() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("cpu", cpuModel());
    m.put("cores", Runtime.getRuntime().availableProcessors());
    m.put("bf16", bf16Support());
    m.put("memory_gib", Math.round(totalMemoryGib() * 10) / 10.0);
    m.put("java", System.getProperty("java.version"));
    m.put("omp_wait_policy", System.getenv("OMP_WAIT_POLICY"));
    m.put("gomp_spincount", System.getenv("GOMP_SPINCOUNT"));
    m.put("malloc_mmap_threshold", System.getenv("MALLOC_MMAP_THRESHOLD_"));
    m.put("malloc_arena_max", System.getenv("MALLOC_ARENA_MAX"));
    m.put("malloc_top_pad", System.getenv("MALLOC_TOP_PAD_"));
    m.put("blas", dev.peft4j.tensor.Engine.usesMkl() ? "mkl" : "openblas");
    m.put("load_average", loadAverage());
    return m;
  }

  private static double totalMemoryGib() {
    java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean) {
      return ((com.sun.management.OperatingSystemMXBean) os).getTotalMemorySize() / (1024.0 * 1024 * 1024);
    }
    return Double.NaN;
  }
}
