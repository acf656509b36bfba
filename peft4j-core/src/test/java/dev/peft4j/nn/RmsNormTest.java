package dev.peft4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * Gemma's RMSNorm scales by {@code 1 + w}, kept between passes while w is unchanged: the reference
 * is the closed form x / √(mean(x²) + ε) · (1 + w), and a change to w in place must show at once.
 */
class RmsNormTest {

  @Test
  void anOffsetNormScalesByOnePlusTheWeightAndFollowsItsChanges() {
    Engine.ensureLoaded();
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      RmsNorm norm = new RmsNorm(2, 0, 1.0);
      norm.namedParameters().get("weight").set(Tensor.of(new float[] {0.5f, -0.25f}, 2));
      Tensor x = Tensor.of(new float[] {3, 4}, 1, 2); // rms √12.5
      double r = Math.sqrt(12.5);
      float[] first = norm.forward(x).toFloatArray();
      assertThat(first[0]).isCloseTo((float) (3 / r * 1.5), offset(1e-6f));
      assertThat(first[1]).isCloseTo((float) (4 / r * 0.75), offset(1e-6f));
      norm.namedParameters().get("weight").value().mul_(2); // in place: w = (1, -0.5)
      float[] second = norm.forward(x).toFloatArray();
      assertThat(second[0]).as("the kept 1 + w follows the weight").isCloseTo((float) (3 / r * 2), offset(1e-6f));
      assertThat(second[1]).isCloseTo((float) (4 / r * 0.5), offset(1e-6f));
    }
  }
}
