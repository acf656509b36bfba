package dev.peft4j.generate;

import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;

/**
 * Hugging Face's logits processors and warpers, in its order: repetition penalty → temperature →
 * top-k → top-p → sample (multinomial over the softmax) or argmax. Each filter is a pure
 * function of float32 logits [B, V]; removed tokens get {@code -inf}.
 */
final class LogitsPipeline {
  private final GenerationConfig config;

  LogitsPipeline(GenerationConfig config) {
    this.config = config;
  }

  /** Whether {@link #choose} needs the mask of tokens already present. */
  boolean needsPresence() {
    return config.repetitionPenalty() != 1.0;
  }

  /**
   * The next token of every row.
   *
   * @param logits float32 [B, V], the last position's logits
   * @param present bool [B, V], tokens already in each row; or null if no penalty is set
   * @return int64 [B]
   */
  Tensor choose(Tensor logits, Tensor present) {
    Tensor scores = needsPresence() ? repetitionPenalty(logits, present, config.repetitionPenalty()) : logits;
    if (!config.sampling()) {
      return scores.argmax(-1);
    }
    scores = temperature(scores, config.temperature());
    if (config.topK() > 0) {
      scores = topK(scores, config.topK());
    }
    if (config.topP() < 1.0) {
      scores = topP(scores, config.topP());
    }
    long batch = scores.size(0);
    return Functional.softmax(scores, -1).multinomial(1).view(batch);
  }

  /**
   * {@code present ? (s < 0 ? s * penalty : s / penalty) : s}, HF's
   * {@code RepetitionPenaltyLogitsProcessor}.
   */
  static Tensor repetitionPenalty(Tensor scores, Tensor present, double penalty) {
    Tensor penalized = Tensor.where(scores.le(zero()), scores.mul(penalty), scores.div(penalty));
    return Tensor.where(present, penalized, scores);
  }

  /** {@code s / temperature}. */
  static Tensor temperature(Tensor scores, double temperature) {
    return temperature == 1.0 ? scores : scores.div(temperature);
  }

  /**
   * Keeps scores at least the {@code k}-th largest of their row (HF's {@code TopKLogitsWarper}:
   * ties with the k-th are kept), the rest become {@code -inf}.
   */
  static Tensor topK(Tensor scores, int k) {
    long vocab = scores.size(-1);
    long kk = Math.min(k, vocab);
    Tensor kth = scores.sort(-1, true)[0].narrow(-1, kk - 1, 1); // [B, 1]
    return Tensor.where(kth.le(scores), scores, negInf());
  }

  /**
   * Nucleus filtering, HF's {@code TopPLogitsWarper}: sorted ascending, a token is removed while
   * the cumulative probability up to and including it is {@code <= 1 - p}; the most likely token
   * is always kept.
   */
  static Tensor topP(Tensor scores, double p) {
    long vocab = scores.size(-1);
    Tensor[] sorted = scores.sort(-1, false);                                  // values, indices [B, V]
    Tensor cumulative = Functional.softmax(sorted[0], -1).cumsum(-1);
    Tensor remove = cumulative.le(Tensor.full(DType.F32, 1.0 - p));            // in sorted order
    remove = remove.logicalAnd(Tensor.arange(vocab).ne(vocab - 1).view(1, vocab));
    Tensor unsort = sorted[1].sort(-1, false)[1];                              // inverse permutation
    return scores.maskedFill(remove.gather(-1, unsort), Double.NEGATIVE_INFINITY);
  }

  private static Tensor zero() {
    return Tensor.zeros(DType.F32);
  }

  private static Tensor negInf() {
    return Tensor.full(DType.F32, Double.NEGATIVE_INFINITY);
  }
}
