package dev.peft4j.peft.bottleneck;

import static dev.peft4j.peft.bottleneck.Fixtures.INT_IDS;
import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.model.CausalLm;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.KvCache;
import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TinyCheckpoint;
import dev.peft4j.testing.reference.ReferenceBert;
import dev.peft4j.testing.reference.ReferenceGpt2;
import dev.peft4j.testing.reference.ReferenceLlama;
import dev.peft4j.testing.reference.SublayerHook;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The adapted models against the independent reference models with the adapter written out in
 * double (ReferenceAdapter) at the matching point of the reference layer. Adapter weights are
 * drawn with std 0.3 so that they change the output by far more than the tolerance. Tolerance:
 * 1e-4 × the largest |output| (f32 arithmetic in a different order).
 */
class BottleneckMathTest {
  private static final int TINY_HEADS = 4;

  @TempDir Path dir;

  /** The reference hook for {@code peft}'s stack: each site runs its adapters in stack order. */
  private static SublayerHook hook(PeftModel peft, String layerPrefix) {
    BottleneckConfig config = (BottleneckConfig) peft.config();
    Map<String, Parameter> params = peft.adapter().trainableParameters();
    return (layer, site, input, output) -> {
      float[] out = output;
      for (int k = 0; k < config.stack().size(); k++) {
        BottleneckSpec spec = config.stack().get(k);
        boolean context = site.equals("attention.context");
        String siteName = context ? "attention" : site;
        String path = layerPrefix + layer + "." + siteName + "_adapter" + (k == 0 ? "" : "_" + k);
        if (!params.containsKey(path + ".down.weight") || spec.multiHead() != context) {
          continue;
        }
        ReferenceAdapter adapter = new ReferenceAdapter(params, path, spec, spec.multiHead() ? TINY_HEADS : 1);
        if (context) {
          // the multi-head adapter as He et al. define it: a change of the per-head context, before W_o
          float[] delta = adapter.delta(input);
          float[] changed = out.clone();
          for (int i = 0; i < changed.length; i++) {
            changed[i] += delta[i];
          }
          out = changed;
        } else {
          out = adapter.apply(input, out);
        }
      }
      return out;
    };
  }

  private static void assertClose(float[] actual, float[][] expectedRows) {
    List<Float> flat = new ArrayList<>();
    for (float[] row : expectedRows) {
      for (float v : row) {
        flat.add(v);
      }
    }
    float[] expected = new float[flat.size()];
    for (int i = 0; i < expected.length; i++) {
      expected[i] = flat.get(i);
    }
    double tolerance = 1e-4 * Fixtures.maxAbs(expected);
    assertThat(Fixtures.maxAbsDiff(actual, expected)).isLessThanOrEqualTo(tolerance);
  }

  private PeftModel wrapRandom(TinyCheckpoint checkpoint, BottleneckConfig config) throws Exception {
    PretrainedModel model = Fixtures.load(checkpoint, dir.resolve(checkpoint.configMap().get("model_type") + "-" + System.nanoTime()));
    float[] base = Fixtures.output(model);
    PeftModel peft = Peft.wrap(model, config);
    Fixtures.randomize(peft, 0.3, 5);
    assertThat(Fixtures.maxAbsDiff(Fixtures.output(model), base)).as("the adapters change the output")
        .isGreaterThan(1e-2 * Fixtures.maxAbs(base));
    return peft;
  }

