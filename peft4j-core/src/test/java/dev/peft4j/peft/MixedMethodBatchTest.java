package dev.peft4j.peft;

import static dev.peft4j.peft.PeftTesting.logits;
import static dev.peft4j.peft.PeftTesting.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.model.AutoModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.bottleneck.BottleneckConfig;
import dev.peft4j.peft.llamaadapter.LlamaAdapterConfig;
import dev.peft4j.peft.lora.LoraConfig;
import dev.peft4j.peft.prefix.PrefixTuningConfig;
import dev.peft4j.peft.prompt.PTuningConfig;
import dev.peft4j.peft.prompt.PromptTuningConfig;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One batch whose rows use different methods — LoRA, Houlsby adapter, prefix tuning, prompt
 * tuning, P-tuning, LLaMA-Adapter and none — gives each row what it gets alone with its adapter
 * (f32, 1e-5). Every adapter's parameters are randomised first, so none is the identity.
 */
class MixedMethodBatchTest {
  private static final List<String> PLAN =
      List.of("default", "houlsby", "prefix", "prompt", "ptuning", "llama", PeftModel.BASE);

  @TempDir Path dir;

  @Test
  void everyRowMatchesItsAdapterAlone() throws Exception {
    CausalLm model = AutoModel.loadCausalLm(TinyCheckpoint.llama().writeTo(dir), LoadOptions.defaults());
    Engine.manualSeed(11);
    PeftModel peft = Peft.wrap((dev.peft4j.model.PretrainedModel) model,
        LoraConfig.builder().r(4).init(LoraConfig.LoraInit.RANDOM).build());
    peft.addAdapter("houlsby", BottleneckConfig.houlsby(4));
    peft.addAdapter("prefix", PrefixTuningConfig.builder().numVirtualTokens(3).build());
    peft.addAdapter("prompt", PromptTuningConfig.builder().numVirtualTokens(2).build());
    peft.addAdapter("ptuning", PTuningConfig.builder().numVirtualTokens(2).build());
    peft.addAdapter("llama", LlamaAdapterConfig.builder().adapterLen(3).adapterLayers(1).build());
    for (String name : peft.adapterNames()) {
      randomise(peft, name);
    }

    long[][] rows = new long[PLAN.size()][];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = new long[] {3 + i, 14, 15 + i, 9, 26 - i};
    }
    float[][] mixed = new float[rows.length][];
    try (PeftModel.MixedBatch m = peft.perRowAdapters(PLAN)) {
      float[] all = logits(model, rows);
      int n = all.length / rows.length;
      for (int i = 0; i < rows.length; i++) {
        mixed[i] = java.util.Arrays.copyOfRange(all, i * n, (i + 1) * n);
      }
    }
    float[] base;
    try (PeftModel.AdaptersDisabled off = peft.disableAdapters()) {
      base = logits(model, rows[0]);
    }
    for (int i = 0; i < rows.length; i++) {
      String name = PLAN.get(i);
      float[] alone;
      if (name.equals(PeftModel.BASE)) {
        try (PeftModel.AdaptersDisabled off = peft.disableAdapters()) {
          alone = logits(model, rows[i]);
        }
      } else {
        peft.setActive(name);
        alone = logits(model, rows[i]);
        if (i == 0) {
          assertThat(maxAbsDiff(alone, base)).as(name + " changes the output").isGreaterThan(1e-3);
        }
      }
      assertThat(maxAbsDiff(mixed[i], alone)).as("row " + i + " (" + name + ")").isLessThanOrEqualTo(1e-5);
    }
    for (String name : List.of("houlsby", "prefix", "prompt", "ptuning", "llama")) {
      peft.setActive(name);
      assertThat(maxAbsDiff(logits(model, rows[0]), base)).as(name + " changes the output").isGreaterThan(1e-3);
    }
  }

  private static void randomise(PeftModel peft, String name) {
    peft.setActive(name);
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      for (Parameter p : peft.trainableParameters().values()) {
        p.value().copy_(Tensor.randn(DType.F32, p.shape()).mul(0.3).to(p.value().dtype()));
      }
    }
  }

}
