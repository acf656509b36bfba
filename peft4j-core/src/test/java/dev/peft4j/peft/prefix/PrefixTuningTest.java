package dev.peft4j.peft.prefix;

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
import dev.peft4j.model.bert.BertModel;
import dev.peft4j.nn.KvCache;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.peft.PromptTesting;
import dev.peft4j.peft.PromptTensors;
import dev.peft4j.tensor.Engine;
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

/** Prefix tuning: exact attention math, PEFT's layout, KV cache, mixed batches, folding, errors. */
class PrefixTuningTest {
  private static final long[] IDS = {3, 14, 15, 9, 26, 5, 35};
  private static final double RTOL = 1e-5;

  @TempDir Path dir;

  private PretrainedModel load(TinyCheckpoint c, String sub) throws Exception {
    return AutoModel.load(c.writeTo(dir.resolve(sub)), LoadOptions.defaults());
  }

  private static PrefixTuningConfig config(int tokens) {
    return PrefixTuningConfig.builder().numVirtualTokens(tokens).prefixProjection(true).encoderHiddenSize(24).build();
  }

  static Stream<TinyCheckpoint> causal() {
    return Stream.of(TinyCheckpoint.llama(), TinyCheckpoint.gpt2());
  }

  /**
   * Independent check: the saved prompt_embeddings [P, L·2·kvDim] cut per layer as PEFT's
   * get_prompt does (view(P, L·2, Hkv, D): layer l's keys at 2l, values at 2l+1), fed to the
   * pure-Java reference LLaMA that joins them into each softmax (in double) and shifts positions by P.
   * GQA: 4 query heads share 2 key/value heads.
   */
  @Test
  void prefixLogitsEqualTheReferenceWithPeftsPerLayerKeysAndValues() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama();
    PeftModel peft = Peft.wrap(load(checkpoint, "m"), config(3));
    float[] table = peft.adapter().savedTensors().get(PromptTensors.PROMPT_EMBEDDINGS).value().toFloatArray();
    int p = 3;
    int layers = 2;
    int kvDim = 16; // 2 kv heads × head_dim 8
    assertThat(peft.adapter().savedTensors().get(PromptTensors.PROMPT_EMBEDDINGS).shape())
        .containsExactly(p, layers * 2 * kvDim);
    float[][][] keys = new float[layers][p][kvDim];
    float[][][] values = new float[layers][p][kvDim];
    for (int l = 0; l < layers; l++) {
      for (int i = 0; i < p; i++) {
        for (int c = 0; c < kvDim; c++) {
          keys[l][i][c] = table[i * layers * 2 * kvDim + (2 * l) * kvDim + c];
          values[l][i][c] = table[i * layers * 2 * kvDim + (2 * l + 1) * kvDim + c];
        }
      }
    }
    ReferenceLlama reference = new ReferenceLlama(checkpoint.configMap(), checkpoint.weights());
    float[][] expected = reference.logits(toInts(IDS), new ReferenceLlama.PromptExtras(null, keys, values, null, null));
    assertClose(logits(peft.causalLm(), IDS), expected, 1e-4, "prefix-tuned logits");
    assertThat(PromptTesting.maxDiff(expected, reference.logits(toInts(IDS))))
        .as("the N(0,1) prefix changes the output").isGreaterThan(1e-3);
  }

  @ParameterizedTest
  @MethodSource("causal")
  void cachedDecodingEqualsFullRecomputation(TinyCheckpoint checkpoint) throws Exception {
    CausalLm model = Peft.wrap(load(checkpoint, "m"), config(4)).causalLm();
    long[] seq = {3, 14, 15, 9, 26, 5, 35, 8};
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad(); KvCache cache = model.newCache()) {
      float[][] full = rows(model.forward(batch(seq), null, null).select(0, 0));
      Tensor prefill = model.forward(batch(new long[] {3, 14, 15}), null, cache);
      assertThat(cache.length()).as("the cache holds the prefix and the prompt").isEqualTo(4 + 3);
      assertThat(cache.virtualLength()).isEqualTo(4);
      for (int t = 0; t < 3; t++) {
        assertClose(prefill.select(0, 0).select(0, t).toFloatArray(), full[t], RTOL, "prefill " + t);
      }
      for (int t = 3; t < seq.length; t++) {
        Tensor step = model.forward(batch(new long[] {seq[t]}), null, cache);
        assertClose(step.select(0, 0).select(0, 0).toFloatArray(), full[t], RTOL, "cached step " + t);
      }
    }
  }

  /**
   * Rows of one batch carry prefix A, prefix B, or none (and one is left-padded); each equals the
   * row run alone: A and B against separate models with only that adapter loaded, "none" against
   * the base model.
   */
  @Test
  void aBatchMixingTwoPrefixesAndNoneEqualsEachRowAlone() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama();
    PretrainedModel shared = load(checkpoint, "shared");
    float[][] base = logits((CausalLm) shared, 5, 6, 7, 8);
    Engine.manualSeed(1);
    PeftModel peft = Peft.wrap(shared, config(3));
    Engine.manualSeed(2);
    peft.addAdapter("b", PrefixTuningConfig.builder().numVirtualTokens(2).prefixProjection(false).build());
    peft.save(dir.resolve("a"), PeftModel.DEFAULT_ADAPTER);
    peft.save(dir.resolve("b"), "b");
    CausalLm aloneA = PeftModel.load(load(checkpoint, "ma"), dir.resolve("a")).causalLm();
    CausalLm aloneB = PeftModel.load(load(checkpoint, "mb"), dir.resolve("b")).causalLm();

    long[][] ids = {{5, 6, 7, 8}, {0, 11, 12, 13}, {5, 6, 7, 8}};
    long[][] mask = {{1, 1, 1, 1}, {0, 1, 1, 1}, {1, 1, 1, 1}};
    try (var mixed = peft.perRowAdapters(List.of(PeftModel.DEFAULT_ADAPTER, "b", PeftModel.BASE));
        Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      Tensor out = peft.causalLm().forward(batch(ids), batch(mask), null);
      assertClose(rows(out.select(0, 0)), logits(aloneA, 5, 6, 7, 8), RTOL, "row with prefix A");
      assertClose(rows(out.select(0, 1).narrow(0, 1, 3)), logits(aloneB, 11, 12, 13), RTOL,
          "left-padded row with prefix B");
      assertClose(rows(out.select(0, 2)), base, RTOL, "row without prefix");
    }
  }

  @Test
  void mixedRowsDecodeWithTheCacheLikeFullRecomputation() throws Exception {
    PeftModel peft = Peft.wrap(load(TinyCheckpoint.llama(), "m"), config(3));
    CausalLm model = peft.causalLm();
    try (var mixed = peft.perRowAdapters(List.of(PeftModel.BASE, PeftModel.DEFAULT_ADAPTER));
        Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad(); KvCache cache = model.newCache()) {
      Tensor full = model.forward(batch(new long[] {4, 5, 6, 7}, new long[] {0, 9, 10, 11}),
          batch(new long[] {1, 1, 1, 1}, new long[] {0, 1, 1, 1}), null);
      model.forward(batch(new long[] {4, 5, 6}, new long[] {0, 9, 10}), batch(new long[] {1, 1, 1}, new long[] {0, 1, 1}),
          cache);
      Tensor step = model.forward(batch(new long[] {7}, new long[] {11}),
          batch(new long[] {1, 1, 1, 1}, new long[] {0, 1, 1, 1}), cache);
      for (int r = 0; r < 2; r++) {
        assertClose(step.select(0, r).select(0, 0).toFloatArray(), full.select(0, r).select(0, 3).toFloatArray(),
            RTOL, "row " + r);
      }
    }
  }

  @Test
  void bertPaddedBatchWithPrefixEqualsRowsAlone() throws Exception {
    BertModel bert = (BertModel) load(TinyCheckpoint.bert(), "bert");
    Peft.wrap(bert, config(2));
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      Tensor alone = bert.encode(batch(new long[] {2, 30, 31, 3}), null, null).lastHiddenState();
      Tensor padded = bert.encode(batch(new long[] {2, 9, 8, 7, 6, 3}, new long[] {2, 30, 31, 3, 0, 0}), null,
          batch(new long[] {1, 1, 1, 1, 1, 1}, new long[] {1, 1, 1, 1, 0, 0})).lastHiddenState();
      assertThat(padded.shape()).containsExactly(2, 6, 32);
      assertClose(rows(padded.select(0, 1).narrow(0, 0, 4)), rows(alone.select(0, 0)), RTOL, "padded row");
    }
  }

  /**
   * Folding: the MLP output becomes the plain prefix, the outputs do not change, and the trainable
   * count becomes P × layers × 2 × kvDim; saving and loading reproduces the outputs exactly.
   */
  @Test
  void foldingSavingAndLoadingKeepTheOutputsAndTheCountsMatchClosedForms() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama();
    PeftModel peft = Peft.wrap(load(checkpoint, "m"), config(5));
    int p = 5;
    int kv = 16;
    int hidden = 24;
    int width = 2 * 2 * kv; // layers · 2 · kvDim
    assertThat(peft.trainableParameterCount()).as("embedding + MLP")
        .isEqualTo((long) p * kv + (kv * hidden + hidden) + ((long) hidden * width + width));
    float[][] before = logits(peft.causalLm(), IDS);
    peft.save(dir.resolve("adapter"));
    ((PrefixAdapter) peft.adapter()).fold();
    assertThat(peft.trainableParameterCount()).isEqualTo((long) p * width);
    assertClose(logits(peft.causalLm(), IDS), before, 1e-6, "folded");

    PeftModel loaded = PeftModel.load(load(checkpoint, "m2"), dir.resolve("adapter"));
    assertThat(loaded.trainableParameterCount()).isEqualTo((long) p * width);
    assertThat(((PrefixAdapter) loaded.adapter()).reparameterised()).isFalse();
    float[][] after = logits(loaded.causalLm(), IDS);
    for (int t = 0; t < IDS.length; t++) {
      assertThat(after[t]).as("position " + t).containsExactly(logits(peft.causalLm(), IDS)[t]);
    }
    try (var off = loaded.disableAdapters()) {
      assertThat(logits(loaded.causalLm(), IDS)[0]).containsExactly(logits(AutoModel.loadCausalLm(
          checkpoint.writeTo(dir.resolve("m3")), LoadOptions.defaults()), IDS)[0]);
    }
  }

  /**
   * The context limit counts what one row attends to: a row of 64 tokens without the prefix and a
   * row with the prefix and fewer tokens share a batch of 10 + 64 key positions (context 64).
   */
  @Test
  void aMixedBatchFitsWhenEveryRowFitsTheContext() throws Exception {
    PeftModel peft = Peft.wrap(load(TinyCheckpoint.gpt2(), "ctx"), config(10)); // n_positions 64
    long[] full = new long[64];
    long[] padded = new long[64];
    long[] fullMask = new long[64];
    long[] paddedMask = new long[64];
    for (int t = 0; t < 64; t++) {
      full[t] = 5 + t % 20;
      fullMask[t] = 1;
      padded[t] = t < 10 ? 0 : 5 + t % 20;
      paddedMask[t] = t < 10 ? 0 : 1;
    }
    try (var mixed = peft.perRowAdapters(List.of(PeftModel.BASE, PeftModel.DEFAULT_ADAPTER));
        Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      Tensor out = peft.causalLm().forward(batch(full, padded), batch(fullMask, paddedMask), null);
      assertThat(out.shape()).containsExactly(2, 64, 64);
      assertThatThrownBy(() -> peft.causalLm().forward(batch(full, full), batch(fullMask, fullMask), null))
          .hasMessageContaining("74 positions, longer than the model's context length 64");
    }
  }

  @Test
  void badInputsAreClearErrors() throws Exception {
    CausalLm model = Peft.wrap(load(TinyCheckpoint.gpt2(), "g"), config(10)).causalLm(); // n_positions 64
    long[] ids = new long[60];
    assertThatThrownBy(() -> logits(model, ids))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("after 10 virtual positions")
        .hasMessageContaining("longer than the model's context length 64");
    assertThatThrownBy(() -> PrefixTuningConfig.builder().build()).hasMessageContaining("num_virtual_tokens must be set");
    PeftModel peft = Peft.wrap(load(TinyCheckpoint.llama(), "l"), config(2));
    try (var mixed = peft.perRowAdapters(List.of(PeftModel.BASE, PeftModel.DEFAULT_ADAPTER))) {
      assertThatThrownBy(() -> logits(peft.causalLm(), IDS)).hasMessageContaining("names row 1")
          .hasMessageContaining("the batch has 1 rows");
    }
  }

  private static int[] toInts(long[] ids) {
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = (int) ids[i];
    }
    return out;
  }
}
