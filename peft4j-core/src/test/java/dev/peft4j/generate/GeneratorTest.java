package dev.peft4j.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.model.AutoModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Generation on tiny random checkpoints, without a tokenizer (ids only). */
class GeneratorTest {
  private static final List<Long> NO_STOP = List.of();

  @TempDir Path dir;

  static Stream<TinyCheckpoint> causal() {
    return Stream.of(TinyCheckpoint.llama(), TinyCheckpoint.gpt2());
  }

  /** Loads {@code checkpoint} with its matrices scaled up ({@link TestModels#lively}). */
  private CausalLm load(TinyCheckpoint checkpoint) throws Exception {
    return AutoModel.loadCausalLm(TestModels.lively(checkpoint).writeTo(dir), LoadOptions.defaults());
  }

  private static GenerationConfig greedy(int n) {
    return GenerationConfig.builder().maxNewTokens(n).stopTokenIds(NO_STOP).build();
  }

  @ParameterizedTest
  @MethodSource("causal")
  void greedyWithTheCacheEqualsGreedyByFullRecomputation(TinyCheckpoint checkpoint) throws Exception {
    CausalLm model = load(checkpoint);
    long[] prompt = {3, 14, 15, 9, 26};
    GenerationResult result = new Generator(model, null).generate(prompt, greedy(32));
    assertThat(result.ids()).containsExactly(greedyByRecomputation(model, prompt, 32));
    assertThat(Arrays.stream(result.ids()).distinct().count()).as("distinct tokens").isGreaterThanOrEqualTo(5);
    assertThat(result.finishReason()).isEqualTo(FinishReason.LENGTH);
    assertThat(result.text()).isEmpty();
  }

  @ParameterizedTest
  @MethodSource("causal")
  void eachRowOfAPaddedBatchGetsTheTokensItGetsAlone(TinyCheckpoint checkpoint) throws Exception {
    Generator generator = new Generator(load(checkpoint), null);
    List<long[]> prompts = List.of(new long[] {5, 6, 7}, new long[] {11, 12, 13, 14, 15, 16, 17},
        new long[] {40}, new long[] {8, 9, 10, 11, 12});
    List<GenerationResult> batch = generator.generate(prompts, greedy(20));
    assertThat(batch).hasSize(4);
    assertThat(batch.stream().map(r -> Arrays.toString(r.ids())).distinct()).as("distinct rows").hasSize(4);
    for (int i = 0; i < prompts.size(); i++) {
      assertThat(batch.get(i).ids()).as("row " + i).containsExactly(generator.generate(prompts.get(i), greedy(20)).ids());
    }
  }

  @Test
  void rowsThatStopEarlyDoNotDisturbTheOthers() throws Exception {
    Generator generator = new Generator(load(TinyCheckpoint.llama()), null);
    long[] first = {5, 6, 7};
    long[] second = {20, 21, 22, 23, 24, 25};
    long[] firstAlone = generator.generate(first, greedy(24)).ids();
    int stopAt = firstNewTokenIndex(firstAlone, 3);
    long stop = firstAlone[stopAt];
    GenerationConfig config = GenerationConfig.builder().maxNewTokens(24).stopTokenIds(List.of(stop)).build();

    List<GenerationResult> batch = generator.generate(List.of(first, second), config);
    assertThat(batch.get(0).ids()).containsExactly(Arrays.copyOf(firstAlone, stopAt + 1));
    assertThat(batch.get(0).finishReason()).isEqualTo(FinishReason.STOP_TOKEN);
    assertThat(batch.get(1)).isEqualTo(generator.generate(second, config));
  }

