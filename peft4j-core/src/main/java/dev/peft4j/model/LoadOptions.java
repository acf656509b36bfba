package dev.peft4j.model;

import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Device;

/**
 * How to load a model.
 *
 * @param dtype compute dtype the weights are converted to (default f32; bf16/f16 checkpoints
 *     stay in their dtype on disk and are converted once at load)
 * @param device where the weights live (default CPU)
 * @param strict whether checkpoint tensors the model does not use are an error (default: a
 *     warning, as Hugging Face does)
 */
public record LoadOptions(DType dtype, Device device, boolean strict) {
  public LoadOptions {
    if (!dtype.isFloatingPoint()) {
      throw new IllegalArgumentException("compute dtype must be floating point, got " + dtype);
    }
  }

  public static LoadOptions defaults() {
    return new LoadOptions(DType.F32, Device.CPU, false);
  }

  public LoadOptions withDType(DType newDType) {
    return new LoadOptions(newDType, device, strict);
  }

  public LoadOptions withStrict(boolean newStrict) {
    return new LoadOptions(dtype, device, newStrict);
  }

  public LoadOptions withDevice(Device newDevice) {
    return new LoadOptions(dtype, newDevice, strict);
  }
}
