package dev.peft4j.peft.prompt;

import dev.peft4j.model.CausalLm;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.model.SequenceClassifier;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Prompt ensembling (Lester et al. 2021, §7.1): K prompts trained for one task on one frozen
 * model, their predictions averaged in one batched pass. A batch of B rows runs as B·K rows —
 * row {@code b·K + k} with prompt k only ({@link PeftModel#perRowAdapters}) — and the K
 * predictions of each row are averaged (probabilities, or logits) or voted. Prompts with
 * modules_to_save (their own classification heads) cannot share a batch; a classifier ensemble
 * uses prompts over one shared head.
 */
public final class PromptEnsemble {
  private final PeftModel peft;
  private final List<String> prompts;

  private PromptEnsemble(PeftModel peft, List<String> prompts) {
    this.peft = peft;
    this.prompts = List.copyOf(prompts);
  }

  /**
   * @param peft the model the prompts are attached to ({@link PeftModel#loadAdapter})
   * @param prompts names of prompt-tuning or P-tuning adapters of {@code peft}
   * @throws IllegalArgumentException if there are none, or one is unknown or another method
   */
  public static PromptEnsemble of(PeftModel peft, List<String> prompts) {
    if (prompts.isEmpty()) {
      throw new IllegalArgumentException("an ensemble needs at least one prompt");
    }
    for (String name : prompts) {
      if (!(peft.adapter(name) instanceof PromptAdapter)) {
        throw new IllegalArgumentException("ensembles combine prompt-tuning or P-tuning prompts; '" + name + "' is "
            + peft.adapter(name).config().peftType());
      }
    }
    return new PromptEnsemble(peft, prompts);
  }

  public int size() {
    return prompts.size();
  }

  /** Mean next-token probabilities of a causal LM, [B, T, vocab]. */
  public Tensor probabilities(Tensor inputIds, Tensor attentionMask) {
    return mean(run(inputIds, attentionMask, rows -> Functional.softmax(causal().forward(rows[0], rows[1], null), -1)),
        inputIds.size(0));
  }

  /** Mean logits of a causal LM, [B, T, vocab]. */
  public Tensor logits(Tensor inputIds, Tensor attentionMask) {
    return mean(run(inputIds, attentionMask, rows -> causal().forward(rows[0], rows[1], null)), inputIds.size(0));
  }

  /** Mean class probabilities of a {@link SequenceClassifier}, [B, classes]. */
  public Tensor classProbabilities(Tensor inputIds, Tensor attentionMask) {
    return mean(run(inputIds, attentionMask, rows -> Functional.softmax(classifier().classify(rows[0], null, rows[1]), -1)),
        inputIds.size(0));
  }

  /** The class most prompts predict for each row (ties to the lower class id), int64 [B]. */
  public Tensor classVotes(Tensor inputIds, Tensor attentionMask) {
    long b = inputIds.size(0);
    Tensor logits = run(inputIds, attentionMask, rows -> classifier().classify(rows[0], null, rows[1])); // [B·K, C]
    long classes = logits.size(1);
    Tensor eye = Tensor.ones(DType.F32, classes, classes).tril(0).sub(Tensor.ones(DType.F32, classes, classes).tril(-1));
    Tensor votes = Functional.embedding(eye, logits.argmax(1)); // one-hot [B·K, C]
    // a tiny decreasing bonus per class id breaks ties towards the lower id
    Tensor counts = votes.view(b, prompts.size(), classes).sum(1, false)
        .sub(Tensor.arange(classes).to(DType.F32).mul(1e-3));
    return counts.argmax(1);
  }

  private CausalLm causal() {
    return peft.causalLm();
  }

  private SequenceClassifier classifier() {
    PretrainedModel base = peft.baseModel();
    if (!(base instanceof SequenceClassifier)) {
      throw new IllegalStateException(base.architecture() + " is not a SequenceClassifier");
    }
    return (SequenceClassifier) base;
  }

  /** Runs {@code forward} on {ids, mask} repeated K times per row, each copy with its own prompt: [B·K, ...]. */
  private Tensor run(Tensor ids, Tensor mask, Function<Tensor[], Tensor> forward) {
    int k = prompts.size();
    List<String> rowAdapters = new ArrayList<>();
    for (long r = 0; r < ids.size(0); r++) {
      rowAdapters.addAll(prompts);
    }
    try (PeftModel.MixedBatch mixed = peft.perRowAdapters(rowAdapters)) {
      return forward.apply(new Tensor[] {ids.repeatInterleave(k, 0), mask == null ? null : mask.repeatInterleave(k, 0)});
    }
  }

  /** [B·K, ...] → the mean over each row's K copies, [B, ...]. */
  private Tensor mean(Tensor x, long batch) {
    long[] shape = x.shape();
    long[] grouped = new long[shape.length + 1];
    grouped[0] = batch;
    grouped[1] = prompts.size();
    System.arraycopy(shape, 1, grouped, 2, shape.length - 1);
    return x.reshape(grouped).sum(1, false).div(prompts.size());
  }
}
