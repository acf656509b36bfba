package dev.peft4j.peft.lora;

import static dev.peft4j.peft.PeftTesting.logits;
import static dev.peft4j.peft.PeftTesting.assertMixedRowsEqualAlone;
import static dev.peft4j.peft.PeftTesting.maxAbs;
import static dev.peft4j.peft.PeftTesting.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.model.AutoModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Embedding;
import dev.peft4j.peft.AdapterFormat;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.peft.tokens.TrainableTokensDelta;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PEFT's {@code trainable_token_indices}: rows of the input embedding trained in full beside LoRA.
 * The reference here is the table with those rows overwritten ({@code index_copy}) and indexed;
 * PEFT's own outputs are checked in {@code PythonPeftInteropTest} (llama-lora-tokens).
 */
class TrainableTokensTest {
  private static final long[] IDS = {3, 14, 7, 9, 26, 5, 9, 3};
  private static final long[] TOKENS = {3, 7, 9};

  @TempDir Path dir;

  private PretrainedModel llama(String sub) throws Exception {
    return AutoModel.load(TinyCheckpoint.llama().writeTo(dir.resolve(sub)), LoadOptions.defaults());
  }

  private static LoraConfig.Builder withTokens() {
    return LoraConfig.builder().r(4).targetModules("q_proj").trainableTokenIndices(3, 7, 9);
  }

  private static TrainableTokensDelta tokens(PeftModel peft) {
    return tokens(peft, "model.embed_tokens");
  }

  private static TrainableTokensDelta tokens(PeftModel peft, String table) {
    return ((LoraAdapter) peft.adapter()).trainedTokens().get(table);
  }

  @Test
  void theLookupIsTheTableWithTheTrainedRowsAndGradientsReachOnlyThem() throws Exception {
    PeftModel peft = Peft.wrap(llama("m"), withTokens().build());
    Embedding table = (Embedding) peft.baseModel().namedModules().get("model.embed_tokens");
    randomize(peft);
    try (Scope scope = Scope.open()) {
      Tensor ids = Tensor.ofLongs(IDS, 2, 4);
      Tensor upstream = Tensor.randn(DType.F32, 2, 4, table.outFeatures());
      Tensor out = table.forward(ids);
      out.mul(upstream).sum().backward();

      Tensor d = tokens(peft).delta().value().detach().copy().requiresGrad(true);
      Tensor replaced = table.weight().value().detach().copy().indexCopy_(0, Tensor.ofLongs(TOKENS, 3), d);
      // W + (D − W) at the trained rows: D up to one rounding
      assertThat(maxAbsDiff(out.toFloatArray(), replaced.indexSelect(0, ids.reshape(-1)).toFloatArray()))
          .isLessThanOrEqualTo(1e-6);
      Tensor expected = replaced.indexSelect(0, ids.reshape(-1)).reshape(2, 4, table.outFeatures());
      expected.mul(upstream).sum().backward();
      assertThat(maxAbsDiff(tokens(peft).delta().value().grad().toFloatArray(), d.grad().toFloatArray()))
          .as("gradient of the trained rows").isLessThanOrEqualTo(1e-5);
      assertThat(maxAbs(d.grad().toFloatArray())).isGreaterThan(0);
      assertThat(table.weight().value().grad()).as("the table stays frozen").isNull();
    }
  }

  @Test
  void startsAsTheBaseMergesAsItRunsUnmergesBackAndSavesUnderPeftsName() throws Exception {
    PretrainedModel model = llama("m");
    float[] base = logits((CausalLm) model, IDS);
    float[] before = model.namedParameters().get("model.embed_tokens.weight").value().toFloatArray();
    PeftModel peft = Peft.wrap(model, withTokens().init(LoraConfig.LoraInit.DEFAULT).build());
    assertThat(maxAbsDiff(logits(peft.causalLm(), IDS), base)).as("the trained rows start as the table's").isZero();
    assertThat(peft.adapter().trainableParameters()).containsKey("model.embed_tokens.default.trainable_tokens_delta");

    randomize(peft);
    float[] unmerged = logits(peft.causalLm(), IDS);
    assertThat(maxAbsDiff(unmerged, base)).isGreaterThan(1e-3);
    peft.merge();
    assertThat(maxAbsDiff(logits(peft.causalLm(), IDS), unmerged)).isLessThanOrEqualTo(1e-5 * Math.max(1, maxAbs(unmerged)));
    peft.unmerge();
    assertThat(maxAbsDiff(model.namedParameters().get("model.embed_tokens.weight").value().toFloatArray(), before))
        .as("the table after unmerge").isZero();

    // saved under PEFT's name, and loaded again
    Path saved = dir.resolve("saved");
    peft.save(saved);
    assertThat(AdapterFormat.read(saved).tensors().get("base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta")
        .shape()).containsExactly(3, 32);
    assertThat(Files.readString(saved.resolve(AdapterFormat.CONFIG_FILE)))
        .contains("\"trainable_token_indices\": [\n    3,\n    7,\n    9\n  ]");
    assertThat(maxAbsDiff(logits(PeftModel.load(llama("again"), saved).causalLm(), IDS), unmerged)).isZero();
  }

