package dev.peft4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.peft4j.nn.Module;
import dev.peft4j.nn.Parameter;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** AdamW against a double-precision transcription of torch.optim.AdamW's update. */
class AdamWTest {
  static final class Leaf extends Module {
    final Parameter weight = parameter("weight", 3);
  }

  /** "weight" decays; "bias" and "ln_f.weight" do not; "frozen" is not trainable. */
  static final class Net extends Module {
    final Parameter weight = parameter("weight", 2, 3);
    final Parameter bias = parameter("bias", 3);
    final Parameter frozen = parameter("frozen", 3);
    final Leaf lnF = child("ln_f", new Leaf());

    Net() {
      weight.set(Tensor.of(new float[] {0.5f, -1f, 2f, 0.25f, 3f, -0.75f}, 2, 3));
      bias.set(Tensor.of(new float[] {0.1f, -0.2f, 0.3f}, 3));
      frozen.set(Tensor.of(new float[] {7f, 8f, 9f}, 3));
      frozen.setTrainable(false);
      lnF.weight.set(Tensor.of(new float[] {1f, 1.5f, 0.5f}, 3));
    }
  }

  static final double LR1 = 0.1;
  static final double LR2 = 0.05;
  static final double WD = 0.2;
  static final double B1 = 0.9;
  static final double B2 = 0.999;
  static final double EPS = 1e-8;

  /** Sets every trainable parameter's gradient to {@code grads[name]} via backward of Σ p·G. */
  static void setGradients(Map<String, Parameter> params, Map<String, float[]> grads) {
    try (Scope scope = Scope.open()) {
      Tensor loss = null;
      for (Map.Entry<String, float[]> e : grads.entrySet()) {
        Tensor p = params.get(e.getKey()).value();
        Tensor term = p.mul(Tensor.of(e.getValue(), p.shape())).sum();
        loss = loss == null ? term : loss.add(term);
      }
      loss.backward();
    }
  }

  static Map<String, float[]> grads(float scale) {
    Map<String, float[]> g = new LinkedHashMap<>();
    g.put("weight", new float[] {0.3f * scale, -1.2f, 0.05f, 2f, -0.7f * scale, 0.9f});
    g.put("bias", new float[] {-0.4f, 0.6f * scale, 1.1f});
    g.put("ln_f.weight", new float[] {0.2f, -0.3f, 0.8f * scale});
    return g;
  }

  /** torch.optim.AdamW's single-tensor update, in doubles. */
  static void referenceStep(double[] p, double[] m, double[] v, float[] g, int t, double lr, double wd) {
    for (int i = 0; i < p.length; i++) {
      p[i] *= 1 - lr * wd;
      m[i] = B1 * m[i] + (1 - B1) * g[i];
      v[i] = B2 * v[i] + (1 - B2) * g[i] * g[i];
      double mHat = m[i] / (1 - Math.pow(B1, t));
      double vHat = v[i] / (1 - Math.pow(B2, t));
      p[i] -= lr * mHat / (Math.sqrt(vHat) + EPS);
    }
  }

  @Test
  void twoStepsMatchTheReferenceEquationsPerGroupAndLeaveFrozenParametersAlone() {
    Net net = new Net();
    Map<String, Parameter> params = net.namedParameters();
    Map<String, double[]> p = new LinkedHashMap<>();
    Map<String, double[]> m = new LinkedHashMap<>();
    Map<String, double[]> v = new LinkedHashMap<>();
    for (String name : new String[] {"weight", "bias", "ln_f.weight"}) {
      float[] f = params.get(name).value().toFloatArray();
      double[] d = new double[f.length];
      for (int i = 0; i < f.length; i++) {
        d[i] = f[i];
      }
      p.put(name, d);
      m.put(name, new double[f.length]);
      v.put(name, new double[f.length]);
    }
    byte[] frozenBefore = net.frozen.value().toBytes().array();

    try (AdamW adamW = new AdamW(params, AdamWConfig.withLr(LR1).withWeightDecay(WD))) {
      assertThat(adamW.decayParameterNames()).containsExactly("weight");
      assertThat(adamW.noDecayParameterNames()).containsExactly("bias", "ln_f.weight");
      assertThat(adamW.parameters()).doesNotContainKey("frozen");

      double[] lrs = {LR1, LR2};
      for (int t = 1; t <= 2; t++) {
        Map<String, float[]> g = grads(t == 1 ? 1f : -2f);
        setGradients(params, g);
        adamW.step(lrs[t - 1]);
        adamW.zeroGrad();
        for (String name : g.keySet()) {
          double wd = name.equals("weight") ? WD : 0;
          referenceStep(p.get(name), m.get(name), v.get(name), g.get(name), t, lrs[t - 1], wd);
        }
      }
      for (String name : p.keySet()) {
        float[] actual = params.get(name).value().toFloatArray();
        for (int i = 0; i < actual.length; i++) {
          assertThat((double) actual[i]).as(name + "[" + i + "]").isCloseTo(p.get(name)[i], within(1e-6));
        }
        assertThat(adamW.stepCount(name)).isEqualTo(2);
        assertThat(params.get(name).value().grad()).as("gradient dropped").isNull();
      }
    }
    assertThat(net.frozen.value().toBytes().array()).isEqualTo(frozenBefore);
    assertThat(net.frozen.value().grad()).isNull();
  }

