package dev.peft4j.peft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.generate.GenerationConfig;
import dev.peft4j.generate.GenerationResult;
import dev.peft4j.generate.Generator;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.peft.llamaadapter.LlamaAdapterConfig;
import dev.peft4j.peft.prefix.PrefixTuningConfig;
import dev.peft4j.peft.prompt.PTuningConfig;
import dev.peft4j.peft.prompt.PromptTuningConfig;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Generation with the prompt family: the Generator's batched, left-padded, KV-cached greedy
 * decoding gives the tokens of step-by-step full recomputation (no cache, one row at a time),
 * and LLaMA-Adapter rows of a mixed batch equal their runs alone.
 */
class PromptFamilyGenerationTest {
  @TempDir Path dir;

  static Stream<PeftConfig> configs() {
    return Stream.of(PromptTuningConfig.builder().numVirtualTokens(3).build(),
        PTuningConfig.builder().numVirtualTokens(2).encoderType(PTuningConfig.EncoderType.LSTM).build(),
        PrefixTuningConfig.builder().numVirtualTokens(4).build(),
        LlamaAdapterConfig.builder().adapterLen(3).adapterLayers(2).gate(LlamaAdapterConfig.Gate.SCALAR).build());
  }

  @ParameterizedTest
  @MethodSource("configs")
  void cachedBatchedGenerationEqualsGreedyFullRecomputation(PeftConfig config) throws Exception {
    PeftModel peft = Peft.wrap(AutoModel.load(TinyCheckpoint.llama().writeTo(dir.resolve("m")), LoadOptions.defaults()),
        config);
    if (config instanceof LlamaAdapterConfig) { // a non-zero gate, so the adapter matters
      try (Engine.GradGuard g = Engine.noGrad()) {
        peft.trainableParameters().forEach((name, p) -> {
          if (name.endsWith("adaption_gate")) {
            p.value().copy_(Tensor.full(DType.F32, 2.0, p.shape()));
          }
        });
      }
    }
    CausalLm model = peft.causalLm();
    List<long[]> prompts = List.of(new long[] {3, 14, 15, 9}, new long[] {26, 5});
    List<GenerationResult> generated = new Generator(model, null).generate(prompts, GenerationConfig.greedy(6));
    for (int r = 0; r < prompts.size(); r++) {
      long[] seq = prompts.get(r);
      long[] expected = new long[6];
      for (int step = 0; step < 6; step++) {
        try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
          Tensor logits = model.forward(Tensor.ofLongs(seq, 1, seq.length), null, null);
          expected[step] = (long) logits.select(0, 0).select(0, seq.length - 1).argmax(0).item();
        }
        seq = Arrays.copyOf(seq, seq.length + 1);
        seq[seq.length - 1] = expected[step];
      }
      assertThat(generated.get(r).ids()).as(config.peftType() + " row " + r).containsExactly(expected);
    }
  }

  @Test
  void llamaAdapterRowsOfAMixedBatchEqualTheirRunsAlone() throws Exception {
    PeftModel peft = Peft.wrap(AutoModel.load(TinyCheckpoint.llama().writeTo(dir.resolve("m")), LoadOptions.defaults()),
        LlamaAdapterConfig.builder().adapterLen(3).adapterLayers(2).build());
    try (Engine.GradGuard g = Engine.noGrad()) {
      peft.trainableParameters().forEach((name, p) -> {
        if (name.endsWith("adaption_gate")) {
          p.value().copy_(Tensor.full(DType.F32, 0.7, p.shape()));
        }
      });
    }
    float[][] adapted = PromptTesting.logits(peft.causalLm(), 4, 5, 6);
    float[][] base;
    try (var off = peft.disableAdapters()) {
      base = PromptTesting.logits(peft.causalLm(), 4, 5, 6);
    }
    try (var mixed = peft.perRowAdapters(List.of(PeftModel.BASE, PeftModel.DEFAULT_ADAPTER));
        Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      Tensor both = peft.causalLm().forward(PromptTesting.batch(new long[] {4, 5, 6}, new long[] {4, 5, 6}), null, null);
      PromptTesting.assertClose(PromptTesting.rows(both.select(0, 0)), base, 1e-5, "base row");
      PromptTesting.assertClose(PromptTesting.rows(both.select(0, 1)), adapted, 1e-5, "adapted row");
    }
  }
}
