package dev.peft4j.peft.prompt;

import static dev.peft4j.peft.PromptTesting.assertClose;
import static dev.peft4j.peft.PromptTesting.batch;
import static dev.peft4j.peft.PromptTesting.logits;
import static dev.peft4j.peft.PromptTesting.rows;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.model.AutoModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.model.SequenceClassifier;
import dev.peft4j.nn.KvCache;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.peft.PromptTensors;
import dev.peft4j.peft.PromptTesting;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TinyCheckpoint;
import dev.peft4j.testing.reference.ReferenceLlama;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Prompt tuning: virtual tokens at the input-embedding site, init, cache, stripping, ensembles, errors. */
class PromptTuningTest {
  private static final long[] IDS = {3, 14, 15, 9, 26, 5, 35};
  private static final double RTOL = 1e-5;

  @TempDir Path dir;

  private PretrainedModel load(TinyCheckpoint c, String sub) throws Exception {
    return AutoModel.load(c.writeTo(dir.resolve(sub)), LoadOptions.defaults());
  }

  private static PromptTuningConfig config(int tokens) {
    return PromptTuningConfig.builder().numVirtualTokens(tokens).build();
  }

  static Stream<TinyCheckpoint> causal() {
    return Stream.of(TinyCheckpoint.llama(), TinyCheckpoint.gpt2());
  }

