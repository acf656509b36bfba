package dev.peft4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Global-norm clipping against its closed form. */
class GradientClippingTest {

  /** Leaf tensors a [2] and b [2, 1] with gradients (3, 4) and (12, 0): global norm 13. */
  private static List<Tensor> withGradients() {
    Tensor a = Tensor.zeros(dev.peft4j.tensor.DType.F32, 2).requiresGrad(true).retain();
    Tensor b = Tensor.zeros(dev.peft4j.tensor.DType.F32, 2, 1).requiresGrad(true).retain();
    Tensor c = Tensor.zeros(dev.peft4j.tensor.DType.F32, 3).requiresGrad(true).retain(); // no gradient
    try (Scope scope = Scope.open()) {
      a.mul(Tensor.of(new float[] {3, 4}, 2)).sum()
          .add(b.mul(Tensor.of(new float[] {12, 0}, 2, 1)).sum()).backward();
    }
    return List.of(a, b, c);
  }

  @Test
  void normOfAllGradientsTogether() {
    assertThat(GradientClipping.globalNorm(withGradients())).isCloseTo(13.0, within(1e-5));
    assertThat(GradientClipping.globalNorm(List.of())).isEqualTo(0.0);
  }

  @Test
  void scalesByMaxOverTotalWhenAbove() {
    List<Tensor> params = withGradients();
    double before = GradientClipping.clipGradNorm(params, 6.5);
    assertThat(before).isCloseTo(13.0, within(1e-5));
    double k = 6.5 / (13.0 + 1e-6);
    try (Scope scope = Scope.open()) {
      float[] ga = params.get(0).grad().toFloatArray();
      float[] gb = params.get(1).grad().toFloatArray();
      assertThat(ga[0]).isCloseTo((float) (3 * k), within(1e-5f));
      assertThat(ga[1]).isCloseTo((float) (4 * k), within(1e-5f));
      assertThat(gb[0]).isCloseTo((float) (12 * k), within(1e-5f));
      assertThat(gb[1]).isEqualTo(0f);
      assertThat(params.get(2).grad()).isNull();
    }
    assertThat(GradientClipping.globalNorm(params)).isCloseTo(6.5, within(1e-5));
  }

  @Test
  void leavesGradientsAloneWhenBelow() {
    List<Tensor> params = withGradients();
    assertThat(GradientClipping.clipGradNorm(params, 20)).isCloseTo(13.0, within(1e-5));
    try (Scope scope = Scope.open()) {
      assertThat(params.get(0).grad().toFloatArray()).containsExactly(3f, 4f);
      assertThat(params.get(1).grad().toFloatArray()).containsExactly(12f, 0f);
    }
  }
}
