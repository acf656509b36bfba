package dev.peft4j.peft;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.TensorData;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.Parameter;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Tensor;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeSet;

/** Saving and loading the tensors of the prompt family, whose saved form is computed rather than stored. */
public final class PromptTensors {
  /** The one tensor PEFT saves for prompt tuning, P-tuning and prefix tuning. */
  public static final String PROMPT_EMBEDDINGS = "prompt_embeddings";

  private PromptTensors() {}

  /** A detached parameter holding {@code value}, to hand a computed tensor to {@link AdapterFormat#write}. */
  public static Parameter saved(Tensor value) {
    return new Holder(value).value;
  }

  private static final class Holder extends Module {
    final Parameter value;

    Holder(Tensor t) {
      value = parameter("value", t.shape());
      value.setTrainable(false);
      try (Engine.GradGuard g = Engine.noGrad()) {
        value.set(t.detach().copy());
      }
    }
  }

  /**
   * Checks that {@code tensors} holds exactly the names of {@code expected} with their shapes,
   * before anything is changed.
   *
   * @param method the method's name, for messages
   * @throws ModelFormatException listing missing and unexpected names, or naming a tensor whose
   *     shape does not fit (an adapter for another base model)
   */
  public static void check(Map<String, TensorData> tensors, Map<String, long[]> expected, String method,
      String architecture, String source) throws ModelFormatException {
    TreeSet<String> missing = new TreeSet<>(expected.keySet());
    missing.removeAll(tensors.keySet());
    TreeSet<String> unexpected = new TreeSet<>(tensors.keySet());
    unexpected.removeAll(expected.keySet());
    if (!missing.isEmpty() || !unexpected.isEmpty()) {
      throw new ModelFormatException(source + " does not fit the " + method + " adapter its config creates on "
          + architecture + ": missing " + missing + ", unexpected " + unexpected);
    }
    for (Map.Entry<String, long[]> e : expected.entrySet()) {
      long[] shape = tensors.get(e.getKey()).shape();
      if (!Arrays.equals(shape, e.getValue())) {
        throw new ModelFormatException("tensor '" + e.getKey() + "' in " + source + " has shape "
            + Arrays.toString(shape) + " but this model needs " + Arrays.toString(e.getValue())
            + " (was the adapter trained for another base model?)");
      }
    }
  }

  /** The saved tensor {@code name} as a float32 tensor. */
  public static Tensor read(Map<String, TensorData> tensors, String name) {
    TensorData d = tensors.get(name);
    return Tensor.fromBytes(d.data(), d.dtype(), d.shape()).to(dev.peft4j.tensor.DType.F32);
  }
}
