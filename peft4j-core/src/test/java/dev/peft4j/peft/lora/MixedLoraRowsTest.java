package dev.peft4j.peft.lora;

import static dev.peft4j.peft.PeftTesting.logits;
import static dev.peft4j.peft.PeftTesting.logitsAlone;
import static dev.peft4j.peft.PeftTesting.maxAbs;
import static dev.peft4j.peft.PeftTesting.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.model.AutoModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.OutputDelta;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * A mixed batch of several LoRA adapters (different ranks, targets, scalings) runs as gathered
 * batched matmuls, or with one token per row as the adapters' matrices side by side
 * ({@link GatheredLoraDelta}); either way each row must still equal running it alone with its
 * adapter (f32, 1e-5), and gradients must reach each adapter as if its rows ran alone.
 */
class MixedLoraRowsTest {
  private static final List<String> LORAS = List.of("default", "wide", "rs", "strong");
  private static final List<String> PLAN = List.of("default", "wide", "rs", PeftModel.BASE, "strong", "wide");

  @TempDir Path dir;

  /** Four random LoRAs: r 2 on the defaults, r 4 all-linear, r 8 rsLoRA on other projections, r 4 at α 32. */
  private PeftModel fourLoras(TinyCheckpoint checkpoint, String sub) throws Exception {
    PretrainedModel model = AutoModel.load(checkpoint.writeTo(dir.resolve(sub)), LoadOptions.defaults());
    Engine.manualSeed(21);
    PeftModel peft = Peft.wrap(model, LoraConfig.builder().r(2).loraAlpha(4).init(LoraConfig.LoraInit.RANDOM).build());
    peft.addAdapter("wide", LoraConfig.builder().r(4).loraAlpha(8).allLinear().init(LoraConfig.LoraInit.RANDOM).build());
    boolean llama = checkpoint.configMap().get("model_type").equals("llama");
    peft.addAdapter("rs", LoraConfig.builder().r(8).loraAlpha(8).useRslora(true)
        .targetModules(llama ? new String[] {"k_proj", "o_proj"} : new String[] {"c_proj"})
        .init(LoraConfig.LoraInit.RANDOM).build());
    peft.addAdapter("strong", LoraConfig.builder().r(4).loraAlpha(32).init(LoraConfig.LoraInit.RANDOM).build());
    return peft;
  }

  /** One row per plan entry, of {@code length} (5 or 1) tokens. */
  private static long[][] rows(int length) {
    long[][] rows = new long[PLAN.size()][];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = Arrays.copyOf(new long[] {3 + i, 14, 15 + 2 * i, 9, 26 - i}, length);
    }
    return rows;
  }

  @ParameterizedTest(name = "{0} tokens per row")
  @ValueSource(ints = {5, 1})
  void everyRowEqualsItsAdapterAloneOnLlamaAndGpt2(int length) throws Exception {
    for (TinyCheckpoint checkpoint : new TinyCheckpoint[] {TinyCheckpoint.llama(), TinyCheckpoint.gpt2()}) {
      String type = checkpoint.configMap().get("model_type").toString();
      PeftModel peft = fourLoras(checkpoint, type + length);
      CausalLm model = peft.causalLm();
      long[][] rows = rows(length);
      float[] mixed;
      try (PeftModel.MixedBatch m = peft.perRowAdapters(PLAN)) {
        assertGatheredEverywhere(peft);
        mixed = logits(model, rows);
      }
      assertThat(peft.baseModel().namedModules().values()).as("no gathered delta is left behind")
          .noneMatch(GatheredLoraDelta.class::isInstance);
      int n = mixed.length / rows.length;
      for (int i = 0; i < rows.length; i++) {
        float[] alone = logitsAlone(peft, PLAN.get(i), rows[i]);
        assertThat(maxAbsDiff(Arrays.copyOfRange(mixed, i * n, (i + 1) * n), alone))
            .as(type + " row " + i + " (" + PLAN.get(i) + ")").isLessThanOrEqualTo(1e-5);
      }
    }
  }

  private static void assertGatheredEverywhere(PeftModel peft) {
    for (String name : LORAS) {
      for (LoraDelta d : ((LoraAdapter) peft.adapter(name)).deltas().values()) {
        assertThat(d.active()).as("the adapter's own delta stands aside").isFalse();
        assertThat(d.host().deltas().stream().filter(OutputDelta::active).toList())
            .singleElement().isInstanceOf(GatheredLoraDelta.class);
      }
    }
  }

  @ParameterizedTest(name = "{0} tokens per row")
  @ValueSource(ints = {5, 1})
  void gradientsReachEachAdapterAsIfItsRowsRanAlone(int length) throws Exception {
    PeftModel peft = fourLoras(TinyCheckpoint.llama(), "grad" + length);
    long[][] rows = rows(length);
    try (PeftModel.MixedBatch m = peft.perRowAdapters(PLAN)) {
      backwardSquaredLogits(peft, rows);
    }
    Map<String, float[]> mixed = gradients(peft);
    for (String name : LORAS) {
      peft.setActive(name);
      long[][] own = IntStream.range(0, rows.length).filter(i -> PLAN.get(i).equals(name))
          .mapToObj(i -> rows[i]).toArray(long[][]::new);
      backwardSquaredLogits(peft, own);
    }
    Map<String, float[]> alone = gradients(peft);
    assertThat(mixed.keySet()).containsExactlyElementsOf(alone.keySet()).hasSizeGreaterThan(8);
    mixed.forEach((param, g) -> {
      double tolerance = 1e-5 * Math.max(1, maxAbs(alone.get(param)));
      assertThat(maxAbsDiff(g, alone.get(param))).as(param).isLessThanOrEqualTo(tolerance);
      assertThat(maxAbs(g)).as(param + " has a gradient").isGreaterThan(0);
    });
  }

  /** Σ logits² of {@code rows}, backpropagated (gradients accumulate in the parameters). */
  private static void backwardSquaredLogits(PeftModel peft, long[][] rows) {
    try (Scope scope = Scope.open()) {
      long[] flat = Arrays.stream(rows).flatMapToLong(Arrays::stream).toArray();
      Tensor logits = peft.causalLm().forward(Tensor.ofLongs(flat, rows.length, rows[0].length), null, null);
      logits.mul(logits).sum().backward();
    }
  }

  /** Each LoRA parameter's gradient, read out and then zeroed. */
  private static Map<String, float[]> gradients(PeftModel peft) {
    Map<String, float[]> out = new LinkedHashMap<>();
    for (String name : LORAS) {
      ((LoraAdapter) peft.adapter(name)).deltas().forEach((module, d) -> {
        for (var p : List.of(d.loraA(), d.loraB())) {
          Tensor g = p.value().grad();
          assertThat(g).as(name + " " + module + " has a gradient").isNotNull();
          out.put(name + " " + module + (p == d.loraA() ? " A" : " B"), g.toFloatArray());
          g.zero_();
        }
      });
    }
    return out;
  }
}