  @Test
  void houlsbyOnLlamaMatchesTheReferenceWithSequentialAdaptersAfterAttentionAndMlp() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama();
    PeftModel peft = wrapRandom(checkpoint, BottleneckConfig.of(BottleneckSpec.houlsby().bottleneckSize(6).build()));
    ReferenceLlama reference = ((ReferenceLlama) checkpoint.reference()).withHook(hook(peft, "model.layers."));
    assertClose(Fixtures.output(peft.baseModel()), reference.logits(INT_IDS));
  }

  @Test
  void scaledParallelWithLearnedScalingOnBertMatchesTheReferenceBeforeResidualAndLayerNorm() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.bert();
    PeftModel peft = wrapRandom(checkpoint, BottleneckConfig.of(BottleneckSpec.scaledParallel(2.5).learnedScaling(true)
        .placement(BottleneckSpec.Placement.BOTH).nonLinearity(BottleneckSpec.NonLinearity.TANH).bottleneckSize(5).build()));
    ReferenceBert reference = ((ReferenceBert) checkpoint.reference()).withHook(hook(peft, "encoder.layer."));
    assertClose(Fixtures.output(peft.baseModel()), reference.lastHidden(INT_IDS, null));
  }

  @Test
  void multiHeadParallelOnGpt2EqualsChangingEachHeadsContextBeforeTheOutputProjection() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.gpt2();
    PeftModel peft = wrapRandom(checkpoint, BottleneckConfig.of(BottleneckSpec.multiHeadParallel().bottleneckSize(3)
        .nonLinearity(BottleneckSpec.NonLinearity.GELU).scaling(1.5).build()));
    ReferenceGpt2 reference = ((ReferenceGpt2) checkpoint.reference()).withHook(hook(peft, "transformer.h."));
    assertClose(Fixtures.output(peft.baseModel()), reference.logits(INT_IDS));
  }

  @Test
  void multiHeadParallelOnBertUsesTheLinearOutputProjectionLayout() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.bert();
    PeftModel peft = wrapRandom(checkpoint, BottleneckConfig.multiHeadParallel(2));
    ReferenceBert reference = ((ReferenceBert) checkpoint.reference()).withHook(hook(peft, "encoder.layer."));
    assertClose(Fixtures.output(peft.baseModel()), reference.lastHidden(INT_IDS, null));
  }

  @Test
  void aStackFeedsTheFirstAdaptersOutputIntoTheSecond() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama();
    BottleneckSpec first = BottleneckSpec.pfeiffer().bottleneckSize(4).build();
    BottleneckSpec second = BottleneckSpec.pfeiffer().bottleneckSize(8).nonLinearity(BottleneckSpec.NonLinearity.TANH).build();
    PeftModel peft = wrapRandom(checkpoint, BottleneckConfig.of(first, second));
    assertThat(peft.adapter().targetedModules()).containsExactly(
        "model.layers.0.ffn_adapter", "model.layers.1.ffn_adapter", "model.layers.0.ffn_adapter_1", "model.layers.1.ffn_adapter_1");
    float[] actual = Fixtures.output(peft.baseModel());
    ReferenceLlama reference = ((ReferenceLlama) checkpoint.reference()).withHook(hook(peft, "model.layers."));
    assertClose(actual, reference.logits(INT_IDS));

    // the same two adapters applied the other way round (second on the base output, first on its result) differ
    Map<String, Parameter> params = peft.adapter().trainableParameters();
    SublayerHook swapped = (layer, site, input, output) -> {
      if (!site.equals("ffn")) {
        return output;
      }
      String path = "model.layers." + layer + ".ffn_adapter";
      float[] afterSecond = new ReferenceAdapter(params, path + "_1", second, 1).apply(input, output);
      return new ReferenceAdapter(params, path, first, 1).apply(input, afterSecond);
    };
    float[][] wrongOrder = ((ReferenceLlama) checkpoint.reference()).withHook(swapped).logits(INT_IDS);
    float[] flat = new float[actual.length];
    for (int t = 0; t < wrongOrder.length; t++) {
      System.arraycopy(wrongOrder[t], 0, flat, t * wrongOrder[t].length, wrongOrder[t].length);
    }
    assertThat(Fixtures.maxAbsDiff(actual, flat)).as("order matters, so the check above is sensitive to it")
        .isGreaterThan(1e-2 * Fixtures.maxAbs(flat));
  }

  @Test
  void aParallelStackAddsBothChangesToTheSameSublayerInput() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.gpt2();
    PeftModel peft = wrapRandom(checkpoint, BottleneckConfig.of(
        BottleneckSpec.parallel().bottleneckSize(4).placement(BottleneckSpec.Placement.BOTH).build(),
        BottleneckSpec.houlsby().bottleneckSize(2).layersToTransform(1).build()));
    ReferenceGpt2 reference = ((ReferenceGpt2) checkpoint.reference()).withHook(hook(peft, "transformer.h."));
    assertClose(Fixtures.output(peft.baseModel()), reference.logits(INT_IDS));
  }

  @Test
  void decodingWithTheKvCacheEqualsRecomputingTheWholeSequence() throws Exception {
    PeftModel peft = wrapRandom(TinyCheckpoint.llama(), BottleneckConfig.of(BottleneckSpec.houlsby().bottleneckSize(4).build(),
        BottleneckSpec.multiHeadParallel().bottleneckSize(2).build()));
    CausalLm lm = peft.causalLm();
    long[] ids = Fixtures.IDS;
    int n = ids.length;
    try (Scope scope = Scope.open();
         Engine.GradGuard g = Engine.noGrad();
         KvCache cache = lm.newCache()) {
      float[] full = lm.forward(Tensor.ofLongs(ids, 1, n), null, null).toFloatArray();
      lm.forward(Tensor.ofLongs(Arrays.copyOf(ids, n - 1), 1, n - 1), null, cache);
      float[] last = lm.forward(Tensor.ofLongs(new long[] {ids[n - 1]}, 1, 1), null, cache).toFloatArray();
      float[] expected = Arrays.copyOfRange(full, (n - 1) * last.length, n * last.length);
      assertThat(Fixtures.maxAbsDiff(last, expected)).isLessThanOrEqualTo(1e-5 * Fixtures.maxAbs(expected));
    }
  }
}
