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

  static DType toDType(ScalarType type) {
    switch (type) {
      case Float: return DType.F32;
      case Half: return DType.F16;
      case BFloat16: return DType.BF16;
      case Double: return DType.F64;
      case Long: return DType.I64;
      case Int: return DType.I32;
      case Char: return DType.I8;
      case Byte: return DType.U8;
      case Bool: return DType.BOOL;
      default: throw new EngineException("libtorch scalar type " + type + " is not supported by peft4j");
    }
  }
}
