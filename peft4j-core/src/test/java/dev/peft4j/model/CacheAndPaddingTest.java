package dev.peft4j.model;

import static dev.peft4j.model.ModelTesting.assertClose;
import static dev.peft4j.model.ModelTesting.at;
import static dev.peft4j.model.ModelTesting.batch;
import static dev.peft4j.model.ModelTesting.ids;

import dev.peft4j.model.bert.BertModel;
import dev.peft4j.nn.KvCache;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.prompt.PromptTuningConfig;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** KV-cache decoding equals full recomputation; a padded batch equals its rows run alone. */
class CacheAndPaddingTest {
  private static final double RTOL = 1e-5;

  @TempDir Path dir;

  /**
   * The causal models: tiny random LLaMA and GPT-2, and the Gemma 3 that transformers saved for the
   * PEFT fixtures (its sliding layers attend within 4 positions, fewer than these sequences).
   */
  static Stream<String> causal() {
    return Stream.of("llama", "gpt2", "gemma3");
  }

  private CausalLm load(String family) throws Exception {
    Path modelDir = switch (family) {
      case "llama" -> TinyCheckpoint.llama().writeTo(dir);
      case "gpt2" -> TinyCheckpoint.gpt2().writeTo(dir);
      default -> Path.of(CacheAndPaddingTest.class.getResource("/interop/" + family).toURI());
    };
    return AutoModel.loadCausalLm(modelDir, LoadOptions.defaults());
  }

