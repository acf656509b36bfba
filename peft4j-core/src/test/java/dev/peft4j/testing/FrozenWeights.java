package dev.peft4j.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.nn.Module;
import java.util.LinkedHashMap;
import java.util.Map;

/** A copy of a model's frozen parameters, to check afterwards that training left them bit-identical. */
public final class FrozenWeights {
  private final Map<String, float[]> values = new LinkedHashMap<>();

  private FrozenWeights(Module model) {
    model.namedParameters().forEach((name, p) -> {
      if (!p.trainable()) {
        values.put(name, p.value().toFloatArray());
      }
    });
  }

  /** The values of {@code model}'s parameters that are not trainable now. */
  public static FrozenWeights of(Module model) {
    return new FrozenWeights(model);
  }

  /** Asserts that each copied parameter of {@code model} still holds exactly the copied values. */
  public void assertUnchanged(Module model) {
    assertThat(values).as("frozen parameters").isNotEmpty();
    Map<String, dev.peft4j.nn.Parameter> now = model.namedParameters();
    values.forEach((name, v) -> assertThat(now.get(name).value().toFloatArray()).as(name).containsExactly(v));
  }
}
