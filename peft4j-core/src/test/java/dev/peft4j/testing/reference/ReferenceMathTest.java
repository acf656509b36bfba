package dev.peft4j.testing.reference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.peft4j.testing.TinyCheckpoint;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Sanity checks of the reference math: known values, invariances and closed forms. */
class ReferenceMathTest {

  @Test
  void erfAndGeluMatchKnownValues() {
    assertThat(RefMath.erf(0.5)).isCloseTo(0.5204998778130465, within(1e-15));
    assertThat(RefMath.erf(1.0)).isCloseTo(0.8427007929497149, within(1e-15));
    assertThat(RefMath.erf(-2.0)).isCloseTo(-0.9953222650189527, within(1e-15));
    assertThat(RefMath.erf(3.0)).isCloseTo(0.9999779095030014, within(1e-15));
    assertThat(RefMath.erf(1e-3)).isCloseTo(0.0011283787909692363, within(1e-18));
    assertThat(RefMath.erf(0.0)).isZero();
    assertThat(RefMath.erf(7.0)).isEqualTo(1.0);
    assertThat(RefMath.geluExact(1.0)).isCloseTo(0.8413447460685429, within(1e-15));
    assertThat(RefMath.geluTanh(1.0)).isCloseTo(0.8411919906082768, within(1e-15));
  }

  @Test
  void ropeIsIdentityAtPositionZeroAndLinearScalingHalvesPositions() {
    double[] inv = ReferenceLlama.ropeInverseFrequencies(Map.of("rope_theta", 10000.0), 8);
    assertThat(inv).containsExactly(new double[] {1, 0.1, 0.01, 0.001}, within(1e-15));
    float[] x = {1, 2, 3, 4, 5, 6, 7, 8};
    float[] y = x.clone();
    ReferenceLlama.applyRope(y, 0, 8, inv, 0);
    assertThat(y).containsExactly(x);

    // position 1, pair (0, 4) rotates by 1 radian: (1, 5) -> (cos1 - 5 sin1, 5 cos1 + sin1)
    ReferenceLlama.applyRope(y, 0, 8, inv, 1);
    assertThat((double) y[0]).isCloseTo(Math.cos(1) - 5 * Math.sin(1), within(1e-6));
    assertThat((double) y[4]).isCloseTo(5 * Math.cos(1) + Math.sin(1), within(1e-6));

    Map<String, Object> linear = Map.of("rope_scaling", Map.of("type", "linear", "factor", 2.0));
    float[] a = x.clone();
    float[] b = x.clone();
    ReferenceLlama.applyRope(a, 0, 8, ReferenceLlama.ropeInverseFrequencies(linear, 8), 6);
    ReferenceLlama.applyRope(b, 0, 8, inv, 3);
    assertThat(a).containsExactly(b, org.assertj.core.data.Offset.offset(1e-6f));
  }

  @Test
  void llama3ScalingKeepsHighFrequenciesAndDividesLowOnes() {
    Map<String, Object> scaling = Map.of("rope_type", "llama3", "factor", 8.0,
        "low_freq_factor", 1.0, "high_freq_factor", 4.0, "original_max_position_embeddings", 32);
    double[] plain = ReferenceLlama.ropeInverseFrequencies(Map.of(), 16);
    double[] scaled = ReferenceLlama.ropeInverseFrequencies(Map.of("rope_scaling", scaling), 16);
    // wavelengths 2*pi/inv: 6.3 (< 32/4, kept), 19.9 (medium), 63 and longer (> 32, divided by 8)
    assertThat(scaled[0]).isEqualTo(plain[0]);
    double smooth = (32 / (2 * Math.PI / plain[1]) - 1.0) / (4.0 - 1.0);
    assertThat(scaled[1]).isCloseTo((1 - smooth) * plain[1] / 8 + smooth * plain[1], within(1e-15));
    for (int i = 2; i < 8; i++) {
      assertThat(scaled[i]).isCloseTo(plain[i] / 8, within(1e-15));
    }
  }

  @Test
  void decodersAreCausalAndMistralWindowOnlyLimitsLongRange() {
    int[] ids = {5, 9, 2, 7, 1};
    int[] prefix = {5, 9, 2};
    for (ReferenceModel m : new ReferenceModel[] {
        TinyCheckpoint.llama().reference(), TinyCheckpoint.gpt2().reference()}) {
      float[][] full = m.logits(ids);
      float[][] part = m.logits(prefix);
      for (int t = 0; t < prefix.length; t++) {
        assertThat(part[t]).containsExactly(full[t]);
      }
    }
    float[][] plain = TinyCheckpoint.llama().config("model_type", "mistral").reference().logits(ids);
    float[][] windowed = TinyCheckpoint.llama().config("model_type", "mistral")
        .config("sliding_window", 2).reference().logits(ids);
    assertThat(windowed[1]).containsExactly(plain[1]);
    assertThat(windowed[4]).isNotEqualTo(plain[4]);
  }