  @ParameterizedTest
  @MethodSource("causal")
  void incrementalDecodingWithCacheEqualsFullSequence(String family) throws Exception {
    CausalLm model = load(family);
    int[] seq = {3, 14, 15, 9, 26, 5, 35, 8, 9, 7};
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      Tensor full = model.forward(ids(seq), null, null);
      KvCache cache = model.newCache();
      // a 4-token prompt, then one token at a time
      Tensor prefill = model.forward(ids(3, 14, 15, 9), null, cache);
      for (int t = 0; t < 4; t++) {
        assertClose(at(prefill, 0, t), at(full, 0, t), RTOL, "prefill position " + t);
      }
      for (int t = 4; t < seq.length; t++) {
        Tensor step = model.forward(ids(seq[t]), null, cache);
        assertClose(at(step, 0, 0), at(full, 0, t), RTOL, "cached step at position " + t);
      }
    }
  }

  /**
   * lastLogits projects only each row's last position: the full forward's last logits, in a
   * left-padded prefill into a cache, a cached step, and behind prompt-tuning's virtual tokens.
   */
  @ParameterizedTest
  @MethodSource("causal")
  void lastLogitsAreTheFullForwardsLastPosition(String family) throws Exception {
    CausalLm model = load(family);
    long[][] rows = {{3, 14, 15, 9, 26}, {0, 0, 8, 9, 7}};
    Tensor mask = Tensor.ofLongs(new long[] {1, 1, 1, 1, 1, 0, 0, 1, 1, 1}, 2, 5);
    Tensor stepMask = Tensor.ofLongs(new long[] {1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1}, 2, 6);
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      KvCache full = model.newCache();
      KvCache last = model.newCache();
      assertLastRows(model.lastLogits(batch(rows), mask, last), model.forward(batch(rows), mask, full), "prefill");
      Tensor next = batch(new long[][] {{4}, {21}});
      assertLastRows(model.lastLogits(next, stepMask, last), model.forward(next, stepMask, full), "cached step");

      Peft.wrap((PretrainedModel) model, PromptTuningConfig.builder().numVirtualTokens(3).build());
      assertLastRows(model.lastLogits(batch(rows), mask, null), model.forward(batch(rows), mask, null), "prompt tuning");
    }
  }

  private static void assertLastRows(Tensor lastLogits, Tensor logits, String what) {
    long t = logits.size(1) - 1;
    for (int r = 0; r < logits.size(0); r++) {
      assertClose(lastLogits.select(0, r).toFloatArray(), at(logits, r, (int) t), RTOL, what + ", row " + r);
    }
  }

  /** Without a mask a square causal pass uses libtorch's is_causal; an all-ones mask takes the explicit-mask path. */
  @ParameterizedTest
  @MethodSource("causal")
  void unmaskedCausalPassEqualsTheExplicitlyMaskedOne(String family) throws Exception {
    CausalLm model = load(family);
    long[][] rows = {{3, 14, 15, 9, 26, 5, 35}, {8, 9, 7, 9, 3, 2, 38}};
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      Tensor unmasked = model.forward(batch(rows), null, null);
      Tensor masked = model.forward(batch(rows), Tensor.ones(dev.peft4j.tensor.DType.I64, 2, 7), null);
      for (int r = 0; r < 2; r++) {
        for (int t = 0; t < 7; t++) {
          assertClose(at(unmasked, r, t), at(masked, r, t), RTOL, "row " + r + " position " + t);
        }
      }
    }
  }

  @ParameterizedTest
  @MethodSource("causal")
  void leftAndRightPaddedBatchEqualsRowsAlone(String family) throws Exception {
    CausalLm model = load(family);
    long[] longRow = {5, 6, 7, 8, 9, 10};
    long[] shortRow = {11, 12, 13};
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      Tensor aloneLong = model.forward(batch(new long[][] {longRow}), null, null);
      Tensor aloneShort = model.forward(batch(new long[][] {shortRow}), null, null);

      // left padding (generation layout): pad id 0 in front of the short row
      Tensor left = model.forward(
          batch(new long[][] {longRow, {0, 0, 0, 11, 12, 13}}),
          batch(new long[][] {{1, 1, 1, 1, 1, 1}, {0, 0, 0, 1, 1, 1}}), null);
      // right padding (training layout)
      Tensor right = model.forward(
          batch(new long[][] {longRow, {11, 12, 13, 0, 0, 0}}),
          batch(new long[][] {{1, 1, 1, 1, 1, 1}, {1, 1, 1, 0, 0, 0}}), null);
      for (int t = 0; t < 6; t++) {
        assertClose(at(left, 0, t), at(aloneLong, 0, t), RTOL, "left-padded long row, position " + t);
        assertClose(at(right, 0, t), at(aloneLong, 0, t), RTOL, "right-padded long row, position " + t);
      }
      for (int t = 0; t < 3; t++) {
        assertClose(at(left, 1, 3 + t), at(aloneShort, 0, t), RTOL, "left-padded short row, position " + t);
        assertClose(at(right, 1, t), at(aloneShort, 0, t), RTOL, "right-padded short row, position " + t);
      }
    }
  }

  @ParameterizedTest
  @MethodSource("causal")
  void leftPaddedBatchDecodesWithCacheLikeRowsAlone(String family) throws Exception {
    CausalLm model = load(family);
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      Tensor alone = model.forward(ids(11, 12, 13, 40), null, null);
      KvCache cache = model.newCache();
      model.forward(batch(new long[][] {{5, 6, 7, 8, 9}, {0, 0, 11, 12, 13}}),
          batch(new long[][] {{1, 1, 1, 1, 1}, {0, 0, 1, 1, 1}}), cache);
      Tensor step = model.forward(batch(new long[][] {{2}, {40}}),
          batch(new long[][] {{1, 1, 1, 1, 1, 1}, {0, 0, 1, 1, 1, 1}}), cache);
      assertClose(at(step, 1, 0), at(alone, 0, 3), RTOL, "cached step of the left-padded row");
    }
  }

  @Test
  void bertPaddedBatchEqualsRowsAlone() throws Exception {
    BertModel model = (BertModel) AutoModel.load(TinyCheckpoint.bert().writeTo(dir));
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      Tensor alone = model.encode(ids(2, 30, 31, 3), null, null).lastHiddenState();
      Encoder.EncoderOutput padded = model.encode(
          batch(new long[][] {{2, 9, 8, 7, 6, 3}, {2, 30, 31, 3, 0, 0}}), null,
          batch(new long[][] {{1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 0, 0}}));
      for (int t = 0; t < 4; t++) {
        assertClose(at(padded.lastHiddenState(), 1, t), at(alone, 0, t), RTOL, "bert padded row, position " + t);
      }
    }
  }
}
