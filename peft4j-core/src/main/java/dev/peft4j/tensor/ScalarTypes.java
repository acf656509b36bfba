package dev.peft4j.tensor;

import org.bytedeco.pytorch.global.torch.ScalarType;

/** Maps peft4j's {@link DType} to libtorch's scalar types and back. */
final class ScalarTypes {
  private ScalarTypes() {}

  static ScalarType of(DType dtype) {
    switch (dtype) {
      case F32: return ScalarType.Float;
      case F16: return ScalarType.Half;
      case BF16: return ScalarType.BFloat16;
      case F64: return ScalarType.Double;
      case I64: return ScalarType.Long;
      case I32: return ScalarType.Int;
      case I8: return ScalarType.Char;
      case U8: return ScalarType.Byte;
      case BOOL: return ScalarType.Bool;
      default: throw new AssertionError(dtype);
    }
  }

  /**
   * The DType of a libtorch scalar type. Compares the native {@code value}: enum instances
   * returned from native code do not carry the Java ordinal, so {@code switch} cannot be used.
   */
  static DType toDType(ScalarType type) {
    for (DType d : DType.values()) {
      if (of(d).value == type.value) {
        return d;
      }
    }
    throw new EngineException("libtorch scalar type " + type + " is not supported by peft4j");
  }
}
