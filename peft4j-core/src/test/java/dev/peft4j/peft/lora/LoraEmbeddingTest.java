package dev.peft4j.peft.lora;

import static dev.peft4j.peft.PeftTesting.logits;
import static dev.peft4j.peft.PeftTesting.assertMixedRowsEqualAlone;
import static dev.peft4j.peft.PeftTesting.maxAbs;
import static dev.peft4j.peft.PeftTesting.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.SafeTensorsWriter;
import dev.peft4j.io.TensorData;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Embedding;
import dev.peft4j.peft.AdapterFormat;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LoRA on an embedding (PEFT's {@code lora_embedding_A/B}): the lookup of ids in W + (α/r)·(B A)ᵀ.
 * The reference here forms that [vocab, dim] table in full and indexes it, where peft4j picks the
 * ids' columns of A and multiplies by B; PEFT's own outputs are checked in
 * {@code PythonPeftInteropTest} (llama-lora-embed, gpt2-lora-wte).
 */
class LoraEmbeddingTest {
  private static final long[] IDS = {3, 14, 15, 9, 26, 5, 35, 3};
  private static final String EMBED = "model.embed_tokens";

  @TempDir Path dir;

  private PretrainedModel llama(String sub) throws Exception {
    return AutoModel.load(TinyCheckpoint.llama().writeTo(dir.resolve(sub)), LoadOptions.defaults());
  }

  private static LoraConfig.Builder embedAndQuery() {
    return LoraConfig.builder().r(4).loraAlpha(8).targetModules("embed_tokens", "q_proj");
  }

  @Test
  void theLookupAndItsGradientsAreThoseOfTheFullUpdatedTable() throws Exception {
    PeftModel peft = Peft.wrap(llama("m"), embedAndQuery().init(LoraConfig.LoraInit.RANDOM).build());
    LoraDelta delta = ((LoraAdapter) peft.adapter()).deltas().get(EMBED);
    Embedding table = (Embedding) delta.host();
    try (Scope scope = Scope.open()) {
      Tensor ids = Tensor.ofLongs(IDS, 2, 4);
      Tensor upstream = Tensor.randn(DType.F32, 2, 4, table.outFeatures());
      Tensor out = table.forward(ids);
      out.mul(upstream).sum().backward();

      Tensor a = delta.loraA().value().detach().copy().requiresGrad(true);
      Tensor b = delta.loraB().value().detach().copy().requiresGrad(true);
      Tensor updated = table.weight().value().add(b.matmul(a).transpose(0, 1).mul(delta.scaling())); // [vocab, dim]
      Tensor expected = updated.indexSelect(0, ids.reshape(-1)).reshape(2, 4, table.outFeatures());
      expected.mul(upstream).sum().backward();

      assertThat(out.sub(expected).abs().max().item()).as("output").isLessThanOrEqualTo(1e-5);
      assertThat(delta.loraA().value().grad().sub(a.grad()).abs().max().item()).as("gradient of A")
          .isLessThanOrEqualTo(1e-4 * Math.max(1, a.grad().abs().max().item()));
      assertThat(delta.loraB().value().grad().sub(b.grad()).abs().max().item()).as("gradient of B")
          .isLessThanOrEqualTo(1e-4 * Math.max(1, b.grad().abs().max().item()));
      assertThat(a.grad().abs().max().item()).as("A has a gradient").isGreaterThan(0);
    }
  }

  @Test
  void startsAsTheBaseMergesAsItRunsAndUnmergesBack() throws Exception {
    PretrainedModel model = llama("m");
    float[] base = logits((CausalLm) model, IDS);
    float[] table = model.namedParameters().get(EMBED + ".weight").value().toFloatArray();
    PeftModel peft = Peft.wrap(model, embedAndQuery().build());
    LoraDelta delta = ((LoraAdapter) peft.adapter()).deltas().get(EMBED);
    assertThat(delta.loraA().value().abs().max().item()).as("A starts at zero, as PEFT's").isZero();
    assertThat(delta.loraB().value().abs().max().item()).as("B starts random, as PEFT's").isGreaterThan(0);
    assertThat(maxAbsDiff(logits(peft.causalLm(), IDS), base)).as("at the start").isZero();

    randomize(peft);
    float[] unmerged = logits(peft.causalLm(), IDS);
    assertThat(maxAbsDiff(unmerged, base)).as("the adapter changes the logits").isGreaterThan(1e-3);
    peft.merge();
    assertThat(maxAbsDiff(logits(peft.causalLm(), IDS), unmerged)).as("merged")
        .isLessThanOrEqualTo(1e-5 * Math.max(1, maxAbs(unmerged)));
    peft.unmerge();
    assertThat(maxAbsDiff(delta.host().weight().value().toFloatArray(), table)).as("table after unmerge")
        .isLessThanOrEqualTo(1e-6);
  }

  @Test
  void allLinearLeavesEmbeddingsOut() throws Exception {
    PeftModel peft = Peft.wrap(llama("m"), LoraConfig.builder().allLinear().build());
    assertThat(peft.adapter().targetedModules()).isNotEmpty().noneMatch(m -> m.contains("embed"));
  }

  /** GPT-2's head multiplies by wte: merging LoRA on wte would change the head too, so it is refused. */
  @Test
  void aTableTiedToTheHeadIsNotMerged() throws Exception {
    PretrainedModel model = AutoModel.load(TinyCheckpoint.gpt2().writeTo(dir.resolve("gpt2")), LoadOptions.defaults());
    PeftModel peft = Peft.wrap(model, LoraConfig.builder().targetModules("wte", "c_attn").build());
    randomize(peft);
    float[] table = model.namedParameters().get("transformer.wte.weight").value().toFloatArray();

    assertThat(peft.adapter().mergeable()).isFalse();
    assertThatThrownBy(peft::merge).isInstanceOf(UnsupportedOperationException.class)
        .hasMessageContaining("LoRA on 'transformer.wte' cannot be merged").hasMessageContaining("tied");
    assertThatThrownBy(peft.adapter()::merge).isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(peft::mergeAndUnload).isInstanceOf(UnsupportedOperationException.class);
    assertThat(peft.adapter().merged()).isFalse();
    assertThat(maxAbsDiff(model.namedParameters().get("transformer.wte.weight").value().toFloatArray(), table))
        .as("the table is untouched").isZero();
  }

  @Test
  void savesPeftsNamesAndTheBaseTableWhichLoadingTakesWhenPresent() throws Exception {
    PeftModel peft = Peft.wrap(llama("m"), embedAndQuery().build());
    randomize(peft);
    float[] adapted = logits(peft.causalLm(), IDS);
    Path saved = dir.resolve("saved");
    peft.save(saved);
    Map<String, TensorData> tensors = new LinkedHashMap<>(AdapterFormat.read(saved).tensors());
    String baseTable = "base_model.model.model.embed_tokens.base_layer.weight";
    assertThat(tensors).containsKeys("base_model.model.model.embed_tokens.lora_embedding_A",
        "base_model.model.model.embed_tokens.lora_embedding_B", baseTable,
        "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
    assertThat(tensors.get("base_model.model.model.embed_tokens.lora_embedding_A").shape()).containsExactly(4, 64);

    tensors.remove(baseTable); // PEFT's save_embedding_layers=False
    SafeTensorsWriter.write(saved.resolve(AdapterFormat.WEIGHTS_FILE), tensors);
    assertThat(maxAbsDiff(logits(PeftModel.load(llama("a"), saved).causalLm(), IDS), adapted)).isZero();

    // a saved table replaces the model's, as in PEFT: here one whose rows are all 0.5
    float[] halves = new float[64 * 32];
    Arrays.fill(halves, 0.5f);
    tensors.put(baseTable, data(halves, 64, 32));
    SafeTensorsWriter.write(saved.resolve(AdapterFormat.WEIGHTS_FILE), tensors);
    PeftModel loaded = PeftModel.load(llama("b"), saved);
    assertThat(maxAbs(loaded.baseModel().namedParameters().get(EMBED + ".weight").value().add(-0.5).toFloatArray()))
        .isZero();

    tensors.put(baseTable, data(new float[65 * 32], 65, 32));
    SafeTensorsWriter.write(saved.resolve(AdapterFormat.WEIGHTS_FILE), tensors);
    PretrainedModel fresh = llama("c");
    assertThatThrownBy(() -> PeftModel.load(fresh, saved)).isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("tensor '" + baseTable + "'").hasMessageContaining("[65, 32]");
  }

  /** Rows of different LoRA adapters in one batch, gathered (two adapters) or computed per adapter (one). */
  @Test
  void mixedBatchRowsEqualTheirAdapterAlone() throws Exception {
    PeftModel peft = Peft.wrap(llama("m"), embedAndQuery().init(LoraConfig.LoraInit.RANDOM).build());
    peft.addAdapter("other", LoraConfig.builder().r(2).loraAlpha(16).targetModules("embed_tokens", "v_proj")
        .init(LoraConfig.LoraInit.RANDOM).build());
    long[][] tokens = {{3, 14, 15, 9}, {26, 5, 35, 3}, {7, 7, 1, 60}, {3, 14, 15, 9}};
    long[][] oneToken = {{3}, {26}, {60}, {14}}; // a decoding step: the adapters' matrices side by side
    for (long[][] rows : List.of(tokens, oneToken)) {
      assertMixedRowsEqualAlone(peft, List.of("default", "other", PeftModel.BASE, "other"), rows);
      assertMixedRowsEqualAlone(peft, List.of("other", PeftModel.BASE, "other", PeftModel.BASE), rows);
    }
  }


  /**
   * On a bf16 table the change is computed in float32 and comes back in bf16, whole-batch and per row
   * (where the ids' dtype must not leak into the change: int64 would truncate it to zero).
   */
  @Test
  void aBf16TableGetsTheChangeInItsDtypeWholeBatchAndPerRow() throws Exception {
    PretrainedModel model = AutoModel.load(TinyCheckpoint.llama().writeTo(dir.resolve("bf16")),
        LoadOptions.defaults().withDType(DType.BF16));
    PeftModel peft = Peft.wrap(model, embedAndQuery().init(LoraConfig.LoraInit.RANDOM).build());
    Embedding table = (Embedding) ((LoraAdapter) peft.adapter()).deltas().get(EMBED).host();
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      Tensor ids = Tensor.ofLongs(IDS, 2, 4);
      Tensor base = table.forwardWithoutDeltas(ids);
      Tensor adapted = table.forward(ids);
      assertThat(adapted.dtype()).isEqualTo(DType.BF16);
      assertThat(adapted.sub(base).abs().max().item()).as("the change").isGreaterThan(0.1);
      Tensor mixed;
      try (PeftModel.MixedBatch m = peft.perRowAdapters(List.of("default", PeftModel.BASE))) {
        mixed = table.forward(ids);
      }
      assertThat(mixed.dtype()).isEqualTo(DType.BF16);
      assertThat(mixed.select(0, 0).sub(adapted.select(0, 0)).abs().max().item()).as("the adapter's row")
          .isLessThanOrEqualTo(1e-2 * adapted.abs().max().item());
      assertThat(mixed.select(0, 1).sub(base.select(0, 1)).abs().max().item()).as("the base row").isZero();
    }
  }


  /** Every LoRA matrix of the active adapter drawn again, N(0, 0.3²), so that none is zero. */
  private static void randomize(PeftModel peft) {
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      ((LoraAdapter) peft.adapter()).deltas().values().forEach(d -> {
        d.loraA().value().normal_(0, 0.3);
        d.loraB().value().normal_(0, 0.3);
      });
    }
  }

  private static TensorData data(float[] values, long... shape) {
    try (Scope scope = Scope.open()) {
      return new TensorData(DType.F32, shape, Tensor.of(values, shape).toBytes());
    }
  }
}
