package dev.peft4j.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.nn.Module;
import dev.peft4j.nn.Parameter;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A copy of a model's parameters, to check after training that the frozen ones are bit-identical.
 * It may be taken before an adapter is attached (which freezes the base) or after.
 */
public final class FrozenWeights {
  private final Map<String, float[]> values = new LinkedHashMap<>();

  private FrozenWeights(Module model) {
    model.namedParameters().forEach((name, p) -> values.put(name, p.value().toFloatArray()));
  }

  /** The values of all of {@code model}'s parameters now. */
  public static FrozenWeights of(Module model) {
    return new FrozenWeights(model);
  }

  /**
   * Asserts that every copied parameter {@code model} now holds as not trainable still has exactly
   * the copied values (and that there is at least one).
   */
  public void assertUnchanged(Module model) {
    Map<String, Parameter> now = model.namedParameters();
    Map<String, float[]> frozen = new LinkedHashMap<>(values);
    frozen.keySet().removeIf(name -> !now.containsKey(name) || now.get(name).trainable());
    assertThat(frozen).as("frozen parameters").isNotEmpty();
    frozen.forEach((name, v) -> assertThat(now.get(name).value().toFloatArray()).as("frozen " + name).containsExactly(v));
  }
}