  @Test
  void aStopTokenEndsGenerationAndIsIncludedInTheIds() throws Exception {
    Generator generator = new Generator(load(TinyCheckpoint.llama()), null);
    long[] prompt = {1, 30, 31};
    long[] free = generator.generate(prompt, greedy(32)).ids();
    int stopAt = firstNewTokenIndex(free, 4);
    GenerationResult stopped = generator.generate(prompt,
        GenerationConfig.builder().maxNewTokens(32).stopTokenIds(List.of(free[stopAt], 63L)).build());
    assertThat(stopped.ids()).containsExactly(Arrays.copyOf(free, stopAt + 1));
    assertThat(stopped.finishReason()).isEqualTo(FinishReason.STOP_TOKEN);
  }

  @Test
  void aFixedSeedReproducesSampledOutputAndAnotherSeedDiffers() throws Exception {
    Generator generator = new Generator(load(TinyCheckpoint.llama()), null);
    List<long[]> prompts = List.of(new long[] {3, 4, 5}, new long[] {9, 8});
    GenerationConfig.Builder sampling = GenerationConfig.builder().maxNewTokens(32).temperature(1.5)
        .stopTokenIds(NO_STOP);
    List<GenerationResult> a = generator.generate(prompts, sampling.seed(1234).build());
    Engine.manualSeed(99); // the seed in the config resets the generator
    List<GenerationResult> b = generator.generate(prompts, sampling.seed(1234).build());
    List<GenerationResult> c = generator.generate(prompts, sampling.seed(4321).build());
    assertThat(b).isEqualTo(a);
    assertThat(c.get(0).ids()).isNotEqualTo(a.get(0).ids());
    assertThat(c.get(1).ids()).isNotEqualTo(a.get(1).ids());
    // sampling at this temperature is not greedy
    assertThat(a.get(0).ids()).isNotEqualTo(generator.generate(prompts.get(0), greedy(32)).ids());
  }

  @Test
  void samplingWithTopKOneIsGreedy() throws Exception {
    Generator generator = new Generator(load(TinyCheckpoint.gpt2()), null);
    long[] prompt = {7, 1, 22, 3};
    GenerationConfig topOne = GenerationConfig.builder().maxNewTokens(24).temperature(2.0).topK(1).seed(5)
        .stopTokenIds(NO_STOP).build();
    assertThat(generator.generate(prompt, topOne).ids()).containsExactly(generator.generate(prompt, greedy(24)).ids());
  }

  @Test
  void repetitionPenaltyChangesGreedyOutputAsByHand() throws Exception {
    CausalLm model = load(TinyCheckpoint.llama());
    long[] prompt = {3, 3, 4};
    double penalty = 3.0;
    GenerationConfig config = GenerationConfig.builder().maxNewTokens(16).repetitionPenalty(penalty)
        .stopTokenIds(NO_STOP).build();
    long[] expected = greedyByRecomputation(model, prompt, 16, penalty);
    assertThat(new Generator(model, null).generate(prompt, config).ids()).containsExactly(expected);
    assertThat(expected).doesNotHaveDuplicates();
  }

