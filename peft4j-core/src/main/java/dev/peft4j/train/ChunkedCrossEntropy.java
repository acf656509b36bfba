package dev.peft4j.train;

import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.util.function.UnaryOperator;
import java.util.stream.LongStream;

/**
 * The mean next-token cross-entropy back-propagated from the final hidden states without ever
 * holding the logits of the whole batch (the "fused linear cross-entropy" of Liger-Kernel, Hsu
 * et al. 2024, done in chunks): only the scored positions go through the LM head, a chunk of them
 * at a time, and each chunk's gradient is computed in closed form and back-propagated at once. The
 * head then holds two [chunk, vocab] float32 tensors at most, where log-softmax, NLL and their
 * backward hold four [B·T, vocab] ones.
 *
 * <p>For the logits z of one position with target y the loss is ℓ = logsumexp(z) − z_y, and
 * ∂ℓ/∂z = softmax(z) − onehot(y). The loss is the mean over the S scored positions, so each chunk
 * back-propagates (softmax(z) − onehot(y)) / (S · divisor) into the head and its input. The logits
 * are taken in float32 whatever the model's dtype (as Hugging Face's causal-LM loss upcasts them).
 * A batch with no scored position has loss 0 and no gradient.
 */
final class ChunkedCrossEntropy implements LossBackward<Tensor> {
  /** Logits per chunk, in elements (16 MiB of float32): positions per chunk = this / vocab. */
  static final long CHUNK_ELEMENTS = 1L << 22;
  /** Positions per chunk at least, so that the head's matmul stays efficient with a large vocab. */
  static final long MIN_CHUNK_POSITIONS = 64;
  /** Hugging Face's ignore index: positions with this target are not scored. */
  static final long IGNORE = -100;

  private final UnaryOperator<Tensor> head;
  private final Tensor targets;
  private final long chunkPositions;

  /**
   * @param head the LM head: logits [N, vocab] of hidden states [N, hidden]
   * @param targets int64 [B·T], the target of each position of the hidden states (row-major),
   *     {@link #IGNORE} where the position is not scored
   * @param chunkPositions positions through the head at a time
   */
  ChunkedCrossEntropy(UnaryOperator<Tensor> head, Tensor targets, long chunkPositions) {
    if (chunkPositions < 1) {
      throw new IllegalArgumentException("positions per chunk must be positive: " + chunkPositions);
    }
    this.head = head;
    this.targets = targets;
    this.chunkPositions = chunkPositions;
  }

  /** Chunks of {@link #CHUNK_ELEMENTS} logits (at least {@link #MIN_CHUNK_POSITIONS} positions). */
  static long chunkPositions(long vocab) {
    return Math.max(MIN_CHUNK_POSITIONS, CHUNK_ELEMENTS / vocab);
  }

  /**
   * @param hidden [B, T, hidden] with its graph; position (b, t) is scored against
   *     {@code targets[b·T + t]}
   */
  @Override
  public double backward(Tensor hidden, int divisor) {
    Scored scored = scored(hidden);
    if (scored == null) {
      return 0;
    }
    Tensor x = scored.hidden().detach().requiresGrad(true);
    double denominator = (double) scored.count() * divisor;
    double loss = forEachChunk(x, scored, (logits, y) -> {
      Tensor gradient;
      double sum;
      try (Engine.GradGuard g = Engine.noGrad()) {
        Tensor logProbs = logProbs(logits);
        sum = summedLoss(logProbs, y);
        gradient = logProbs.exp_() // softmax(z), in place
            .scatterAdd_(1, y, Tensor.full(DType.F32, -1, y.size(0), 1)) // − onehot(y)
            .mul_(1 / denominator);
      }
      if (Double.isFinite(sum)) {
        logits.backward(gradient.to(logits.dtype()));
      }
      return sum;
    }) / scored.count();
    if (Double.isFinite(loss) && scored.hidden().requiresGrad()) {
      scored.hidden().backward(x.grad());
    }
    return loss;
  }

  /**
   * The summed loss over the scored positions and how many there are, without gradients (for
   * evaluation; call it under {@link Engine#noGrad}).
   */
  EvalStats sum(Tensor hidden) {
    Scored scored = scored(hidden);
    if (scored == null) {
      return EvalStats.of(0, 0);
    }
    double sum = forEachChunk(scored.hidden(), scored, (logits, y) -> summedLoss(logProbs(logits), y));
    return EvalStats.of(sum, scored.count());
  }

  /**
   * log softmax(z) = z − logsumexp(z) of a chunk's logits, in float32: one fused kernel, where
   * {@code logsumexp} and a subtraction would make five passes over the [n, vocab] logits.
   */
  private static Tensor logProbs(Tensor logits) {
    return Functional.logSoftmax(logits.to(DType.F32), 1);
  }

  /** Σ over the rows of −log softmax(z)_y = logsumexp(z) − z_y: the chunk's summed cross-entropy. */
  private static double summedLoss(Tensor logProbs, Tensor y) {
    return -logProbs.gather(1, y).sum().item();
  }

  /** The scored positions' hidden states [S, hidden] (with the graph of {@code hidden}) and targets [S, 1]. */
  private record Scored(Tensor hidden, Tensor targets, long count) {}

  private Scored scored(Tensor hidden) {
    long[] all = targets.toLongArray();
    long[] positions = LongStream.range(0, all.length).filter(i -> all[(int) i] != IGNORE).toArray();
    if (positions.length == 0) {
      return null;
    }
    Tensor index = Tensor.ofLongs(positions, positions.length);
    return new Scored(hidden.reshape(-1, hidden.size(hidden.dim() - 1)).indexSelect(0, index),
        targets.indexSelect(0, index).unsqueeze(1), positions.length);
  }

  /** One chunk's summed loss from its logits [n, vocab] and targets [n, 1] (and whatever else it does). */
  @FunctionalInterface
  private interface ChunkLoss {
    double apply(Tensor logits, Tensor targets);
  }

  /**
   * Runs the head on {@code x} [S, hidden] a chunk of positions at a time, each in its own scope,
   * and adds up {@code loss} of the chunks; stops at the first non-finite one.
   */
  private double forEachChunk(Tensor x, Scored scored, ChunkLoss loss) {
    double total = 0;
    for (long from = 0; from < scored.count() && Double.isFinite(total); from += chunkPositions) {
      long n = Math.min(chunkPositions, scored.count() - from);
      try (Scope scope = Scope.open()) {
        total += loss.apply(head.apply(x.narrow(0, from, n)), scored.targets().narrow(0, from, n));
      }
    }
    return total;
  }

}
