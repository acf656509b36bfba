package dev.peft4j.testing.reference;

import java.util.Map;

/**
 * Plain-loop kernels shared by the reference models. Vectors are {@code float[]} (like a
 * float32 tensor); every reduction accumulates in {@code double}. Matrices are row-major.
 */
public final class RefMath {
  private RefMath() {}

  /** Which keys a query may attend to (the boolean mask of transformers' masking_utils). */
  public interface Mask {
    boolean visible(int query, int key);
  }

  /** Causal mask, {@code causal_mask_function}: kv_idx <= q_idx. */
  public static final Mask CAUSAL = (q, k) -> k <= q;

  /** No mask: BERT's bidirectional self-attention over an unpadded sequence. */
  public static final Mask FULL = (q, k) -> true;

  /** Returns the named tensor or fails with a readable message. */
  public static float[] require(Map<String, float[]> weights, String name, long expectedLength) {
    float[] w = weights.get(name);
    if (w == null) {
      throw new IllegalArgumentException("missing weight " + name);
    }
    if (w.length != expectedLength) {
      throw new IllegalArgumentException(
          "weight " + name + " has " + w.length + " elements, expected " + expectedLength);
    }
    return w;
  }

  /** nn.Embedding lookup: row {@code id} of a [rows, dim] table. */
  public static float[] embedding(float[] table, int dim, int id) {
    int rows = table.length / dim;
    if (id < 0 || id >= rows) {
      throw new IndexOutOfBoundsException("token id " + id + " outside [0, " + rows + ")");
    }
    float[] out = new float[dim];
    System.arraycopy(table, id * dim, out, 0, dim);
    return out;
  }

  /** nn.Linear: y = x W^T + b with W in torch layout [out, in]; {@code b} may be null. */
  public static float[] linear(float[] x, float[] w, float[] b, int out) {
    int in = x.length;
    if (w.length != (long) out * in) {
      throw new IllegalArgumentException("linear weight size " + w.length + " != " + out + "x" + in);
    }
    float[] y = new float[out];
    for (int o = 0; o < out; o++) {
      double s = b == null ? 0.0 : b[o];
      int row = o * in;
      for (int i = 0; i < in; i++) {
        s += (double) w[row + i] * x[i];
      }
      y[o] = (float) s;
    }
    return y;
  }

  /** GPT-2's Conv1D (transformers pytorch_utils.Conv1D): y = x W + b with W laid out [in, out]. */
  public static float[] conv1d(float[] x, float[] w, float[] b, int out) {
    int in = x.length;
    if (w.length != (long) out * in) {
      throw new IllegalArgumentException("conv1d weight size " + w.length + " != " + in + "x" + out);
    }
    float[] y = new float[out];
    for (int o = 0; o < out; o++) {
      double s = b == null ? 0.0 : b[o];
      for (int i = 0; i < in; i++) {
        s += (double) x[i] * w[i * out + o];
      }
      y[o] = (float) s;
    }
    return y;
  }

  /** torch.nn.LayerNorm over the last dim (biased variance). */
  public static float[] layerNorm(float[] x, float[] weight, float[] bias, double eps) {
    int n = x.length;
    double mean = 0;
    for (float v : x) {
      mean += v;
    }
    mean /= n;
    double var = 0;
    for (float v : x) {
      var += (v - mean) * (v - mean);
    }
    var /= n;
    double inv = 1.0 / Math.sqrt(var + eps);
    float[] y = new float[n];
    for (int i = 0; i < n; i++) {
      y[i] = (float) ((x[i] - mean) * inv * weight[i] + bias[i]);
    }
    return y;
  }

  /** LlamaRMSNorm.forward: weight * x * rsqrt(mean(x^2) + eps). */
  public static float[] rmsNorm(float[] x, float[] weight, double eps) {
    double ms = 0;
    for (float v : x) {
      ms += (double) v * v;
    }
    ms /= x.length;
    double inv = 1.0 / Math.sqrt(ms + eps);
    float[] y = new float[x.length];
    for (int i = 0; i < x.length; i++) {
      y[i] = (float) (weight[i] * (x[i] * inv));
    }
    return y;
  }

