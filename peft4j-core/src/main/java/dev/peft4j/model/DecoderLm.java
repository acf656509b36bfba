package dev.peft4j.model;

import dev.peft4j.nn.KvCache;
import dev.peft4j.nn.VirtualInputs;
import dev.peft4j.tensor.Tensor;

/**
 * What the decoder-only models share around their backbones: the input checks, a pass cut into
 * {@link Stages}, the LM head over every position or only the last one, and a cache per layer.
 * A model supplies its backbone's pass and its head ({@link #logits}).
 */
public abstract class DecoderLm extends PretrainedModel implements CausalLm {
  private final int numLayers;
  private final int vocabSize;
  private final long maxPositions;

  protected DecoderLm(int numLayers, int vocabSize, long maxPositions) {
    this.numLayers = numLayers;
    this.vocabSize = vocabSize;
    this.maxPositions = maxPositions;
  }

  /**
   * The backbone over inputs already checked: a pass whose head returns the final hidden states
   * of the caller's tokens, [B, T, hidden] (after the final norm, virtual tokens removed).
   */
  protected abstract Stages<Tensor> backbonePass(Tensor inputIds, Tensor attentionMask, KvCache cache);

  @Override
  public abstract Tensor logits(Tensor hidden);

  @Override
  public final Tensor forward(Tensor inputIds, Tensor attentionMask, KvCache cache) {
    return pass(inputIds, attentionMask, cache).andThen(this::logits).run();
  }

  @Override
  public final Tensor lastLogits(Tensor inputIds, Tensor attentionMask, KvCache cache) {
    return pass(inputIds, attentionMask, cache).andThen(h -> logits(h.select(1, h.size(1) - 1))).run();
  }

  @Override
  public final Stages<Tensor> stages(Tensor inputIds, Tensor attentionMask) {
    return pass(inputIds, attentionMask, null);
  }

  private Stages<Tensor> pass(Tensor inputIds, Tensor attentionMask, KvCache cache) {
    CausalInputs.check(inputIds, attentionMask, VirtualInputs.realPast(cache), maxPositions, vocabSize);
    return backbonePass(inputIds, attentionMask, cache);
  }

  @Override
  public final KvCache newCache() {
    return new KvCache(numLayers);
  }

  @Override
  public final int vocabSize() {
    return vocabSize;
  }

  @Override
  public final long contextLength() {
    return maxPositions;
  }
}
