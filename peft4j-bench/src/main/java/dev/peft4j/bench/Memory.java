package dev.peft4j.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.javacpp.Pointer;

/**
 * Process memory as Linux and JavaCPP see it.
 *
 * <ul>
 *   <li>{@code VmRSS} / {@code VmHWM} from {@code /proc/self/status}: resident memory now and its
 *       peak. libtorch allocates tensors with its own allocator, so this is where tensor memory
 *       shows.
 *   <li>{@link Pointer#physicalBytes()}: JavaCPP's reading of the same resident size.
 *   <li>{@link Pointer#totalBytes()}: bytes JavaCPP itself allocated (its own Pointer buffers);
 *       libtorch's tensors are not counted there, so it stays small.
 * </ul>
 *
 * <p>The peak can be reset ({@code echo 5 > /proc/self/clear_refs}, Linux ≥ 4.0), so each phase
 * of a benchmark gets its own peak; where that is refused, the peak is the process's so far.
 */
public final class Memory {
  private static final Path STATUS = Path.of("/proc/self/status");
  private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");
  private static final double MIB = 1024.0 * 1024.0;

  private Memory() {}

  /** Resident set size now, in bytes ({@code VmRSS}); falls back to JavaCPP's reading. */
  public static long rss() {
    long kb = statusKb("VmRSS:");
    return kb >= 0 ? kb * 1024 : Pointer.physicalBytes();
  }

  /** Resident anonymous memory now (heap, libtorch's allocations, copied-on-write pages), in bytes; -1 if unknown. */
  public static long rssAnon() {
    long kb = statusKb("RssAnon:");
    return kb >= 0 ? kb * 1024 : -1;
  }

  /** Resident file-backed pages now (mapped files such as a memory-mapped checkpoint), in bytes; -1 if unknown. */
  public static long rssFile() {
    long kb = statusKb("RssFile:");
    return kb >= 0 ? kb * 1024 : -1;
  }

  /** Peak resident set size since the process started or the last {@link #resetPeak()}, in bytes. */
  public static long peakRss() {
    long kb = statusKb("VmHWM:");
    return kb >= 0 ? kb * 1024 : rss();
  }

  /** Starts a new peak at the current RSS; returns false if the kernel refused. */
  public static boolean resetPeak() {
    try {
      Files.writeString(CLEAR_REFS, "5", StandardCharsets.US_ASCII);
      return true;
    } catch (IOException | SecurityException e) {
      return false;
    }
  }

  /**
   * Returns freed heap memory to the system ({@code malloc_trim}), so an RSS reading taken next
   * is not inflated by memory glibc keeps for reuse; false where unsupported.
   */
  public static boolean trim() {
    return Pointer.trimMemory();
  }

  /** JavaCPP's resident-size reading, in bytes. */
  public static long physicalBytes() {
    return Pointer.physicalBytes();
  }

  /** Bytes allocated through JavaCPP's own allocator (not libtorch's tensors). */
  public static long javacppTotalBytes() {
    return Pointer.totalBytes();
  }

  /** Bytes as MiB, rounded to 0.1. */
  public static double mib(long bytes) {
    return Math.round(bytes / MIB * 10) / 10.0;
  }

  private static long statusKb(String key) {
    try {
      for (String line : Files.readAllLines(STATUS, StandardCharsets.US_ASCII)) {
        if (line.startsWith(key)) {
          String[] parts = line.substring(key.length()).trim().split("\\s+");
          return Long.parseLong(parts[0]);
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux: fall through
    }
    return -1;
  }
}
