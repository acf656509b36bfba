package dev.peft4j.tensor;

import java.util.Arrays;
import java.util.Optional;

/**
 * Element types peft4j stores and computes with. Each constant knows its size in bytes and
 * its name in the safetensors header ({@code "F32"}, {@code "BF16"}, ...), so file formats
 * and the engine share one vocabulary.
 */
public enum DType {
  F32("F32", 4, true),
  F16("F16", 2, true),
  BF16("BF16", 2, true),
  F64("F64", 8, true),
  I64("I64", 8, false),
  I32("I32", 4, false),
  I8("I8", 1, false),
  U8("U8", 1, false),
  BOOL("BOOL", 1, false);

  private final String safetensorsName;
  private final int byteSize;
  private final boolean floatingPoint;

  DType(String safetensorsName, int byteSize, boolean floatingPoint) {
    this.safetensorsName = safetensorsName;
    this.byteSize = byteSize;
    this.floatingPoint = floatingPoint;
  }

  /** The dtype string used in safetensors headers, e.g. {@code "BF16"}. */
  public String safetensorsName() {
    return safetensorsName;
  }

  /** Bytes per element. */
  public int byteSize() {
    return byteSize;
  }

  public boolean isFloatingPoint() {
    return floatingPoint;
  }

  /** Looks up a safetensors dtype string; empty if peft4j does not support it. */
  public static Optional<DType> fromSafetensorsName(String name) {
    return Arrays.stream(values()).filter(d -> d.safetensorsName.equals(name)).findFirst();
  }

  /** Parses a user-facing name such as {@code f32}, {@code bf16}, {@code float16}. */
  public static DType parse(String name) {
    switch (name.toLowerCase(java.util.Locale.ROOT)) {
      case "f32": case "float32": case "float": return F32;
      case "f16": case "float16": case "half": return F16;
      case "bf16": case "bfloat16": return BF16;
      case "f64": case "float64": case "double": return F64;
      case "i64": case "int64": case "long": return I64;
      case "i32": case "int32": case "int": return I32;
      default:
        throw new IllegalArgumentException(
            "unknown dtype '" + name + "' (expected one of f32, f16, bf16, f64, i64, i32)");
    }
  }
}