  /** The reference LLaMA run on [prompt; token embeddings] at positions 0..V+T-1, logits of the tokens only. */
  @Test
  void promptLogitsEqualTheReferenceWithTheVirtualTokensPrepended() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama();
    PeftModel peft = Peft.wrap(load(checkpoint, "m"), config(4));
    float[][] prompt = rows(((PromptAdapter) peft.adapter()).prompt());
    ReferenceLlama reference = new ReferenceLlama(checkpoint.configMap(), checkpoint.weights());
    float[][] expected = reference.logits(toInts(IDS), new ReferenceLlama.PromptExtras(prompt, null, null, null, null));
    float[][] actual = logits(peft.causalLm(), IDS);
    assertThat(actual.length).as("virtual positions are stripped").isEqualTo(IDS.length);
    assertThat(PromptTesting.allFinite(actual)).isTrue();
    assertClose(actual, expected, 1e-4, "prompt-tuned logits");
    assertThat(PromptTesting.maxDiff(actual, reference.logits(toInts(IDS)))).isGreaterThan(1e-4);
  }

  @ParameterizedTest
  @MethodSource("causal")
  void cachedDecodingEqualsFullRecomputationAndTheCacheHoldsTheVirtualTokens(TinyCheckpoint checkpoint)
      throws Exception {
    CausalLm model = Peft.wrap(load(checkpoint, "m"), config(3)).causalLm();
    long[] seq = {3, 14, 15, 9, 26, 5};
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad(); KvCache cache = model.newCache()) {
      float[][] full = rows(model.forward(batch(seq), null, null).select(0, 0));
      Tensor prefill = model.forward(batch(new long[] {3, 14}), null, cache);
      assertThat(prefill.shape()).containsExactly(1, 2, 64);
      assertThat(cache.length()).isEqualTo(3 + 2);
      for (int t = 2; t < seq.length; t++) {
        // the caller's mask covers only its own tokens
        long[] ones = new long[t + 1];
        java.util.Arrays.fill(ones, 1);
        Tensor step = model.forward(batch(new long[] {seq[t]}), batch(ones), cache);
        assertClose(step.select(0, 0).select(0, 0).toFloatArray(), full[t], RTOL, "cached step " + t);
      }
    }
  }

  @Test
  void textAndVocabularyInitCopyWordEmbeddings() throws Exception {
    PretrainedModel model = load(TinyCheckpoint.llama(), "m");
    float[] words = model.namedParameters().get("model.embed_tokens.weight").value().toFloatArray();
    PeftModel text = Peft.wrap(model, PromptTuningConfig.builder().numVirtualTokens(5)
        .initFromText("a b", List.of(7, 9), "tok").build());
    float[][] prompt = rows(((PromptAdapter) text.adapter()).prompt());
    int[] expectedIds = {7, 9, 7, 9, 7}; // repeated, cut to 5
    for (int i = 0; i < 5; i++) {
      assertThat(prompt[i]).containsExactly(java.util.Arrays.copyOfRange(words, expectedIds[i] * 32, expectedIds[i] * 32 + 32));
    }
    assertThat(text.config().toJsonMap()).containsEntry("prompt_tuning_init", "TEXT")
        .containsEntry("prompt_tuning_init_text", "a b").containsEntry("tokenizer_name_or_path", "tok");

    PeftModel vocab = Peft.wrap(load(TinyCheckpoint.llama(), "m2"),
        PromptTuningConfig.builder().numVirtualTokens(3).init(PromptTuningConfig.PromptInit.SAMPLE_VOCAB).build());
    for (float[] row : rows(((PromptAdapter) vocab.adapter()).prompt())) {
      boolean found = false;
      for (int id = 0; id < 64 && !found; id++) {
        found = java.util.Arrays.equals(row, java.util.Arrays.copyOfRange(words, id * 32, id * 32 + 32));
      }
      assertThat(found).as("each row is a word embedding").isTrue();
    }
    assertThatThrownBy(() -> PromptTuningConfig.builder().numVirtualTokens(3).init(PromptTuningConfig.PromptInit.TEXT)
        .build()).hasMessageContaining("needs prompt_tuning_init_text");
  }

  @Test
  void saveLoadRoundTripIsExactAndTheCountIsVTimesHidden() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama();
    PeftModel peft = Peft.wrap(load(checkpoint, "m"), config(6));
    assertThat(peft.trainableParameterCount()).isEqualTo(6 * 32);
    assertThat(peft.allParameterCount()).isEqualTo(peft.baseModel().parameterCount() + 6 * 32);
    peft.save(dir.resolve("a"));
    PeftModel loaded = PeftModel.load(load(checkpoint, "m2"), dir.resolve("a"));
    float[][] expected = logits(peft.causalLm(), IDS);
    float[][] actual = logits(loaded.causalLm(), IDS);
    for (int t = 0; t < IDS.length; t++) {
      assertThat(actual[t]).containsExactly(expected[t]);
    }
    assertThat(loaded.adapter().savedTensors().get(PromptTensors.PROMPT_EMBEDDINGS).shape()).containsExactly(6, 32);
  }

  /** Two prompts on one model, B=2 rows (one left-padded) run as 4: each average equals the two rows run alone, averaged. */
  @Test
  void anEnsembleAveragesItsPromptsInOneBatchedPass() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama();
    PretrainedModel shared = load(checkpoint, "shared");
    Engine.manualSeed(3);
    PeftModel peft = Peft.wrap(shared, config(3));
    Engine.manualSeed(4);
    peft.addAdapter("b", config(3));
    peft.save(dir.resolve("a"), PeftModel.DEFAULT_ADAPTER);
    peft.save(dir.resolve("b"), "b");
    CausalLm aloneA = PeftModel.load(load(checkpoint, "ma"), dir.resolve("a")).causalLm();
    CausalLm aloneB = PeftModel.load(load(checkpoint, "mb"), dir.resolve("b")).causalLm();
    PromptEnsemble ensemble = PromptEnsemble.of(peft, List.of(PeftModel.DEFAULT_ADAPTER, "b"));
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      Tensor probs = ensemble.probabilities(batch(new long[] {4, 5, 6}, new long[] {0, 8, 9}),
          batch(new long[] {1, 1, 1}, new long[] {0, 1, 1}));
      assertThat(probs.shape()).containsExactly(2, 3, 64);
      Tensor expected0 = Functional.softmax(aloneA.forward(batch(new long[] {4, 5, 6}), null, null), -1)
          .add(Functional.softmax(aloneB.forward(batch(new long[] {4, 5, 6}), null, null), -1)).div(2);
      Tensor expected1 = Functional.softmax(aloneA.forward(batch(new long[] {8, 9}), null, null), -1)
          .add(Functional.softmax(aloneB.forward(batch(new long[] {8, 9}), null, null), -1)).div(2);
      assertClose(rows(probs.select(0, 0)), rows(expected0.select(0, 0)), RTOL, "row 0");
      assertClose(rows(probs.select(0, 1).narrow(0, 1, 2)), rows(expected1.select(0, 0)), RTOL, "padded row 1");
    }
    assertThatThrownBy(() -> PromptEnsemble.of(peft, List.of())).hasMessageContaining("at least one prompt");
  }

  @Test
  void aClassifierOnBertSeesTheSameShapesAndPaddedRowsEqualRowsAlone() throws Exception {
    SequenceClassifier classifier = new SequenceClassifier(load(TinyCheckpoint.bert(), "bert"), "bert",
        List.of("neg", "pos"), SequenceClassifier.Pooling.MEAN);
    Peft.wrap(classifier, PromptTuningConfig.builder().numVirtualTokens(4).modulesToSave(List.of("classifier")).build());
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      Tensor alone = classifier.classify(batch(new long[] {2, 30, 31, 3}), null, null);
      Tensor padded = classifier.classify(batch(new long[] {2, 9, 8, 7, 6, 3}, new long[] {2, 30, 31, 3, 0, 0}), null,
          batch(new long[] {1, 1, 1, 1, 1, 1}, new long[] {1, 1, 1, 1, 0, 0}));
      assertThat(padded.shape()).containsExactly(2, 2);
      assertClose(padded.select(0, 1).toFloatArray(), alone.select(0, 0).toFloatArray(), RTOL, "padded row");
    }
  }

  @Test
  void virtualTokensPlusInputLongerThanTheContextIsAClearError() throws Exception {
    CausalLm model = Peft.wrap(load(TinyCheckpoint.gpt2(), "g"), config(8)).causalLm(); // n_positions 64
    assertThatThrownBy(() -> logits(model, new long[60]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("sequence of 60 tokens after 8 virtual positions")
        .hasMessageContaining("longer than the model's context length 64");
    assertThat(logits(model, new long[56])).hasNumberOfRows(56);
  }

  static int[] toInts(long[] ids) {
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = (int) ids[i];
    }
    return out;
  }
}
