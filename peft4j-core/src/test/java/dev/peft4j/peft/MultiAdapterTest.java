package dev.peft4j.peft;

import static dev.peft4j.peft.PeftTesting.logits;
import static dev.peft4j.peft.PeftTesting.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.generate.GenerationConfig;
import dev.peft4j.generate.Generator;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.peft.lora.LoraCombination;
import dev.peft4j.peft.lora.LoraConfig;
import dev.peft4j.peft.lora.LoraDelta;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Several adapters on one base: switching, deleting, per-row mixed batches, weighted combinations. */
class MultiAdapterTest {
  private static final long[][] ROWS = {{3, 14, 15, 9, 26}, {5, 35, 8, 9, 7}, {9, 3, 2, 38, 4}, {6, 2, 6, 43, 3}};

  @TempDir Path dir;

  private PretrainedModel load(TinyCheckpoint c, String sub) throws Exception {
    return AutoModel.load(c.writeTo(dir.resolve(sub)), LoadOptions.defaults());
  }

  private static LoraConfig random(int r, String... targets) {
    return LoraConfig.builder().r(r).loraAlpha(2 * r).init(LoraConfig.LoraInit.RANDOM).targetModules(targets).build();
  }

  private static float[] row(float[] batch, int row, int rows) {
    int n = batch.length / rows;
    return java.util.Arrays.copyOfRange(batch, row * n, (row + 1) * n);
  }

  /** Two adapters saved to disk, and the single-adapter logits of each row. */
  private Path[] twoAdapters(TinyCheckpoint checkpoint) throws Exception {
    Engine.manualSeed(1);
    Peft.wrap(load(checkpoint, "a0"), random(4, "q_proj", "v_proj")).save(dir.resolve("A"));
    Engine.manualSeed(2);
    Peft.wrap(load(checkpoint, "b0"), random(2, "k_proj", "o_proj", "down_proj")).save(dir.resolve("B"));
    return new Path[] {dir.resolve("A"), dir.resolve("B")};
  }

  @Test
  void switchingAdaptersMatchesLoadingEachAloneAndDeleteRestoresTheBase() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama();
    Path[] saved = twoAdapters(checkpoint);
    float[] base = logits((CausalLm) load(checkpoint, "base"), ROWS);
    float[] aloneA = logits(PeftModel.load(load(checkpoint, "la"), saved[0]).causalLm(), ROWS);
    float[] aloneB = logits(PeftModel.load(load(checkpoint, "lb"), saved[1]).causalLm(), ROWS);