  @Test
  void rowsOfAnEmbeddingNamedByModuleAndMixedBatches() throws Exception {
    PeftModel peft = Peft.wrap(llama("m"), LoraConfig.builder().r(2).targetModules("v_proj")
        .trainableTokens(TrainableTokens.of(Map.of("embed_tokens", List.of(9, 14)))).build());
    randomize(peft);
    peft.addAdapter("plain", LoraConfig.builder().r(2).targetModules("q_proj").init(LoraConfig.LoraInit.RANDOM).build());
    long[][] rows = {{9, 14, 2, 9}, {9, 14, 2, 9}, {3, 9, 14, 1}};
    assertMixedRowsEqualAlone(peft, List.of("default", "plain", PeftModel.BASE), rows);
  }

  @Test
  void whatCannotBeDoneIsAClearErrorAndLeavesTheModelUnchanged() throws Exception {
    PretrainedModel model = llama("m");
    long params = model.parameterCount();
    assertThatThrownBy(() -> Peft.wrap(model, LoraConfig.builder().targetModules("q_proj").trainableTokenIndices(3, 64)
        .build())).hasMessageContaining("token id 64, outside its table of 64 rows");
    assertThatThrownBy(() -> Peft.wrap(model, LoraConfig.builder().targetModules("q_proj", "embed_tokens")
        .trainableTokenIndices(3).build())).hasMessageContaining("'model.embed_tokens' is both a LoRA target and in");
    assertThatThrownBy(() -> Peft.wrap(model, LoraConfig.builder().targetModules("q_proj")
        .trainableTokens(TrainableTokens.of(Map.of("wte", List.of(1)))).build()))
        .hasMessageContaining("trainable_token_indices names 'wte', which matches no module");
    assertThatThrownBy(() -> LoraConfig.builder().trainableTokenIndices(3, 3).build()).hasMessageContaining("twice");
    assertThat(model.parameterCount()).as("nothing attached by a failed wrap").isEqualTo(params);
  }

  /**
   * GPT-2's head multiplies by wte, so the trained rows are also the head's columns 3, 7, 9: the
   * logits are those of the model whose table has the rows overwritten, and merging (which does
   * overwrite them) changes nothing. In a mixed batch that head is refused.
   */
  @Test
  void aHeadTiedToTheTableSeesTheTrainedRows() throws Exception {
    Path checkpoint = TinyCheckpoint.gpt2().writeTo(dir.resolve("gpt2"));
    PeftModel peft = Peft.wrap(AutoModel.load(checkpoint, LoadOptions.defaults()), LoraConfig.builder()
        .targetModules("c_attn").trainableTokenIndices(3, 7, 9).build());
    randomize(peft);
    float[] unmerged = logits(peft.causalLm(), IDS);

    PretrainedModel overwritten = AutoModel.load(checkpoint, LoadOptions.defaults());
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      overwritten.namedParameters().get("transformer.wte.weight").value()
          .indexCopy_(0, Tensor.ofLongs(TOKENS, 3), tokens(peft, "transformer.wte").delta().value());
    }
    PeftModel sameLora = Peft.wrap(overwritten, LoraConfig.builder().targetModules("c_attn").build());
    ((LoraAdapter) sameLora.adapter()).deltas().forEach((module, d) -> {
      LoraDelta from = ((LoraAdapter) peft.adapter()).deltas().get(module);
      try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
        d.loraA().value().copy_(from.loraA().value());
        d.loraB().value().copy_(from.loraB().value());
      }
    });
    assertThat(maxAbsDiff(unmerged, logits(sameLora.causalLm(), IDS))).as("the table with the rows overwritten")
        .isLessThanOrEqualTo(1e-5 * Math.max(1, maxAbs(unmerged)));
    peft.merge();
    assertThat(maxAbsDiff(logits(peft.causalLm(), IDS), unmerged)).as("merged")
        .isLessThanOrEqualTo(1e-5 * Math.max(1, maxAbs(unmerged)));
    peft.unmerge();

    peft.addAdapter("plain", LoraConfig.builder().targetModules("c_attn").build());
    try (PeftModel.MixedBatch m = peft.perRowAdapters(List.of("default", "plain"))) {
      assertThatThrownBy(() -> logits(peft.causalLm(), new long[] {3, 7}, new long[] {9, 1}))
          .hasMessageContaining("cannot run per row");
    }
  }

  /** Every trainable tensor of the active adapter drawn again, N(0, 0.3²). */
  private static void randomize(PeftModel peft) {
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      peft.adapter().trainableParameters().values().forEach(p -> p.value().normal_(0, 0.3));
    }
  }
}
