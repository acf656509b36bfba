package dev.peft4j.peft.bottleneck;

import dev.peft4j.nn.Parameter;
import dev.peft4j.testing.reference.RefMath;
import java.util.Map;

/**
 * One attached adapter evaluated independently, in double, from its parameters: the paper's
 * equation written out in loops (no peft4j code but the parameter values).
 */
final class ReferenceAdapter {
  private final float[] downW; // [H·m, d]
  private final float[] downB; // [H·m]
  private final float[] upW;   // [d, m] or [H, d_h, m]
  private final float[] upB;   // [d] or [H, d_h]
  private final int d;
  private final int m;
  private final int heads;
  private final int headOut;
  private final double s;
  private final String f;
  private final boolean sequential;

  /**
   * @param path the adapter's module path, e.g. {@code model.layers.0.ffn_adapter}
   * @param heads 1, or the number of heads of a multi-head adapter
   */
  ReferenceAdapter(Map<String, Parameter> params, String path, BottleneckSpec spec, int heads) {
    downW = Fixtures.values(params.get(path + ".down.weight"));
    downB = Fixtures.values(params.get(path + ".down.bias"));
    upW = Fixtures.values(params.get(path + ".up.weight"));
    upB = Fixtures.values(params.get(path + ".up.bias"));
    this.heads = heads;
    m = downB.length / heads;
    d = downW.length / downB.length;
    headOut = upB.length / heads;
    Parameter learned = params.get(path + ".scaling");
    s = learned != null ? Fixtures.values(learned)[0] : spec.scaling();
    f = spec.nonLinearity().name().toLowerCase();
    sequential = spec.insertion() == BottleneckSpec.Insertion.SEQUENTIAL;
  }

  /** h + s·(f(in W_downᵀ + b_down) W_upᵀ + b_up), in = h (sequential) or x (parallel). */
  float[] apply(float[] x, float[] h) {
    float[] delta = delta(sequential ? h : x);
    float[] out = new float[h.length];
    for (int i = 0; i < h.length; i++) {
      out[i] = (float) (h[i] + (double) delta[i]);
    }
    return out;
  }

  /** s·(f(in W_downᵀ + b_down) W_upᵀ + b_up), per head for a multi-head adapter: [H·d_h]. */
  float[] delta(float[] in) {
    double[] z = new double[heads * m];
    for (int j = 0; j < z.length; j++) {
      double acc = downB[j];
      for (int i = 0; i < d; i++) {
        acc += (double) downW[j * d + i] * in[i];
      }
      z[j] = f.equals("tanh") ? Math.tanh(acc) : RefMath.activation(f, acc);
    }
    float[] out = new float[heads * headOut];
    for (int hd = 0; hd < heads; hd++) {
      for (int o = 0; o < headOut; o++) {
        double acc = upB[hd * headOut + o];
        for (int j = 0; j < m; j++) {
          acc += (double) upW[(hd * headOut + o) * m + j] * z[hd * m + j];
        }
        out[hd * headOut + o] = (float) (s * acc);
      }
    }
    return out;
  }
}
