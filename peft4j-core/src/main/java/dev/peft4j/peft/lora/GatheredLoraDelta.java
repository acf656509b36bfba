package dev.peft4j.peft.lora;

import dev.peft4j.nn.Module;
import dev.peft4j.nn.OutputDelta;
import dev.peft4j.tensor.Tensor;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The LoRA updates of every row of a mixed batch at one projection, in two gathered batched
 * matmuls instead of one pass per adapter (the BGMV kernel of Punica, Chen et al. 2023):
 *
 * <pre>  Δh_b = s_b · (x_b A_bᵀ) B_bᵀ,   A_b [r, in] and B_b [out, r] of row b's adapter</pre>
 *
 * Each row's A and B are stacked into [B, r, in] and [B, out, r] (references to the adapters'
 * parameters, so gradients reach them). Rows whose adapter does not adapt this projection get zero
 * matrices; adapters of a smaller rank are padded with zeros to the largest rank, which adds
 * nothing. Rows share one dropout draw of x (every adapter in the batch has the same p). On an
 * embedding, {@code x_b A_bᵀ} is the columns of A_b that row b's token ids pick.
 */
final class GatheredLoraDelta extends Module implements OutputDelta {
  private final LoraDelta[] rowDeltas; // per row; null where the row's adapter does not adapt this projection
  private final Tensor rowScale; // [B, 1, 1]: each row's α/r
  private final Tensor zeroA; // [r, in]
  private final Tensor zeroB; // [out, r]
  private final int rank; // the largest rank among the rows
  private final LoraDelta any;

  /** @param rowDeltas one entry per batch row, null for rows without LoRA here; at least one non-null */
  GatheredLoraDelta(List<LoraDelta> rowDeltas) {
    this.rowDeltas = rowDeltas.toArray(new LoraDelta[0]);
    this.any = rowDeltas.stream().filter(d -> d != null).findFirst().orElseThrow();
    this.rank = rowDeltas.stream().filter(d -> d != null).mapToInt(LoraDelta::rank).max().orElseThrow();
    var dtype = any.loraA().value().dtype();
    float[] scales = new float[this.rowDeltas.length];
    for (int row = 0; row < scales.length; row++) {
      scales[row] = this.rowDeltas[row] == null ? 0f : (float) this.rowDeltas[row].scaling();
    }
    this.rowScale = Tensor.of(scales, scales.length, 1, 1).to(dtype).retain();
    this.zeroA = Tensor.zeros(dtype, rank, any.host().inFeatures()).retain();
    this.zeroB = Tensor.zeros(dtype, any.host().outFeatures(), rank).retain();
  }

  @Override
  public boolean active() {
    return true;
  }

  /**
   * @param x [B, ..., in] with B the mixed batch's rows
   * @return [B, ..., out]
   */
  @Override
  public Tensor apply(Tensor x) {
    long batch = x.size(0);
    if (batch != rowDeltas.length) {
      throw new IllegalArgumentException("the mixed batch names " + rowDeltas.length + " rows but the input has " + batch);
    }
    Map<LoraDelta, Tensor[]> padded = new IdentityHashMap<>();
    Tensor[] a = new Tensor[rowDeltas.length];
    Tensor[] b = new Tensor[rowDeltas.length];
    for (int row = 0; row < rowDeltas.length; row++) {
      Tensor[] ab = rowDeltas[row] == null ? new Tensor[] {zeroA, zeroB} : padded.computeIfAbsent(rowDeltas[row], this::padToRank);
      a[row] = ab[0];
      b[row] = ab[1];
    }
    Tensor stackedA = Tensor.stack(0, a); // [B, r, in]
    Tensor down = (any.host().takesIds() ? lookUp(x, stackedA) : project(x, stackedA)).mul(rowScale); // [B, T, r]
    Tensor up = down.matmul(Tensor.stack(0, b).transpose(1, 2));                                      // [B, T, out]
    long[] shape = any.host().takesIds() ? Arrays.copyOf(x.shape(), x.dim() + 1) : x.shape();
    shape[shape.length - 1] = up.size(-1);
    return up.reshape(shape).to(any.outputDType(x));
  }

  /** Each row's features through its own A: [B, T, r] for x [B, ..., in]. */
  private Tensor project(Tensor x, Tensor stackedA) {
    return any.dropped(x).reshape(x.size(0), -1, x.size(-1)).matmul(stackedA.transpose(1, 2));
  }

  /** The columns of each row's A picked by that row's token ids: [B, T, r] for ids [B, ...]. */
  private Tensor lookUp(Tensor ids, Tensor stackedA) {
    long batch = ids.size(0);
    Tensor index = ids.reshape(batch, -1, 1);
    return stackedA.transpose(1, 2).gather(1, index.expand(batch, index.size(1), rank));
  }

  /** {A, B} of {@code d}, zero-padded to {@link #rank}. */
  private Tensor[] padToRank(LoraDelta d) {
    Tensor a = d.loraA().value();
    Tensor b = d.loraB().value();
    int missing = rank - d.rank();
    if (missing == 0) {
      return new Tensor[] {a, b};
    }
    return new Tensor[] {Tensor.cat(0, a, zeroA.narrow(0, 0, missing)), Tensor.cat(1, b, zeroB.narrow(1, 0, missing))};
  }

  /** Frees the constant tensors. */
  void release() {
    rowScale.close();
    zeroA.close();
    zeroB.close();
  }
}
