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
 * @param mapWeights whether weights stored in the compute dtype, for the CPU, are used in place
 *     from a copy-on-write memory mapping of the checkpoint (default true: no copy at load, the
 *     pages are read on first use, in-place writes such as a LoRA merge copy the page they touch
 *     and never reach the file). False copies every weight into memory of its own at load, so
 *     no mapping stays behind: for a checkpoint that may be rewritten in place (truncating a
 *     mapped file makes a later read of it crash the process) or that lives on a slow or
 *     network file system. Weights that need a conversion (another dtype or device) are always
 *     copied by it, and so are tensors not aligned to their element size in the file.
 */
public record LoadOptions(DType dtype, Device device, boolean strict, boolean mapWeights) {
  public LoadOptions {
    if (!dtype.isFloatingPoint()) {
      throw new IllegalArgumentException("compute dtype must be floating point, got " + dtype);
    }
  }

  public static LoadOptions defaults() {
    return new LoadOptions(DType.F32, Device.CPU, false, true);
  }

  public LoadOptions withDType(DType newDType) {
    return new LoadOptions(newDType, device, strict, mapWeights);
  }

  public LoadOptions withStrict(boolean newStrict) {
    return new LoadOptions(dtype, device, newStrict, mapWeights);
  }

  public LoadOptions withDevice(Device newDevice) {
    return new LoadOptions(dtype, newDevice, strict, mapWeights);
  }

  public LoadOptions withMapWeights(boolean newMapWeights) {
    return new LoadOptions(dtype, device, strict, newMapWeights);
  }
}
