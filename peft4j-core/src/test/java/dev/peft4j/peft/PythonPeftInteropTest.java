package dev.peft4j.peft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.io.SafeTensorsFile;
import dev.peft4j.io.TensorData;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.SequenceClassifier;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Adapters saved by Hugging Face PEFT load into peft4j and give the logits PEFT computed, with and
 * without a padded row. The base
 * models (saved by transformers; BERT with its sequence-classification head, whose adapter also
 * carries the head PEFT trained as {@code modules_to_save}), the adapters (saved by PEFT, their weights randomised so that
 * none is the identity) and PEFT's logits for fixed ids were written by
 * {@code src/test/resources/interop/generate.py} with torch 2.13, transformers 5.18 and peft 0.21.
 */
class PythonPeftInteropTest {
  @TempDir Path dir;

  /** float32 on both sides; differences are summation order only. */
  private static final double TOLERANCE = 1e-4;

  @ParameterizedTest(name = "{0}")
  @CsvSource({
      "llama-lora, llama",
      "llama-lora-bin, llama",
      "gpt2-lora, gpt2",
      "bert-lora, bert",
      "llama-lora-patterns, llama",
      "llama-lora-lm-head, llama",
      "gpt2-lora-bias, gpt2",
      "gpt2-lora-b-bias, gpt2",
      "llama-lora-b-bias, llama",
      "llama-lora-embed, llama",
      "gpt2-lora-wte, gpt2",
      "llama-dora, llama",
      "gpt2-dora, gpt2",
      "llama-dora-embed, llama",
      "qwen3-lora, qwen3",
      "gemma3-lora, gemma3",
      "llama-loha, llama",
      "llama-vera, llama",
      "gpt2-vera, gpt2",
      "llama-vera-unsaved, llama",
      "llama-tokens, llama",
      "gpt2-tokens, gpt2",
      "llama-lora-tokens, llama",
      "gpt2-lora-tokens, gpt2",
      "llama-ia3, llama",
      "gpt2-ia3, gpt2",
      "bert-ia3, bert",
      "gpt2-prefix, gpt2",
      "bert-prompt, bert",
      "bert-ptuning, bert",
      "bert-prefix, bert",
      "llama-prefix, llama",
      "llama-prompt, llama",
      "llama-ptuning, llama",
      "llama-adaption-prompt, llama"})
  void anAdapterSavedByPeftGivesPeftsLogits(String adapter, String base) throws Exception {
    Engine.ensureLoaded();
    try (Scope scope = Scope.open(); Engine.GradGuard noGrad = Engine.noGrad();
        SafeTensorsFile expected = SafeTensorsFile.open(resource(adapter).resolve("expected.safetensors"))) {
      PeftModel peft = PeftModel.load(AutoModel.load(resource(base), LoadOptions.defaults()), resource(adapter));
      Tensor ids = expected.copy("input_ids");
      Tensor reference = expected.copy("logits");

      Tensor logits = logits(peft, ids, null);

      assertThat(logits.shape()).containsExactly(reference.shape());
      double scale = reference.abs().max().item();
      assertThat(logits.sub(reference).abs().max().item()).as("largest difference from PEFT's logits")
          .isLessThanOrEqualTo(TOLERANCE * Math.max(1, scale));
      // a right-padded row (which changes the BERT classifiers' logits by up to 0.012 in PEFT); for a causal LM
      // only the real positions are compared, the padded ones being anyone's
      Tensor mask = expected.copy("attention_mask");
      Tensor real = logits.dim() == 3 ? mask.to(DType.F32).unsqueeze(-1) : Tensor.ones(DType.F32, 1);
      assertThat(logits(peft, ids, mask).sub(expected.copy("masked_logits")).abs().mul(real).max().item())
          .as("largest difference from PEFT's logits with padding").isLessThanOrEqualTo(TOLERANCE * Math.max(1, scale));
      try (PeftModel.AdaptersDisabled off = peft.disableAdapters()) {
        Tensor baseLogits = logits(peft, ids, null);
        assertThat(baseLogits.sub(reference).abs().max().item()).as("the adapter changes the logits")
            .isGreaterThan(100 * TOLERANCE * Math.max(1, scale));
      }
      String saveTo = System.getProperty("peft4j.interop.save");
      if (saveTo != null) { // for the reverse check, interop/check_saved_by_peft4j.py (Python reads what peft4j wrote)
        peft.save(Path.of(saveTo, adapter));
      }
      // saved again by peft4j: PEFT's tensor names (what PEFT looks its weights up by) and values
      peft.save(dir.resolve(adapter));
      Map<String, TensorData> ours = AdapterFormat.read(dir.resolve(adapter)).tensors();
      Map<String, TensorData> peftsOwn = AdapterFormat.read(resource(adapter)).tensors();
      assertThat(ours.keySet()).containsExactlyInAnyOrderElementsOf(peftsOwn.keySet());
      peftsOwn.forEach((name, data) -> assertThat(ours.get(name).data()).as(name).isEqualTo(data.data()));
    }
  }

  /** Next-token logits [B, T, vocab] of a causal LM, class logits [B, labels] of a classifier; {@code mask} may be null. */
  private static Tensor logits(PeftModel peft, Tensor ids, Tensor mask) {
    return peft.baseModel() instanceof SequenceClassifier classifier
        ? classifier.classify(ids, null, mask)
        : peft.causalLm().forward(ids, mask, null);
  }

  private static Path resource(String name) throws URISyntaxException {
    return Path.of(PythonPeftInteropTest.class.getResource("/interop/" + name).toURI());
  }
}
