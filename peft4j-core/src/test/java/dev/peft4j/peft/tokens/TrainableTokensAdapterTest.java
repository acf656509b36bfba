package dev.peft4j.peft.tokens;

import static dev.peft4j.peft.PeftTesting.logits;
import static dev.peft4j.peft.PeftTesting.maxAbs;
import static dev.peft4j.peft.PeftTesting.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.SafeTensorsFile;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.peft.AdapterFormat;
import dev.peft4j.peft.ModuleSelector;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TestSafeTensors;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Trainable tokens alone ({@code TRAINABLE_TOKENS}). The reference is the model whose table has
 * the trained rows written in ({@code index_copy}); PEFT's own files and logits are checked in
 * {@code PythonPeftInteropTest} (llama-tokens, gpt2-tokens).
 */
class TrainableTokensAdapterTest {
  private static final long[] IDS = {3, 14, 7, 9, 26, 5, 9, 3};
  private static final List<Integer> TOKENS = List.of(3, 7, 9);
  private static final String HEAD_COPY = "base_model.model.lm_head.trainable_tokens_delta";
  private static final String WTE_ROWS = "base_model.model.transformer.wte.trainable_tokens_delta";

  @TempDir Path dir;

  private static void randomize(PeftModel peft) {
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      peft.adapter().trainableParameters().values().forEach(p -> p.value().normal_(0, 0.3));
    }
  }

  /** GPT-2's head is its table: both see the trained rows, and merging (which writes them in) changes nothing. */
  @Test
  void onATiedTableTheLookupAndTheHeadAreThoseOfTheTableWithTheRowsWrittenIn() throws Exception {
    Path checkpoint = TinyCheckpoint.gpt2().writeTo(dir.resolve("gpt2"));
    PretrainedModel model = AutoModel.load(checkpoint, LoadOptions.defaults());
    float[] base = logits((CausalLm) model, IDS);
    float[] table = model.namedParameters().get("transformer.wte.weight").value().toFloatArray();
    PeftModel peft = Peft.wrap(model, TrainableTokensConfig.of(TOKENS));
    assertThat(logits(peft.causalLm(), IDS)).as("the rows start as the table's").containsExactly(base);
    assertThat(peft.trainableParameterCount()).isEqualTo(3 * 32);
    randomize(peft);
    float[] unmerged = logits(peft.causalLm(), IDS);

    PretrainedModel written = AutoModel.load(checkpoint, LoadOptions.defaults());
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      written.namedParameters().get("transformer.wte.weight").value().indexCopy_(0, Tensor.ofLongs(new long[] {3, 7, 9}, 3),
          peft.adapter().trainableParameters().get("transformer.wte.default.trainable_tokens_delta").value());
    }
    assertThat(maxAbsDiff(unmerged, logits((CausalLm) written, IDS))).isLessThanOrEqualTo(1e-5 * Math.max(1, maxAbs(unmerged)));
    assertThat(maxAbsDiff(unmerged, base)).as("the rows change the logits").isGreaterThan(1e-3);

    peft.merge();
    assertThat(peft.adapter().merged()).isTrue();
    assertThat(maxAbsDiff(logits(peft.causalLm(), IDS), unmerged)).isLessThanOrEqualTo(1e-5 * Math.max(1, maxAbs(unmerged)));
    peft.unmerge();
    assertThat(model.namedParameters().get("transformer.wte.weight").value().toFloatArray()).as("unmerged")
        .containsExactly(table);
  }

  /** PEFT saves a tied table's rows twice, the second time as the head's; peft4j writes and reads both. */
  @Test
  void theHeadsCopyIsSavedOptionalOnLoadingAndMustHoldTheSameRows() throws Exception {
    Path checkpoint = TinyCheckpoint.gpt2().writeTo(dir.resolve("gpt2"));
    PeftModel peft = Peft.wrap(AutoModel.load(checkpoint, LoadOptions.defaults()), TrainableTokensConfig.of(TOKENS));
    randomize(peft);
    float[] expected = logits(peft.causalLm(), IDS);
    Path saved = dir.resolve("saved");
    peft.save(saved);
    assertThat(AdapterFormat.read(saved).tensors()).containsOnlyKeys(WTE_ROWS, HEAD_COPY);
    assertThat(logits(PeftModel.load(AutoModel.load(checkpoint, LoadOptions.defaults()), saved).causalLm(), IDS))
        .containsExactly(expected);

    rewrite(saved, tensors -> tensors.remove(HEAD_COPY));
    assertThat(logits(PeftModel.load(AutoModel.load(checkpoint, LoadOptions.defaults()), saved).causalLm(), IDS))
        .as("without the head's copy").containsExactly(expected);
    rewrite(saved, tensors -> tensors.put(HEAD_COPY, new float[3 * 32]));
    assertThatThrownBy(() -> PeftModel.load(AutoModel.load(checkpoint, LoadOptions.defaults()), saved))
        .isInstanceOf(ModelFormatException.class).hasMessageContaining(HEAD_COPY + " holds other rows than " + WTE_ROWS);
  }

  /** Rewrites the float32 weights file of {@code adapter}. */
  private static void rewrite(Path adapter, java.util.function.Consumer<Map<String, float[]>> edit) throws Exception {
    Path file = adapter.resolve(AdapterFormat.WEIGHTS_FILE);
    Map<String, float[]> tensors = new LinkedHashMap<>();
    try (Scope scope = Scope.open(); SafeTensorsFile f = SafeTensorsFile.open(file)) {
      f.tensors().forEach(t -> tensors.put(t.name(), f.copy(t.name()).toFloatArray()));
    }
    edit.accept(tensors);
    Map<String, long[]> shapes = new LinkedHashMap<>();
    tensors.keySet().forEach(name -> shapes.put(name, new long[] {3, 32}));
    TestSafeTensors.write(file, tensors, shapes, "F32");
  }

  @Test
  void targetModulesSelectEmbeddingsAndWhatCannotWorkIsAClearError() throws Exception {
    PretrainedModel model = AutoModel.load(TinyCheckpoint.llama().writeTo(dir.resolve("m")), LoadOptions.defaults());
    float[] base = logits((CausalLm) model, IDS);
    long params = model.parameterCount();
    assertThatThrownBy(() -> Peft.wrap(model, TrainableTokensConfig.of(TOKENS).withTargetModules(ModuleSelector.names("q_proj"))))
        .hasMessageContaining("selects 'model.layers.0.self_attn.q_proj' (Linear); trainable tokens train rows of embeddings only");
    assertThatThrownBy(() -> Peft.wrap(model, TrainableTokensConfig.of(TOKENS).withTargetModules(ModuleSelector.names("wte"))))
        .hasMessageContaining("selects no embedding of LlamaForCausalLM");
    assertThatThrownBy(() -> Peft.wrap(model, TrainableTokensConfig.of(List.of(3, 64))))
        .hasMessageContaining("token_indices for 'model.embed_tokens' has token id 64, outside its table of 64 rows");
    assertThatThrownBy(() -> TrainableTokensConfig.of(List.of(3, 3))).hasMessageContaining("token_indices names a token twice");
    assertThat(model.parameterCount()).as("nothing attached by a failed wrap").isEqualTo(params);

    PeftModel peft = Peft.wrap(model, TrainableTokensConfig.of(TOKENS).withInitWeights(false)
        .withTargetModules(new ModuleSelector.Regex("model\\.embed_tokens")));
    assertThat(peft.adapter().targetedModules()).containsExactly("model.embed_tokens");
    assertThat(maxAbsDiff(logits(peft.causalLm(), IDS), base)).as("init_weights=false: random rows").isGreaterThan(1e-3);
    // the keys of PEFT 0.21's TrainableTokensConfig(token_indices=[...]).to_dict() (listed with Python)
    assertThat(peft.config().toJsonMap()).containsOnlyKeys("auto_mapping", "base_model_name_or_path", "inference_mode",
        "init_weights", "peft_type", "peft_version", "revision", "target_modules", "task_type", "token_indices");
  }
}