    PeftModel peft = PeftModel.load(load(checkpoint, "m"), saved[0]);
    long paramsBefore = peft.baseModel().parameterCount();
    peft.loadAdapter(saved[1], "b");
    assertThat(peft.adapterNames()).containsExactly("default", "b");
    assertThat(logits(peft.causalLm(), ROWS)).containsExactly(aloneA);
    peft.setActive("b");
    assertThat(logits(peft.causalLm(), ROWS)).containsExactly(aloneB);
    assertThat(peft.trainableParameters().keySet()).allMatch(k -> k.contains(".b.lora_"));
    try (PeftModel.AdaptersDisabled off = peft.disableAdapters()) {
      assertThat(logits(peft.causalLm(), ROWS)).containsExactly(base);
    }
    peft.deleteAdapter("b");
    peft.deleteAdapter("default");
    assertThat(peft.baseModel().parameterCount()).isLessThan(paramsBefore);
    assertThat(logits(peft.causalLm(), ROWS)).containsExactly(base);
    assertThatThrownBy(() -> peft.setActive("b")).hasMessageContaining("no adapter named 'b'");
  }

  @Test
  void mixedBatchRowsEqualEachRowRunAloneWithItsAdapter() throws Exception {
    for (TinyCheckpoint checkpoint : new TinyCheckpoint[] {TinyCheckpoint.llama(), TinyCheckpoint.gpt2()}) {
      String type = checkpoint.configMap().get("model_type").toString();
      Engine.manualSeed(3);
      PeftModel peft = Peft.wrap(load(checkpoint, type), LoraConfig.builder().r(4).init(LoraConfig.LoraInit.RANDOM).build());
      Engine.manualSeed(4);
      peft.addAdapter("other", LoraConfig.builder().r(2).loraAlpha(8).init(LoraConfig.LoraInit.RANDOM).allLinear().build());
      List<String> plan = List.of("default", "other", PeftModel.BASE, "default");
      float[] mixed;
      try (PeftModel.MixedBatch m = peft.perRowAdapters(plan)) {
        mixed = logits(peft.causalLm(), ROWS);
      }
      for (int i = 0; i < ROWS.length; i++) {
        float[] alone;
        if (plan.get(i).equals(PeftModel.BASE)) {
          try (PeftModel.AdaptersDisabled off = peft.disableAdapters()) {
            alone = logits(peft.causalLm(), ROWS[i]);
          }
        } else {
          peft.setActive(plan.get(i));
          alone = logits(peft.causalLm(), ROWS[i]);
        }
        assertThat(maxAbsDiff(row(mixed, i, ROWS.length), alone)).as(type + " row " + i + " (" + plan.get(i) + ")")
            .isLessThanOrEqualTo(1e-5);
      }
      assertThat(peft.activeAdapters()).as("restored after the mixed batch").containsExactly(plan.get(3));
      float[] baseRow0;
      try (PeftModel.AdaptersDisabled off = peft.disableAdapters()) {
        baseRow0 = logits(peft.causalLm(), ROWS[0]);
      }
      assertThat(maxAbsDiff(row(mixed, 0, ROWS.length), baseRow0)).as("the adapter changes row 0").isGreaterThan(1e-3);
    }
  }

  @Test
  void mixedBatchGenerationGivesEachRowItsOwnAdaptersTokens() throws Exception {
    TinyCheckpoint checkpoint = dev.peft4j.generate.TestModels.lively(TinyCheckpoint.llama());
    Engine.manualSeed(5);
    PeftModel peft = Peft.wrap(load(checkpoint, "m"), LoraConfig.builder().r(4).loraAlpha(32)
        .init(LoraConfig.LoraInit.RANDOM).allLinear().build());
    Generator generator = new Generator(peft.causalLm(), null);
    List<long[]> prompts = List.of(new long[] {3, 14, 15}, new long[] {9, 2, 6, 5, 35}, new long[] {8, 9});
    List<String> plan = List.of("default", PeftModel.BASE, "default");
    List<long[]> mixed;
    try (PeftModel.MixedBatch m = peft.perRowAdapters(plan)) {
      mixed = generator.generate(prompts, GenerationConfig.greedy(12)).stream().map(r -> r.ids()).toList();
    }
    for (int i = 0; i < prompts.size(); i++) {
      long[] alone;
      if (plan.get(i).equals(PeftModel.BASE)) {
        try (PeftModel.AdaptersDisabled off = peft.disableAdapters()) {
          alone = generator.generate(prompts.get(i), GenerationConfig.greedy(12)).ids();
        }
      } else {
        alone = generator.generate(prompts.get(i), GenerationConfig.greedy(12)).ids();
      }
      assertThat(mixed.get(i)).as("row " + i).containsExactly(alone);
    }
    long[] withoutAdapter;
    try (PeftModel.AdaptersDisabled off = peft.disableAdapters()) {
      withoutAdapter = generator.generate(prompts.get(0), GenerationConfig.greedy(12)).ids();
    }
    assertThat(mixed.get(0)).as("the adapter changes row 0's tokens").isNotEqualTo(withoutAdapter);
  }

  @Test
  void weightedCombinationsFollowPeftsDefinitions() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama();
    PretrainedModel model = load(checkpoint, "m");
    Engine.manualSeed(6);
    // alpha = r: scaling 1, where PEFT's svd (which weights deltas by w·s) equals the plain weighted sum
    PeftModel peft = Peft.wrap(model, LoraConfig.builder().r(4).loraAlpha(4).init(LoraConfig.LoraInit.RANDOM).build());
    peft.addAdapter("b", LoraConfig.builder().r(4).loraAlpha(4).init(LoraConfig.LoraInit.RANDOM).build());
    peft.addAdapter("c", LoraConfig.builder().r(2).loraAlpha(2).init(LoraConfig.LoraInit.RANDOM).build());
    String module = "model.layers.1.self_attn.q_proj";

    peft.addWeightedAdapter(List.of("default"), List.of(1.0), "lin1", LoraCombination.Type.LINEAR, 0);
    assertThat(maxAbsDiff(delta(peft, "lin1", module), delta(peft, "default", module))).isLessThanOrEqualTo(1e-6);
    peft.setActive("default");
    float[] original = logits(peft.causalLm(), ROWS);
    peft.setActive("lin1");
    assertThat(maxAbsDiff(logits(peft.causalLm(), ROWS), original)).isLessThanOrEqualTo(1e-6);

    float[] expected = weightedSum(peft, module, new String[] {"default", "b", "c"}, new double[] {0.7, -0.4, 1.5});
    peft.addWeightedAdapter(List.of("default", "b", "c"), List.of(0.7, -0.4, 1.5), "cat", LoraCombination.Type.CAT, 0);
    assertThat(((LoraConfig) peft.adapter("cat").config()).r()).isEqualTo(10);
    assertThat(maxAbsDiff(delta(peft, "cat", module), expected)).isLessThanOrEqualTo(1e-5);
    peft.addWeightedAdapter(List.of("default", "b", "c"), List.of(0.7, -0.4, 1.5), "svd", LoraCombination.Type.SVD, 10);
    assertThat(maxAbsDiff(delta(peft, "svd", module), expected)).as("full-rank svd").isLessThanOrEqualTo(1e-4);
    assertThatThrownBy(() -> peft.addWeightedAdapter(List.of("default", "c"), List.of(1.0, 1.0), "bad",
        LoraCombination.Type.LINEAR, 0)).hasMessageContaining("same rank");
  }

  private static float[] delta(PeftModel peft, String adapter, String module) {
    try (Scope scope = Scope.open()) {
      return ((dev.peft4j.peft.lora.LoraAdapter) peft.adapter(adapter)).deltas().get(module).deltaWeight().toFloatArray();
    }
  }

  /** Σ wᵢ·sᵢ·BᵢAᵢ in double, from each adapter's A and B. */
  private static float[] weightedSum(PeftModel peft, String module, String[] names, double[] weights) {
    double[] sum = null;
    int out = 0;
    int in = 0;
    for (int n = 0; n < names.length; n++) {
      LoraDelta d = ((dev.peft4j.peft.lora.LoraAdapter) peft.adapter(names[n])).deltas().get(module);
      float[] a = d.loraA().value().toFloatArray();
      float[] b = d.loraB().value().toFloatArray();
      int r = (int) d.loraA().shape()[0];
      in = (int) d.loraA().shape()[1];
      out = (int) d.loraB().shape()[0];
      if (sum == null) {
        sum = new double[out * in];
      }
      for (int o = 0; o < out; o++) {
        for (int i = 0; i < in; i++) {
          double s = 0;
          for (int k = 0; k < r; k++) {
            s += (double) b[o * r + k] * a[k * in + i];
          }
          sum[o * in + i] += weights[n] * d.scaling() * s;
        }
      }
    }
    float[] result = new float[sum.length];
    for (int i = 0; i < sum.length; i++) {
      result[i] = (float) sum[i];
    }
    return result;
  }
}