  @Test
  void groupedQueryAttentionEqualsExplicitlyRepeatedKvHeads() {
    TinyCheckpoint gqa = TinyCheckpoint.llama(); // 4 heads, 2 kv heads, head_dim 8
    Map<String, float[]> repeated = new LinkedHashMap<>(gqa.weights());
    for (int l = 0; l < 2; l++) {
      for (String proj : new String[] {"k_proj", "v_proj"}) {
        String name = "model.layers." + l + ".self_attn." + proj + ".weight";
        float[] w = gqa.weights().get(name);
        float[] r = new float[4 * 8 * 32];
        for (int h = 0; h < 4; h++) { // repeat_kv: query head h reads kv head h / 2
          System.arraycopy(w, (h / 2) * 8 * 32, r, h * 8 * 32, 8 * 32);
        }
        repeated.put(name, r);
      }
    }
    Map<String, Object> config = gqa.configMap();
    config.put("num_key_value_heads", 4);
    int[] ids = {1, 2, 3, 4};
    float[][] expected = gqa.reference().logits(ids);
    float[][] actual = new ReferenceLlama(config, repeated).logits(ids);
    for (int t = 0; t < ids.length; t++) {
      assertThat(actual[t]).containsExactly(expected[t], org.assertj.core.data.Offset.offset(1e-6f));
    }
  }

  @Test
  void zeroLayerModelsReduceToClosedForms() {
    TinyCheckpoint llama = TinyCheckpoint.llama().config("num_hidden_layers", 0);
    float[] e = java.util.Arrays.copyOfRange(llama.weights().get("model.embed_tokens.weight"), 7 * 32, 8 * 32);
    float[] g = llama.weights().get("model.norm.weight");
    float[] head = llama.weights().get("lm_head.weight");
    double ms = 0;
    for (float v : e) {
      ms += v * v / 32.0;
    }
    float[] logits = llama.reference().logits(new int[] {7})[0];
    for (int v = 0; v < 64; v++) {
      double s = 0;
      for (int i = 0; i < 32; i++) {
        s += head[v * 32 + i] * g[i] * e[i] / Math.sqrt(ms + 1e-5);
      }
      assertThat((double) logits[v]).isCloseTo(s, within(1e-5));
    }

    // BERT with no layers: LayerNorm(word + position + type) has zero mean and unit variance
    TinyCheckpoint bert = TinyCheckpoint.bert().config("num_hidden_layers", 0);
    bert.weights().put("embeddings.LayerNorm.weight", filled(32, 1f));
    bert.weights().put("embeddings.LayerNorm.bias", filled(32, 0f));
    float[] h = ((ReferenceBert) bert.reference()).lastHidden(new int[] {3, 4}, new int[] {0, 1})[1];
    double mean = 0;
    double var = 0;
    for (float v : h) {
      mean += v / 32.0;
      var += v * v / 32.0;
    }
    assertThat(mean).isCloseTo(0, within(1e-6));
    assertThat(var).isCloseTo(1, within(1e-5));
  }

  @Test
  void bertIsBidirectionalAndClassifierHasOneLogitPerLabel() {
    ReferenceBert bert = (ReferenceBert) TinyCheckpoint.bert().reference();
    float[][] a = bert.lastHidden(new int[] {2, 3, 4}, null);
    float[][] b = bert.lastHidden(new int[] {2, 3, 5}, null);
    assertThat(a[0]).isNotEqualTo(b[0]); // a later token changes the first position
    assertThat(bert.lastHidden(new int[] {2, 3, 4}, new int[] {0, 0, 0})[0]).containsExactly(a[0]);
    float[] pooled = bert.pooled(new int[] {2, 3}, null);
    assertThat(pooled).hasSize(32);
    for (float v : pooled) {
      assertThat(Math.abs(v)).isLessThan(1f); // tanh
    }

    ReferenceBert cls = (ReferenceBert) TinyCheckpoint.bert().withClassifier(3).reference();
    assertThat(cls.classifierLogits(new int[] {2, 3}, new int[] {0, 1})).hasSize(3);
  }

  private static float[] filled(int n, float value) {
    float[] a = new float[n];
    java.util.Arrays.fill(a, value);
    return a;
  }
}
