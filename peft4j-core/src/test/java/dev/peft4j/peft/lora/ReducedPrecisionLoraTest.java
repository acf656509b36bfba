package dev.peft4j.peft.lora;

import static dev.peft4j.peft.PeftTesting.logits;
import static dev.peft4j.peft.PeftTesting.maxAbs;
import static dev.peft4j.peft.PeftTesting.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.model.AutoModel;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On a bf16 model the LoRA matrices are float32, as PEFT keeps them by default
 * ({@code autocast_adapter_dtype=True}); the model's activations stay bf16. Reference: the change
 * the same adapter makes to the float32 model's logits; the bf16 model's change must match it
 * within bf16's precision (2⁻⁸ relative per rounding, a few roundings deep: 5% of its largest
 * entry). Comparing changes keeps the rounding of the base weights out of the comparison.
 */
class ReducedPrecisionLoraTest {
  private static final long[][] ROWS = {{3, 14, 15, 9, 26}, {5, 35, 8, 9, 7}};

  @TempDir Path dir;

  @Test
  void bf16ModelKeepsFloat32LoraMatricesAndMatchesTheFloat32Model() throws Exception {
    Path checkpoint = TinyCheckpoint.llama().writeTo(dir.resolve("model"));
    PretrainedModel bf16 = AutoModel.load(checkpoint, LoadOptions.defaults().withDType(DType.BF16));
    Engine.manualSeed(5);
    PeftModel peft = Peft.wrap(bf16, LoraConfig.builder().r(4).loraAlpha(32).allLinear().init(LoraConfig.LoraInit.RANDOM).build());
    Map<String, LoraDelta> deltas = ((LoraAdapter) peft.adapter()).deltas();
    deltas.values().forEach(d -> {
      assertThat(d.loraA().value().dtype()).isEqualTo(DType.F32);
      assertThat(d.loraB().value().dtype()).isEqualTo(DType.F32);
      assertThat(d.host().weight().value().dtype()).isEqualTo(DType.BF16);
    });
    float[] adapted = logits(peft.causalLm(), ROWS);
    assertThat(peft.causalLm().forward(dev.peft4j.tensor.Tensor.ofLongs(ROWS[0], 1, 5), null, null).dtype())
        .as("activations stay bf16").isEqualTo(DType.BF16);
    float[] base;
    try (PeftModel.AdaptersDisabled off = peft.disableAdapters()) {
      base = logits(peft.causalLm(), ROWS);
    }

    peft.save(dir.resolve("adapter"));
    PeftModel f32 = PeftModel.load(AutoModel.load(checkpoint, LoadOptions.defaults()), dir.resolve("adapter"));
    float[] change = minus(adapted, base);
    float[] baseF32;
    try (PeftModel.AdaptersDisabled off = f32.disableAdapters()) {
      baseF32 = logits(f32.causalLm(), ROWS);
    }
    float[] referenceChange = minus(logits(f32.causalLm(), ROWS), baseF32);
    double tolerance = 0.05 * maxAbs(referenceChange);
    assertThat(maxAbs(referenceChange)).as("the adapter changes the logits").isGreaterThan(0.05);
    assertThat(maxAbsDiff(change, referenceChange)).isLessThanOrEqualTo(tolerance);

    PeftModel reloaded = PeftModel.load(AutoModel.load(checkpoint, LoadOptions.defaults().withDType(DType.BF16)),
        dir.resolve("adapter"));
    assertThat(logits(reloaded.causalLm(), ROWS)).as("saved in float32, reloaded exactly").containsExactly(adapted);

    // PEFT's autocast_adapter_dtype=False: bf16 matrices, one more rounding of A and B
    peft.castLoraMatrices(DType.BF16);
    deltas.values().forEach(d -> assertThat(d.loraA().value().dtype()).isEqualTo(DType.BF16));
    assertThat(maxAbsDiff(minus(logits(peft.causalLm(), ROWS), base), referenceChange)).as("bf16 matrices")
        .isLessThanOrEqualTo(tolerance);

    // merging rounds W + ΔW to bf16: each adapted weight takes a rounding of W's size, not ΔW's
    peft.merge();
    assertThat(maxAbsDiff(minus(logits(peft.causalLm(), ROWS), base), referenceChange)).as("merged into the bf16 weights")
        .isLessThanOrEqualTo(2 * tolerance);
  }

  private static float[] minus(float[] a, float[] b) {
    float[] out = new float[b.length];
    for (int i = 0; i < b.length; i++) {
      out[i] = a[i] - b[i];
    }
    return out;
  }
}