  @Test
  void tooLongPromptIsAnErrorUnlessTruncated() throws Exception {
    Generator generator = new Generator(load(TinyCheckpoint.llama()), null); // context 128
    long[] prompt = new long[100];
    for (int i = 0; i < prompt.length; i++) {
      prompt[i] = (i * 7) % 64;
    }
    assertThatThrownBy(() -> generator.generate(prompt, greedy(40)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("prompt 0 has 100 tokens; with maxNewTokens 40 that is 140, more than the model's context"
            + " length of 128 tokens (shorten the prompt, lower maxNewTokens, or set truncatePrompt)");
    GenerationConfig truncating = greedy(40).toBuilder().truncatePrompt(true).build();
    GenerationResult result = generator.generate(prompt, truncating);
    assertThat(result.ids()).hasSize(40)
        .containsExactly(generator.generate(Arrays.copyOfRange(prompt, 12, 100), greedy(40)).ids());
    assertThatThrownBy(() -> generator.generate(prompt, greedy(128).toBuilder().truncatePrompt(true).build()))
        .hasMessageContaining("maxNewTokens 128 leaves no room for a prompt");
  }

  @Test
  void badPromptsAreRejected() throws Exception {
    Generator generator = new Generator(load(TinyCheckpoint.llama()), null);
    assertThatThrownBy(() -> generator.generate(List.of(), greedy(2))).hasMessageContaining("no prompts");
    assertThatThrownBy(() -> generator.generate(new long[0], greedy(2))).hasMessageContaining("prompt 0 is empty");
    assertThatThrownBy(() -> generator.generate(List.of(new long[] {1}, new long[] {1, 64}), greedy(2)))
        .hasMessage("prompt 1: token id 64 is outside the model's vocabulary [0, 64)");
    assertThatThrownBy(() -> generator.generate(new long[] {1},
        GenerationConfig.builder().maxNewTokens(2).stopStrings(List.of("x")).build()))
        .hasMessageContaining("stop strings need a tokenizer");
  }

  @Test
  void residentMemoryIsFlatAcrossGenerateCalls() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama()
        .config("hidden_size", 128).config("intermediate_size", 256).config("num_attention_heads", 8)
        .config("num_key_value_heads", 4).config("vocab_size", 512).config("max_position_embeddings", 256);
    Generator generator = new Generator(AutoModel.loadCausalLm(checkpoint.writeTo(dir), LoadOptions.defaults()), null);
    long[] a = new long[64];
    long[] b = new long[40];
    for (int i = 0; i < a.length; i++) {
      a[i] = (i * 31L) % 512;
    }
    GenerationConfig config = GenerationConfig.builder().maxNewTokens(32).temperature(0.8).topK(50).topP(0.9)
        .repetitionPenalty(1.2).seed(1).stopTokenIds(NO_STOP).build();
    Runnable call = () -> generator.generate(List.of(a, b), config);
    for (int i = 0; i < 10; i++) {
      call.run(); // warm up allocator pools
    }
    long before = org.bytedeco.javacpp.Pointer.physicalBytes();
    for (int i = 0; i < 15; i++) {
      call.run();
    }
    long growth = org.bytedeco.javacpp.Pointer.physicalBytes() - before;
    System.out.println("GeneratorTest: RSS growth over 15 generate calls: " + (growth >> 10) + " KiB");
    assertThat(growth).as("RSS growth over 15 calls of 32 steps, bytes (~170 MB if steps leaked)").isLessThan(32L << 20);
  }

  /** Greedy decoding that re-runs the whole sequence without a cache at every step. */
  private static long[] greedyByRecomputation(CausalLm model, long[] prompt, int n) {
    return greedyByRecomputation(model, prompt, n, 1.0);
  }

  private static long[] greedyByRecomputation(CausalLm model, long[] prompt, int n, double penalty) {
    List<Long> seq = new ArrayList<>();
    for (long id : prompt) {
      seq.add(id);
    }
    long[] out = new long[n];
    for (int i = 0; i < n; i++) {
      float[] logits;
      try (Scope s = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
        Tensor ids = Tensor.ofLongs(seq.stream().mapToLong(Long::longValue).toArray(), 1, seq.size());
        logits = model.forward(ids, null, null).select(1, seq.size() - 1).toFloatArray();
      }
      int best = 0;
      for (int v = 0; v < logits.length; v++) {
        if (seq.contains((long) v)) {
          logits[v] = logits[v] < 0 ? (float) (logits[v] * penalty) : (float) (logits[v] / penalty);
        }
        if (logits[v] > logits[best]) {
          best = v;
        }
      }
      out[i] = best;
      seq.add((long) best);
    }
    return out;
  }

  /** The first index at or after {@code from} whose token did not occur before it. */
  private static int firstNewTokenIndex(long[] ids, int from) {
    for (int i = from; i < ids.length; i++) {
      final int at = i;
      if (Arrays.stream(ids, 0, at).noneMatch(x -> x == ids[at])) {
        return i;
      }
    }
    throw new AssertionError("no new token after " + from + " in " + Arrays.toString(ids));
  }
}
