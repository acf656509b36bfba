package dev.peft4j.nn;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The sublayer-output hook site: order, activity, module tree. */
class SublayerSiteTest {
  /** Records the output it was given and adds a constant. */
  static final class Recording extends Module implements SublayerDelta {
    final List<float[]> seen = new ArrayList<>();
    final float add;
    boolean active = true;

    Recording(float add) {
      this.add = add;
      parameter("w", 2);
    }

    @Override
    public Tensor apply(Tensor input, Tensor output) {
      seen.add(output.toFloatArray());
      return output.add((double) add);
    }

    @Override
    public boolean active() {
      return active;
    }
  }

  static final class Layer extends Module {
    final Linear out = child("out", new Linear(2, 2, false));
  }

  @Test
  void deltasRunInAttachmentOrderEachReadingThePreviousOutput() {
    Engine.ensureLoaded();
    Layer layer = new Layer();
    SublayerSite site = SublayerSite.ffn(layer, layer.out);
    try (Scope scope = Scope.open()) {
      Tensor x = Tensor.of(new float[] {1, 2}, 1, 1, 2);
      Tensor h = Tensor.of(new float[] {10, 20}, 1, 1, 2);
      assertThat(site.apply(x, h)).as("no deltas: the output itself").isSameAs(h);

      Recording first = site.attach("first_adapter", new Recording(1));
      Recording second = site.attach("second_adapter", new Recording(100));
      assertThat(site.apply(x, h).toFloatArray()).containsExactly(111, 121);
      assertThat(first.seen.get(0)).containsExactly(10, 20);
      assertThat(second.seen.get(0)).as("the second reads the first's output").containsExactly(11, 21);

      first.active = false;
      assertThat(site.apply(x, h).toFloatArray()).as("an inactive delta is skipped").containsExactly(110, 120);
    }
    assertThat(layer.namedParameters().keySet()).containsExactly("out.weight", "first_adapter.w", "second_adapter.w");
    assertThat(site.detach("out")).as("not a delta of this site").isNull();
    assertThat(site.detach("first_adapter")).isNotNull();
    assertThat(site.deltas()).hasSize(1);
    assertThat(layer.children().keySet()).containsExactly("out", "second_adapter");
    assertThat(site.name()).isEqualTo("ffn");
    assertThat(site.width()).isEqualTo(2);
    assertThat(site.heads()).isZero();
  }

  @Test
  void anAttentionSiteKnowsItsHeads() {
    Layer layer = new Layer();
    assertThat(SublayerSite.attention(layer, layer.out, 2).heads()).isEqualTo(2);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> SublayerSite.attention(layer, layer.out, 3))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("2 inputs do not split into 3 heads");
  }
}
