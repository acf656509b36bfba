package dev.peft4j.tensor;

import java.util.Locale;

/** Where tensors live: the CPU or one CUDA device. */
public record Device(Kind kind, int index) {
  public enum Kind { CPU, CUDA }

  public static final Device CPU = new Device(Kind.CPU, -1);

  public Device {
    if (kind == Kind.CUDA && index < 0) {
      throw new IllegalArgumentException("CUDA device index must be >= 0: " + index);
    }
  }

  public static Device cuda(int index) {
    return new Device(Kind.CUDA, index);
  }

  /** Parses {@code cpu}, {@code cuda} or {@code cuda:N}. */
  public static Device parse(String text) {
    String s = text.trim().toLowerCase(Locale.ROOT);
    if (s.equals("cpu")) {
      return CPU;
    }
    if (s.equals("cuda")) {
      return cuda(0);
    }
    if (s.startsWith("cuda:")) {
      try {
        return cuda(Integer.parseInt(s.substring(5)));
      } catch (NumberFormatException e) {
        // fall through to the error below
      }
    }
    throw new IllegalArgumentException("unknown device '" + text + "' (expected cpu, cuda or cuda:N)");
  }

  org.bytedeco.pytorch.Device toNative() {
    return kind == Kind.CPU
        ? new org.bytedeco.pytorch.Device("cpu")
        : new org.bytedeco.pytorch.Device("cuda:" + index);
  }

  @Override
  public String toString() {
    return kind == Kind.CPU ? "cpu" : "cuda:" + index;
  }
}
