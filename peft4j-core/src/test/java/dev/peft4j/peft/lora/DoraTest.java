package dev.peft4j.peft.lora;

import static dev.peft4j.peft.PeftTesting.logits;
import static dev.peft4j.peft.PeftTesting.maxAbs;
import static dev.peft4j.peft.PeftTesting.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.model.AutoModel;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Parameter;
import dev.peft4j.nn.Projection;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DoRA (Liu et al. 2024) as PEFT computes it: {@code W' = m · (W + ΔW) / ‖W + ΔW‖} per output, the
 * norm a constant for the gradient. PEFT's own outputs are checked in {@code PythonPeftInteropTest}
 * (llama-dora, gpt2-dora); here the same formula is written out again in plain tensor math.
 */
class DoraTest {
  private static final long[] IDS = {3, 14, 15, 9, 26, 5, 35};
  private static final String Q = "model.layers.0.self_attn.q_proj";

  @TempDir Path dir;

  private PretrainedModel load(TinyCheckpoint checkpoint, String sub) throws Exception {
    return AutoModel.load(checkpoint.writeTo(dir.resolve(sub)), LoadOptions.defaults());
  }

  @Test
  void startsAsTheBaseModelAndSavesAndLoadsOnLlamaAndGpt2() throws Exception {
    Map<String, TinyCheckpoint> checkpoints = Map.of("llama", TinyCheckpoint.llama(), "gpt2", TinyCheckpoint.gpt2());
    for (Map.Entry<String, TinyCheckpoint> e : checkpoints.entrySet()) {
      String family = e.getKey();
      PretrainedModel model = load(e.getValue(), family);
      float[] base = logits((dev.peft4j.model.CausalLm) model, IDS);
      PeftModel peft = Peft.wrap(model, LoraConfig.builder().allLinear().useDora(true).build());
      assertThat(maxAbsDiff(logits(peft.causalLm(), IDS), base)).as(family + " at the start")
          .isLessThanOrEqualTo(1e-6 * Math.max(1, maxAbs(base)));

      perturb(peft);
      float[] adapted = logits(peft.causalLm(), IDS);
      Path saved = dir.resolve(family + "-dora");
      peft.save(saved);
      assertThat(Files.readString(saved.resolve("adapter_config.json"))).contains("\"use_dora\": true");
      PeftModel loaded = PeftModel.load(load(e.getValue(), family + "-again"), saved);
      assertThat(maxAbsDiff(logits(loaded.causalLm(), IDS), adapted)).isZero();
      assertThat(maxAbsDiff(adapted, base)).as("the perturbed adapter changes the logits").isGreaterThan(1e-3);
    }
  }

  /** The PEFT-made adapters: merged logits equal unmerged ones, unmerging restores the weights. */
  @Test
  void mergingGivesTheUnmergedOutputAndUnmergingRestoresTheWeights() throws Exception {
    for (String[] fixture : new String[][] {{"llama-dora", "llama"}, {"gpt2-dora", "gpt2"}, {"llama-dora-embed", "llama"}}) {
      PretrainedModel model = AutoModel.load(interop(fixture[1]), LoadOptions.defaults());
      Map<String, float[]> before = new LinkedHashMap<>();
      model.namedParameters().forEach((name, p) -> before.put(name, p.value().toFloatArray()));
      PeftModel peft = PeftModel.load(model, interop(fixture[0]));
      float[] unmerged = logits(peft.causalLm(), IDS);

      peft.merge();
      double scale = Math.max(1, maxAbs(unmerged));
      assertThat(maxAbsDiff(logits(peft.causalLm(), IDS), unmerged)).as(fixture[0] + " merged")
          .isLessThanOrEqualTo(1e-5 * scale);
      peft.unmerge();
      Map<String, Parameter> now = model.namedParameters(); // the base's, and the adapter's now too
      before.forEach((name, was) -> assertThat(maxAbsDiff(now.get(name).value().toFloatArray(), was)).as(name)
          .isLessThanOrEqualTo(1e-5 * Math.max(1, maxAbs(was))));
      assertThat(maxAbsDiff(logits(peft.causalLm(), IDS), unmerged)).isLessThanOrEqualTo(1e-5 * scale);
    }
  }

  /**
   * With V = W + s·B A, n = ‖V‖ per output and c = m / n: y = c ⊙ (x Vᵀ), and for L = Σ g ⊙ y,
   * ∂L/∂m = Σ_rows g ⊙ (x Vᵀ) / n, ∂L/∂B = s (g ⊙ c)ᵀ (x Aᵀ), ∂L/∂A = s ((g ⊙ c) B)ᵀ x — n treated
   * as a constant; differentiating through n would add terms to ∂L/∂A and ∂L/∂B.
   */
  @Test
  void gradientsTreatTheNormAsAConstant() throws Exception {
    Adapted adapted = doraOn(TinyCheckpoint.llama(), Q, LoraConfig.builder().r(2).loraAlpha(3));
    LoraDelta delta = adapted.delta();
    Projection q = adapted.projection();
    try (Scope scope = Scope.open()) {
      Tensor x = Tensor.randn(DType.F32, 3, q.inFeatures());
      Tensor g = Tensor.randn(DType.F32, 3, q.outFeatures());
      Tensor y = q.forward(x);
      y.mul(g).sum().backward();

      try (Engine.GradGuard off = Engine.noGrad()) {
        double s = delta.scaling();
        Tensor a = delta.loraA().value();
        Tensor b = delta.loraB().value();
        Tensor v = q.weight().value().add(b.matmul(a).mul(s));                 // [out, in]
        Tensor n = v.mul(v).sum(1, false).sqrt();                               // [out]
        Tensor c = delta.magnitude().value().div(n);
        Tensor xv = x.matmul(v.transpose(0, 1));                                // [3, out]
        Tensor gc = g.mul(c);
        assertClose(y, doraOutput(q, delta, x), "output");
        assertClose(delta.magnitude().value().grad(), g.mul(xv).sum(0, false).div(n), "dL/dm");
        assertClose(b.grad(), gc.transpose(0, 1).matmul(x.matmul(a.transpose(0, 1))).mul(s), "dL/dB");
        assertClose(a.grad(), gc.matmul(b).transpose(0, 1).matmul(x).mul(s), "dL/dA");
      }
    }
  }

  /** Without autograd the norms are kept between passes; changing W, A or B in place must renew them. */
  @Test
  void inferenceReusesTheNormsOnlyWhileTheWeightsStayTheSame() throws Exception {
    Adapted adapted = doraOn(TinyCheckpoint.llama(), Q, LoraConfig.builder().r(2));
    LoraDelta delta = adapted.delta();
    Projection q = adapted.projection();
    try (Scope scope = Scope.open(); Engine.GradGuard off = Engine.noGrad()) {
      Tensor x = Tensor.randn(DType.F32, 3, q.inFeatures());
      assertClose(q.forward(x), doraOutput(q, delta, x), "first pass");
      assertClose(q.forward(x), doraOutput(q, delta, x), "second pass");
      delta.loraB().value().add_(Tensor.ones(DType.F32, delta.loraB().shape()), 0.5);
      assertClose(q.forward(x), doraOutput(q, delta, x), "after B changed in place");
      delta.loraA().value().mul_(2.0);
      assertClose(q.forward(x), doraOutput(q, delta, x), "after A changed in place");
      q.weight().value().add_(Tensor.ones(DType.F32, q.weight().shape()), 0.25);
      assertClose(q.forward(x), doraOutput(q, delta, x), "after W changed in place");
    }
  }

  /** c ⊙ (x Vᵀ) with V = W + s·B A and c = m / ‖V‖ per output: a Linear's DoRA output without bias or dropout. */
  private static Tensor doraOutput(Projection linear, LoraDelta delta, Tensor x) {
    Tensor v = linear.weight().value().add(delta.loraB().value().matmul(delta.loraA().value()).mul(delta.scaling()));
    Tensor c = delta.magnitude().value().div(v.mul(v).sum(1, false).sqrt());
    return x.matmul(v.transpose(0, 1)).mul(c);
  }

  /** While training with dropout, PEFT takes x Wᵀ of the dropped-out input too, and the base output as it is. */
  @Test
  void withDropoutBothChangedTermsReadTheDroppedInput() throws Exception {
    Adapted adapted = doraOn(TinyCheckpoint.gpt2(), "transformer.h.0.attn.c_attn", LoraConfig.builder().loraDropout(0.5));
    adapted.peft().setTraining(true);
    LoraDelta delta = adapted.delta();
    Projection attn = adapted.projection();
    try (Scope scope = Scope.open(); Engine.GradGuard off = Engine.noGrad()) {
      Tensor x = Tensor.randn(DType.F32, 4, attn.inFeatures());
      Engine.manualSeed(11);
      Tensor y = attn.forward(x);
      Engine.manualSeed(11); // the same draw: dropout is the forward's only random step
      Tensor dropped = Functional.dropout(x, 0.5, true);
      assertThat(maxAbsDiff(dropped.toFloatArray(), x.toFloatArray())).as("something dropped").isGreaterThan(0);

      Tensor w = attn.weight().value();                                        // Conv1D: [in, out]
      Tensor a = delta.loraA().value();
      Tensor b = delta.loraB().value();
      Tensor v = w.add(b.matmul(a).mul(delta.scaling()).transpose(0, 1));      // [in, out]
      Tensor c = delta.magnitude().value().div(v.mul(v).sum(0, false).sqrt()); // [out]
      Tensor lora = dropped.matmul(a.transpose(0, 1)).matmul(b.transpose(0, 1)).mul(delta.scaling());
      Tensor expected = attn.forwardWithoutDeltas(x).add(dropped.matmul(w).mul(c.add(-1.0))).add(lora.mul(c));
      assertClose(y, expected, "output");
    }
  }

  @Test
  void doraAdaptersAreNotCombinedOrRunPerRow() throws Exception {
    PeftModel peft = Peft.wrap(load(TinyCheckpoint.llama(), "llama"), LoraConfig.builder().useDora(true).build());
    peft.addAdapter("other", LoraConfig.builder().useDora(true).build());
    assertThatThrownBy(() -> peft.addWeightedAdapter(List.of("default", "other"), List.of(0.5, 0.5), "mix",
        LoraCombination.Type.LINEAR, 0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("DoRA adapters cannot be combined");
    assertThatThrownBy(() -> peft.perRowAdapters(List.of("default", PeftModel.BASE)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("adapter 'default' is a DoRA adapter, which cannot run per row");
    assertThat(peft.adapterNames()).containsExactly("default", "other");
  }

  /** A model with DoRA on one projection (random A and B, all moved off their start), and that projection. */
  private record Adapted(PeftModel peft, LoraDelta delta, Projection projection) {}

  private Adapted doraOn(TinyCheckpoint checkpoint, String module, LoraConfig.Builder config) throws Exception {
    PretrainedModel model = load(checkpoint, "model");
    String name = module.substring(module.lastIndexOf('.') + 1);
    PeftModel peft = Peft.wrap(model, config.targetModules(name).init(LoraConfig.LoraInit.RANDOM).useDora(true).build());
    perturb(peft);
    LoraDelta delta = ((LoraAdapter) peft.adapter()).deltas().get(module);
    return new Adapted(peft, delta, (Projection) model.namedModules().get(module));
  }

  /** Moves every trainable tensor away from its start (B = 0 and m = ‖W‖ would hide mistakes). */
  private static void perturb(PeftModel peft) {
    Engine.manualSeed(5);
    try (Scope scope = Scope.open(); Engine.GradGuard off = Engine.noGrad()) {
      for (Parameter p : peft.trainableParameters().values()) {
        p.value().add_(Tensor.randn(DType.F32, p.shape()).mul(0.3).to(p.value().dtype()), 1.0);
      }
    }
  }

  private static void assertClose(Tensor actual, Tensor expected, String what) {
    float[] e = expected.toFloatArray();
    assertThat(maxAbsDiff(actual.toFloatArray(), e)).as(what).isLessThanOrEqualTo(1e-5 * Math.max(1, maxAbs(e)));
  }

  private static Path interop(String name) throws Exception {
    return Path.of(DoraTest.class.getResource("/interop/" + name).toURI());
  }
}
