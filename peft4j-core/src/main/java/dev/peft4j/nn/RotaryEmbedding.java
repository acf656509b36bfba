package dev.peft4j.nn;

import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Tensor;

/**
 * Rotary position embeddings (Su et al. 2021) in Hugging Face's "rotate half" layout:
 * {@code x' = x cos(p θ) + rotate_half(x) sin(p θ)} with {@code rotate_half([a, b]) = [-b, a]}.
 * Computed as {@code x cos + roll(x) sin±} with {@code roll([a, b]) = [b, a]} and the sign of
 * rotate_half moved into the table, {@code sin± = [-sin, sin]}: the same products, exactly, in
 * three tensor operations (product, roll, {@code addcmul}) where rotate_half takes seven. The tables for every position up to the context length
 * are built once; the rows of a forward pass's positions are gathered once per pass ({@link #at}).
 */
public final class RotaryEmbedding {
  private final long maxPositions;
  private final Tensor cos;        // [maxPositions, headDim]
  private final Tensor signedSin;  // [maxPositions, headDim]: -sin in the first half, sin in the second

  /**
   * @param inverseFrequencies θ_i for i in [0, headDim/2), already adjusted for any scaling
   *     (see {@link RopeScaling})
   */
  public RotaryEmbedding(double[] inverseFrequencies, long maxPositions) {
    this.maxPositions = maxPositions;
    int half = inverseFrequencies.length;
    int dim = 2 * half;
    float[] cosTable = new float[Math.toIntExact(maxPositions * dim)];
    float[] sinTable = new float[cosTable.length];
    for (int p = 0; p < maxPositions; p++) {
      for (int i = 0; i < half; i++) {
        // HF computes the angle in float32: (float) p * (float) θ_i.
        float angle = (float) p * (float) inverseFrequencies[i];
        float c = (float) Math.cos(angle);
        float s = (float) Math.sin(angle);
        cosTable[p * dim + i] = c;
        cosTable[p * dim + i + half] = c;
        sinTable[p * dim + i] = -s;
        sinTable[p * dim + i + half] = s;
      }
    }
    this.cos = Tensor.of(cosTable, maxPositions, dim).retain();
    this.signedSin = Tensor.of(sinTable, maxPositions, dim).retain();
  }

  /**
   * The rotation of the positions {@code positionIds} [B, T] (int64) in {@code dtype}: cos and sin
   * gathered once per forward pass and applied to every layer's queries and keys.
   *
   * @throws IllegalArgumentException if a position is beyond the context length
   */
  public Rotation at(Tensor positionIds, DType dtype) {
    long maxPos = (long) positionIds.max().item();
    if (maxPos >= maxPositions) {
      throw new IllegalArgumentException("position " + maxPos
          + " is beyond the model's context length (max_position_embeddings = " + maxPositions + ")");
    }
    long b = positionIds.size(0);
    long t = positionIds.size(1);
    Tensor flat = positionIds.reshape(-1);
    return new Rotation(cos.indexSelect(0, flat).reshape(b, 1, t, -1).to(dtype),
        signedSin.indexSelect(0, flat).reshape(b, 1, t, -1).to(dtype));
  }

  /**
   * cos(p θ) and sin±(p θ) of the positions of one forward pass.
   *
   * @param cos [B, 1, T, D]
   * @param signedSin [B, 1, T, D], {@code [-sin, sin]}
   */
  public record Rotation(Tensor cos, Tensor signedSin) {
    /**
     * Rotates {@code x} [B, H, T, D]: {@code x cos + rotate_half(x) sin = x cos + roll(x) sin±},
     * the second product and the sum in one {@code addcmul}.
     */
    public Tensor apply(Tensor x) {
      return x.mul(cos).addcmul(x.roll(x.size(-1) / 2, -1), signedSin);
    }
  }
}