  /** Elementwise a + b into a new array (residual connections). */
  public static float[] add(float[] a, float[] b) {
    float[] y = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      y[i] = (float) ((double) a[i] + b[i]);
    }
    return y;
  }

  /**
   * eager_attention_forward / GPT2Attention._attn / BertSelfAttention for one sequence:
   * softmax(q k^T * scale + mask) v per head, computed in double. Query head {@code h} reads
   * key/value head {@code h / (heads / kvHeads)}, which is what repeat_kv does for GQA.
   *
   * @param q [T][heads*headDim], k and v [S][kvHeads*headDim]
   * @return [T][heads*headDim], heads concatenated in order
   */
  public static float[][] attention(float[][] q, float[][] k, float[][] v, int heads,
      int kvHeads, int headDim, double scale, Mask mask) {
    if (heads % kvHeads != 0) {
      throw new IllegalArgumentException(heads + " heads not divisible by " + kvHeads + " kv heads");
    }
    int group = heads / kvHeads;
    float[][] out = new float[q.length][heads * headDim];
    double[] p = new double[k.length];
    for (int h = 0; h < heads; h++) {
      int qo = h * headDim;
      int ko = (h / group) * headDim;
      for (int i = 0; i < q.length; i++) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < k.length; j++) {
          if (!mask.visible(i, j)) {
            p[j] = Double.NEGATIVE_INFINITY;
            continue;
          }
          double s = 0;
          for (int d = 0; d < headDim; d++) {
            s += (double) q[i][qo + d] * k[j][ko + d];
          }
          p[j] = s * scale;
          max = Math.max(max, p[j]);
        }
        double sum = 0;
        for (int j = 0; j < k.length; j++) {
          p[j] = p[j] == Double.NEGATIVE_INFINITY ? 0.0 : Math.exp(p[j] - max);
          sum += p[j];
        }
        for (int d = 0; d < headDim; d++) {
          double acc = 0;
          for (int j = 0; j < k.length; j++) {
            acc += p[j] * v[j][ko + d];
          }
          out[i][qo + d] = (float) (acc / sum);
        }
      }
    }
    return out;
  }

  /** transformers.activations.ACT2FN for the names these architectures use. */
  public static double activation(String name, double x) {
    if (name.equals("gelu")) {
      return geluExact(x);
    } else if (name.equals("gelu_new") || name.equals("gelu_pytorch_tanh")) {
      return geluTanh(x);
    } else if (name.equals("silu") || name.equals("swish")) {
      return silu(x);
    } else if (name.equals("relu")) {
      return Math.max(0.0, x);
    }
    throw new UnsupportedOperationException("activation " + name);
  }

  /** GELUActivation: x/2 * (1 + erf(x / sqrt 2)). */
  public static double geluExact(double x) {
    return 0.5 * x * (1.0 + erf(x / Math.sqrt(2.0)));
  }

  /** NewGELUActivation: x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))). */
  public static double geluTanh(double x) {
    return 0.5 * x * (1.0 + Math.tanh(Math.sqrt(2.0 / Math.PI) * (x + 0.044715 * x * x * x)));
  }

  /** SiLU: x * sigmoid(x). */
  public static double silu(double x) {
    return x / (1.0 + Math.exp(-x));
  }

  /**
   * Error function to ~1e-15. For |x| < 6 it sums the everywhere-convergent series
   * erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n 2^n x^(2n+1) / (1*3*...*(2n+1)), whose terms are all
   * positive (no cancellation); beyond 6, erfc(x) < 3e-17 so erf is +-1 in double.
   */
  public static double erf(double x) {
    if (Double.isNaN(x)) {
      return x;
    }
    double ax = Math.abs(x);
    if (ax >= 6.0) {
      return Math.signum(x);
    }
    double x2 = ax * ax;
    double term = ax;
    double sum = ax;
    for (int n = 1; n < 500; n++) {
      term *= 2.0 * x2 / (2 * n + 1);
      sum += term;
      if (term < sum * 1e-17) {
        break;
      }
    }
    double r = 2.0 / Math.sqrt(Math.PI) * Math.exp(-x2) * sum;
    return x < 0 ? -r : r;
  }
}
