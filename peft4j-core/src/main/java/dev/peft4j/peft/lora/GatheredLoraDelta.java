package dev.peft4j.peft.lora;

import dev.peft4j.nn.Module;
import dev.peft4j.nn.OutputDelta;
import dev.peft4j.tensor.Functional;
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
 *
 * <p>A decoding step (one token per row) takes another form of the same sum, without batched
 * matmuls, whose fixed cost dominates at one token: the distinct adapters' matrices side by side,
 * A = [A_1; …; A_n] [Σr, in] and B = [B_1 … B_n] [out, Σr], and a per-row scale that keeps only the
 * row's own adapter's columns, {@code Δh = ((x Aᵀ) ⊙ S) Bᵀ} with S_b = s_b on row b's block and 0
 * elsewhere. Measured per 512×512 projection, 8 rows of 4 adapters of rank 8, one token: 13–20 µs
 * against 70–98 µs for the batched matmuls (a single LoRA: 12–17 µs; docs/PERFORMANCE.md §19).
 * It multiplies by every adapter's A, so with many tokens per row the batched form is kept.
 */
final class GatheredLoraDelta extends Module implements OutputDelta {
  private final LoraDelta[] rowDeltas; // per row; null where the row's adapter does not adapt this projection
  private final int rank; // the largest rank among the rows
  private final LoraDelta any;
  private final List<LoraDelta> distinct; // the adapters' deltas here, in the order of their columns
  private final Tensor columnScale; // [B, Σr]: row b's α/r on its adapter's rank columns, 0 elsewhere
  private Stacking stacking; // the batched form's constants, made when it first runs (decoding steps never do)

  /** What the batched form pads with and scales by: rowScale [B, 1, 1] each row's α/r, zeroA [r, in], zeroB [out, r]. */
  private record Stacking(Tensor rowScale, Tensor zeroA, Tensor zeroB) {
    void close() {
      rowScale.close();
      zeroA.close();
      zeroB.close();
    }
  }

  /** @param rowDeltas one entry per batch row, null for rows without LoRA here; at least one non-null */
  GatheredLoraDelta(List<LoraDelta> rowDeltas) {
    this.rowDeltas = rowDeltas.toArray(new LoraDelta[0]);
    this.any = rowDeltas.stream().filter(d -> d != null).findFirst().orElseThrow();
    this.rank = rowDeltas.stream().filter(d -> d != null).mapToInt(LoraDelta::rank).max().orElseThrow();
    this.distinct = rowDeltas.stream().filter(d -> d != null).distinct().toList();
    this.columnScale = columnScale(this.rowDeltas, distinct).to(any.loraA().value().dtype()).retain();
  }

  private Stacking stacking() {
    if (stacking == null) {
      var dtype = any.loraA().value().dtype();
      float[] scales = new float[rowDeltas.length];
      for (int row = 0; row < scales.length; row++) {
        scales[row] = rowDeltas[row] == null ? 0f : (float) rowDeltas[row].scaling();
      }
      stacking = new Stacking(Tensor.of(scales, scales.length, 1, 1).to(dtype).retain(),
          Tensor.zeros(dtype, rank, any.host().inFeatures()).retain(),
          Tensor.zeros(dtype, any.host().outFeatures(), rank).retain());
    }
    return stacking;
  }

  /** S [B, Σr]: for each row, its adapter's α/r on that adapter's columns of the side-by-side matrices. */
  private static Tensor columnScale(LoraDelta[] rowDeltas, List<LoraDelta> distinct) {
    int[] offset = new int[distinct.size() + 1];
    for (int i = 0; i < distinct.size(); i++) {
      offset[i + 1] = offset[i] + distinct.get(i).rank();
    }
    int columns = offset[distinct.size()];
    float[] scale = new float[rowDeltas.length * columns];
    for (int row = 0; row < rowDeltas.length; row++) {
      if (rowDeltas[row] != null) {
        int i = distinct.indexOf(rowDeltas[row]);
        Arrays.fill(scale, row * columns + offset[i], row * columns + offset[i + 1], (float) rowDeltas[row].scaling());
      }
    }
    return Tensor.of(scale, rowDeltas.length, columns);
  }

  @Override
  public boolean active() {
    return true;
  }

  /** The output plus {@link #apply}'s change. */
  @Override
  public Tensor applyTo(Tensor output, Tensor input) {
    return output.add(apply(input));
  }

  /**
   * @param x [B, ..., in] with B the mixed batch's rows
   * @return [B, ..., out]
   */
  public Tensor apply(Tensor x) {
    long batch = x.size(0);
    if (batch != rowDeltas.length) {
      throw new IllegalArgumentException("the mixed batch names " + rowDeltas.length + " rows but the input has " + batch);
    }
    if (x.numel() / (any.host().takesIds() ? 1 : x.size(-1)) == batch) {
      return sideBySide(x);
    }
    Stacking k = stacking();
    Map<LoraDelta, Tensor[]> padded = new IdentityHashMap<>();
    Tensor[] a = new Tensor[rowDeltas.length];
    Tensor[] b = new Tensor[rowDeltas.length];
    for (int row = 0; row < rowDeltas.length; row++) {
      Tensor[] ab = rowDeltas[row] == null ? new Tensor[] {k.zeroA(), k.zeroB()}
          : padded.computeIfAbsent(rowDeltas[row], d -> padToRank(d, k));
      a[row] = ab[0];
      b[row] = ab[1];
    }
    Tensor stackedA = Tensor.stack(0, a); // [B, r, in]
    Tensor down = (any.host().takesIds() ? lookUp(x, stackedA) : project(x, stackedA)).mul(k.rowScale()); // [B, T, r]
    Tensor up = down.matmul(Tensor.stack(0, b).transpose(1, 2));                                      // [B, T, out]
    long[] shape = any.host().takesIds() ? Arrays.copyOf(x.shape(), x.dim() + 1) : x.shape();
    shape[shape.length - 1] = up.size(-1);
    return up.reshape(shape).to(any.outputDType(x));
  }

  /** One token per row: {@code ((x Aᵀ) ⊙ S) Bᵀ} with the adapters' matrices side by side (see the class comment). */
  private Tensor sideBySide(Tensor x) {
    Tensor a = Tensor.cat(0, distinct.stream().map(d -> d.loraA().value()).toArray(Tensor[]::new)); // [Σr, in]
    Tensor b = Tensor.cat(1, distinct.stream().map(d -> d.loraB().value()).toArray(Tensor[]::new)); // [out, Σr]
    Tensor down = any.host().mapInput(any.dropped(x), a); // [B, ..., Σr]
    long[] scaleShape = new long[down.dim()];
    Arrays.fill(scaleShape, 1);
    scaleShape[0] = x.size(0);
    scaleShape[scaleShape.length - 1] = columnScale.size(1);
    return Functional.linear(down.mul(columnScale.view(scaleShape)), b, null).to(any.outputDType(x));
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
  private Tensor[] padToRank(LoraDelta d, Stacking k) {
    Tensor a = d.loraA().value();
    Tensor b = d.loraB().value();
    int missing = rank - d.rank();
    if (missing == 0) {
      return new Tensor[] {a, b};
    }
    return new Tensor[] {Tensor.cat(0, a, k.zeroA().narrow(0, 0, missing)), Tensor.cat(1, b, k.zeroB().narrow(1, 0, missing))};
  }

  /** Frees the constant tensors. */
  void release() {
    columnScale.close();
    if (stacking != null) {
      stacking.close();
    }
  }
}