  @Test
  void noDecayGroupIsUntouchedByDecayAlone() {
    // with m = v = 0 and g = 0 the Adam term is 0: only decay moves a parameter
    Net net = new Net();
    Map<String, Parameter> params = net.namedParameters();
    float[] weightBefore = net.weight.value().toFloatArray();
    byte[] biasBefore = net.bias.value().toBytes().array();
    Map<String, float[]> zero = new LinkedHashMap<>();
    zero.put("weight", new float[6]);
    zero.put("bias", new float[3]);
    try (AdamW adamW = new AdamW(params, AdamWConfig.withLr(0.5).withWeightDecay(0.1))) {
      setGradients(params, zero);
      adamW.step(0.5);
    }
    float[] weightAfter = net.weight.value().toFloatArray();
    for (int i = 0; i < 6; i++) {
      assertThat(weightAfter[i]).isCloseTo(weightBefore[i] * (1 - 0.5f * 0.1f), within(1e-7f));
    }
    assertThat(net.bias.value().toBytes().array()).isEqualTo(biasBefore);
  }

  @Test
  void noDecayNamesFollowTheConvention() {
    assertThat(AdamW.isNoDecay("model.layers.0.self_attn.q_proj.lora_A.bias")).isTrue();
    assertThat(AdamW.isNoDecay("bert.embeddings.LayerNorm.weight")).isTrue();
    assertThat(AdamW.isNoDecay("model.layers.3.input_layernorm.weight")).isTrue();
    assertThat(AdamW.isNoDecay("transformer.h.0.ln_1.weight")).isTrue();
    assertThat(AdamW.isNoDecay("ln_f.weight")).isTrue();
    assertThat(AdamW.isNoDecay("model.layers.0.self_attn.q_proj.lora_A.weight")).isFalse();
    assertThat(AdamW.isNoDecay("prompt_embeddings")).isFalse();
  }

  @Test
  void stateDictRoundTripContinuesIdentically() {
    Net a = new Net();
    Net b = new Net();
    try (AdamW first = new AdamW(a.namedParameters(), AdamWConfig.withLr(0.1));
        AdamW second = new AdamW(b.namedParameters(), AdamWConfig.withLr(0.1))) {
      for (int t = 0; t < 2; t++) {
        setGradients(a.namedParameters(), grads(t + 1));
        setGradients(b.namedParameters(), grads(t + 1));
        first.step(0.1);
        second.step(0.1); // keep b's parameters equal to a's
        first.zeroGrad();
        second.zeroGrad();
      }
      try (Scope scope = Scope.open()) {
        Map<String, Tensor> state = first.stateDict();
        assertThat(state).containsKeys("step.weight", "exp_avg.weight", "exp_avg_sq.ln_f.weight");
        second.close();
        second.loadStateDict(state);
        assertThatThrownBy(() -> second.loadStateDict(Map.of("exp_avg.nope", Tensor.zeros(dev.peft4j.tensor.DType.F32, 3))))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exp_avg.nope");
      }
      setGradients(a.namedParameters(), grads(3));
      setGradients(b.namedParameters(), grads(3));
      first.step(0.1);
      second.step(0.1);
      assertThat(second.stepCount("weight")).isEqualTo(3);
      assertThat(b.weight.value().toBytes().array()).isEqualTo(a.weight.value().toBytes().array());
      assertThat(b.bias.value().toBytes().array()).isEqualTo(a.bias.value().toBytes().array());
    }
  }

  @Test
  void rejectsOnlyFrozenParametersAndBadConfigs() {
    Net net = new Net();
    net.freeze();
    assertThatThrownBy(() -> new AdamW(net.namedParameters(), AdamWConfig.withLr(1e-3)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no trainable parameter");
    assertThatThrownBy(() -> AdamWConfig.withLr(1e-3).withBetas(0.9, 1.0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("beta2");
  }
}
