package dev.peft4j.train;

import dev.peft4j.nn.Module;
import dev.peft4j.nn.Parameter;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A multi-output linear regression {@code y = x Wᵀ + b + noise} from a seeded java.util.Random:
 * the model, a deterministic shuffled batch source and an objective (mean squared error, with
 * optional input dropout so that libtorch's RNG matters).
 */
final class ToyRegression {
  final int in;
  final int out;
  final int rows;
  final float[] x; // [rows, in]
  final float[] y; // [rows, out]

  ToyRegression(int in, int out, int rows, long seed) {
    this.in = in;
    this.out = out;
    this.rows = rows;
    Random r = new Random(seed);
    float[] w = new float[out * in];
    float[] b = new float[out];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) r.nextGaussian();
    }
    for (int i = 0; i < out; i++) {
      b[i] = (float) r.nextGaussian();
    }
    x = new float[rows * in];
    y = new float[rows * out];
    for (int n = 0; n < rows; n++) {
      for (int j = 0; j < in; j++) {
        x[n * in + j] = (float) r.nextGaussian();
      }
      for (int o = 0; o < out; o++) {
        double v = b[o] + 0.1 * r.nextGaussian();
        for (int j = 0; j < in; j++) {
          v += w[o * in + j] * x[n * in + j];
        }
        y[n * out + o] = (float) v;
      }
    }
  }

  /** Weight [out, in] and bias [out], trainable, plus a frozen "scale.weight". */
  static final class Model extends Module {
    final Parameter weight;
    final Parameter bias;
    final Parameter frozen;

    Model(int in, int out, DType dtype, long seed) {
      weight = parameter("weight", out, in);
      bias = parameter("bias", out);
      frozen = child("scale", new Leaf(out)).weight;
      Random r = new Random(seed);
      weight.set(Tensor.of(gaussian(r, out * in, 0.1), out, in).to(dtype));
      bias.set(Tensor.zeros(dtype, out));
      frozen.set(Tensor.ones(dtype, out));
      frozen.setTrainable(false);
    }
  }

  static final class Leaf extends Module {
    final Parameter weight;

    Leaf(int n) {
      weight = parameter("weight", n);
    }
  }

  Model newModel(DType dtype, long seed) {
    return new Model(in, out, dtype, seed);
  }

  /** A batch of {@code n} rows. */
  record Batch(Tensor x, Tensor y, int n) {}

  /**
   * Batches of {@code batchSize} rows; each epoch visits the rows in an order shuffled by a
   * Random seeded with the epoch.
   */
  BatchSource<Batch> source(int batchSize, DType dtype) {
    if (rows % batchSize != 0) {
      throw new IllegalArgumentException("rows must be a multiple of batchSize");
    }
    return new BatchSource<>() {
      @Override
      public int batchesPerEpoch() {
        return rows / batchSize;
      }

      @Override
      public Batch batch(int epoch, int index) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < rows; i++) {
          order.add(i);
        }
        Collections.shuffle(order, new Random(1000 + epoch));
        float[] bx = new float[batchSize * in];
        float[] by = new float[batchSize * out];
        for (int k = 0; k < batchSize; k++) {
          int row = order.get(index * batchSize + k);
          System.arraycopy(x, row * in, bx, k * in, in);
          System.arraycopy(y, row * out, by, k * out, out);
        }
        return new Batch(Tensor.of(bx, batchSize, in).to(dtype), Tensor.of(by, batchSize, out).to(dtype), batchSize);
      }
    };
  }

  /** Mean squared error over all outputs; input dropout with probability {@code dropout}. */
  static TrainingObjective<Batch> objective(Model model, double dropout) {
    return new TrainingObjective<>() {
      @Override
      public Map<String, Parameter> trainableParameters() {
        return model.namedParameters();
      }

      @Override
      public Tensor loss(Batch b) {
        Tensor x = Functional.dropout(b.x(), dropout, true);
        return Functional.linear(x, model.weight.value(), model.bias.value()).sub(b.y()).pow(2).mean();
      }

      @Override
      public EvalStats evaluate(Batch b) {
        Tensor err = Functional.linear(b.x(), model.weight.value(), model.bias.value()).sub(b.y());
        return EvalStats.of(err.pow(2).sum().item() / err.size(1), b.n());
      }

      @Override
      public long tokens(Batch b) {
        return b.n();
      }
    };
  }

  static float[] gaussian(Random r, int n, double std) {
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = (float) (r.nextGaussian() * std);
    }
    return out;
  }
}
