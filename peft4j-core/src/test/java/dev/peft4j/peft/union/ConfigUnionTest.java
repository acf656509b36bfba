package dev.peft4j.peft.union;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.model.AutoModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.peft.bottleneck.BottleneckConfig;
import dev.peft4j.peft.bottleneck.BottleneckSpec;
import dev.peft4j.peft.lora.LoraConfig;
import dev.peft4j.peft.prefix.PrefixTuningConfig;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** MAM (prefix on attention + scaled parallel adapter on the FFN) and other unions of methods. */
class ConfigUnionTest {
  private static final long[] IDS = {3, 14, 15, 9, 26, 5};

  @TempDir Path dir;

  private PretrainedModel load(String sub) throws Exception {
    return AutoModel.load(TinyCheckpoint.llama().writeTo(dir.resolve(sub)), LoadOptions.defaults());
  }

  private static float[] logits(CausalLm model) {
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      return model.forward(Tensor.ofLongs(IDS, 1, IDS.length), null, null).toFloatArray();
    }
  }

  @Test
  void mamTrainsExactlyTheParametersOfItsTwoPartsAndNoOthers() throws Exception {
    PeftModel mam = Peft.wrap(load("m"), ConfigUnion.mam(3, 8, 4.0));
    long prefixAlone = Peft.wrap(load("p"), PrefixTuningConfig.builder().numVirtualTokens(3).build()).trainableParameterCount();
    long adapterAlone = Peft.wrap(load("a"), BottleneckConfig.of(BottleneckSpec.scaledParallel(4.0).bottleneckSize(8).build()))
        .trainableParameterCount();
    assertThat(mam.trainableParameterCount()).isEqualTo(prefixAlone + adapterAlone);
    // prefix: tokens x layers x 2 x kv_dim (2 kv heads x head_dim 8); adapter: 2md + d + m per FFN, d = 32, m = 8
    assertThat(prefixAlone).isEqualTo(3L * 2 * 2 * 16);
    assertThat(adapterAlone).isEqualTo(2L * (2 * 8 * 32 + 32 + 8));

    try (Scope scope = Scope.open()) {
      mam.causalLm().forward(Tensor.ofLongs(IDS, 1, IDS.length), null, null).pow(2).mean().backward();
      for (var e : mam.trainableParameters().entrySet()) {
        assertThat(e.getValue().value().grad()).as(e.getKey()).isNotNull();
      }
      mam.baseModel().namedParameters().forEach((name, p) -> {
        if (!mam.trainableParameters().containsValue(p)) {
          assertThat(p.value().grad()).as("frozen " + name).isNull();
        }
      });
    }
  }

  @Test
  void mamSavesAndLoadsExactlyInItsOwnFormat() throws Exception {
    Engine.manualSeed(4);
    PeftModel mam = Peft.wrap(load("m"), ConfigUnion.mam(2, 4, 4.0));
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      for (Parameter p : mam.trainableParameters().values()) {
        p.value().copy_(Tensor.randn(DType.F32, p.shape()).mul(0.2));
      }
    }
    float[] adapted = logits(mam.causalLm());
    mam.save(dir.resolve("mam"));
    String json = Files.readString(dir.resolve("mam/adapter_config.json"));
    assertThat(json).contains("\"peft_type\": \"MAM\"").contains("\"PREFIX_TUNING\"").contains("\"BOTTLENECK\"");
    PeftModel loaded = PeftModel.load(load("n"), dir.resolve("mam"));
    assertThat(logits(loaded.causalLm())).containsExactly(adapted);
    assertThat(loaded.config()).isInstanceOf(ConfigUnion.class);
    try (PeftModel.AdaptersDisabled off = loaded.disableAdapters()) {
      assertThat(logits(loaded.causalLm())).containsExactly(logits((CausalLm) load("base")));
    }
  }

  @Test
  void unionOfLoraAndAnAdapterIsOneRowInAMixedBatch() throws Exception {
    Engine.manualSeed(5);
    PeftModel peft = Peft.wrap(load("m"), ConfigUnion.of(
        LoraConfig.builder().r(2).init(LoraConfig.LoraInit.RANDOM).build(),
        BottleneckConfig.of(BottleneckSpec.parallel().bottleneckSize(4).init(BottleneckSpec.Init.BERT).build())));
    float[] alone = logits(peft.causalLm());
    long[] two = new long[IDS.length * 2];
    System.arraycopy(IDS, 0, two, 0, IDS.length);
    System.arraycopy(IDS, 0, two, IDS.length, IDS.length);
    float[] mixed;
    try (PeftModel.MixedBatch m = peft.perRowAdapters(List.of(PeftModel.BASE, PeftModel.DEFAULT_ADAPTER));
         Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      mixed = peft.causalLm().forward(Tensor.ofLongs(two, 2, IDS.length), null, null).toFloatArray();
    }
    float[] row1 = java.util.Arrays.copyOfRange(mixed, mixed.length / 2, mixed.length);
    for (int i = 0; i < alone.length; i++) {
      assertThat((double) row1[i]).isCloseTo(alone[i], org.assertj.core.data.Offset.offset(1e-5));
    }
  }

  @Test
  void badUnionsAreRejected() throws Exception {
    assertThatThrownBy(() -> ConfigUnion.of(LoraConfig.builder().build()))
        .hasMessageContaining("at least two methods");
    PretrainedModel model = load("m");
    long before = model.parameterCount();
    assertThatThrownBy(() -> Peft.wrap(model, ConfigUnion.of(LoraConfig.builder().build(),
        LoraConfig.builder().targetModules("nothing_here").build())))
        .hasMessageContaining("matched no module");
    assertThat(model.parameterCount()).as("a failed union leaves the model unchanged").isEqualTo(before);
  }
}
