package dev.peft4j.io.onnx;

import dev.peft4j.io.ModelFormatException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Sub-graph matchers over an {@link OnnxModel}: the building blocks BERT's graph is made of
 * (a linear layer, a LayerNorm, a chain of reshapes), each found by following data flow from
 * a known value. A failed match throws a {@link ModelFormatException} saying what was expected
 * where; {@code source} (the file) starts every message.
 */
final class GraphWalk {
  /** Ops that only rearrange or rescale a tensor on the way from a projection to attention. */
  private static final List<String> PASS_THROUGH =
      List.of("Reshape", "Transpose", "Identity", "Cast", "Unsqueeze", "Squeeze", "Mul", "Div");
  private static final int MAX_CHAIN = 16;

  private final OnnxModel g;
  private final String source;

  GraphWalk(OnnxModel g, String source) {
    this.g = g;
    this.source = source;
  }

  OnnxModel model() {
    return g;
  }

  ModelFormatException missing(String what) {
    return new ModelFormatException(source + " is not an ONNX export of a BERT encoder: " + what);
  }

  /**
   * {@code y = x·W + b}: a MatMul of {@code x} (left operand) by a constant matrix W [in, out],
   * followed by an Add of a constant vector b [out].
   *
   * @param weight name of W [in, out] (ONNX layout; Hugging Face stores the transpose)
   * @param output the value holding y
   */
  record Linear(String weight, String bias, String output, long in, long out) {}

  /** The linear layers fed by {@code x}, in file order. */
  List<Linear> linearsFrom(String x) throws ModelFormatException {
    List<Linear> out = new ArrayList<>();
    for (OnnxNode mm : g.consumers(x)) {
      if (!mm.is("MatMul") || !mm.input(0).equals(x)) {
        continue;
      }
      Optional<OnnxTensor> w = floatConstant(mm.input(1), 2);
      if (w.isEmpty()) {
        continue;
      }
      long inDim = w.get().dims()[0];
      long outDim = w.get().dims()[1];
      OnnxNode add = only(g.consumers(mm.output()), "the bias Add after " + mm);
      String bias = add.is("Add") ? add.otherInput(mm.output()) : "";
      Optional<OnnxTensor> b = floatConstant(bias, 1);
      if (b.isEmpty() || b.get().dims()[0] != outDim) {
        throw missing("the MatMul " + mm + " with weight " + describe(w.get())
            + " is not followed by an Add of a [" + outDim + "] bias vector");
      }
      out.add(new Linear(mm.input(1), bias, add.output(), inDim, outDim));
    }
    return out;
  }

  /** The one linear layer fed by {@code x}. */
  Linear linearFrom(String x, String what) throws ModelFormatException {
    List<Linear> found = linearsFrom(x);
    if (found.size() != 1) {
      throw missing("expected one " + what + " (MatMul by a constant matrix + Add) reading '" + x
          + "', found " + found.size());
    }
    return found.get(0);
  }

  /** A LayerNorm's affine parameters and epsilon, and the value holding its result. */
  record Norm(String weight, String bias, float eps, String output) {}

  /**
   * The LayerNorm applied to {@code x}: an ONNX {@code LayerNormalization} node, or the form
   * PyTorch exports before opset 17,
   * {@code (x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps) * weight + bias}.
   */
  Norm layerNorm(String x, String what) throws ModelFormatException {
    for (OnnxNode n : g.consumers(x)) {
      if (n.is("LayerNormalization") && n.input(0).equals(x)) {
        OnnxNode.Attribute eps = n.attributes().get("epsilon");
        return new Norm(n.input(1), n.input(2), eps == null ? 1e-5f : eps.f(), n.output());
      }
    }
    for (OnnxNode sub : g.consumers(x)) {
      if (!sub.is("Sub") || !sub.input(0).equals(x) || !producedBy(sub.input(1), "ReduceMean", x)) {
        continue;
      }
      String centred = sub.output();
      for (OnnxNode div : g.consumers(centred)) {
        if (div.is("Div") && div.input(0).equals(centred)) {
          float eps = epsilon(div.input(1), centred);
          OnnxNode mul = only(g.consumers(div.output()), "the LayerNorm weight Mul");
          String weight = mul.is("Mul") ? mul.otherInput(div.output()) : "";
          OnnxNode add = only(g.consumers(mul.output()), "the LayerNorm bias Add");
          String bias = add.is("Add") ? add.otherInput(mul.output()) : "";
          if (floatConstant(weight, 1).isEmpty() || floatConstant(bias, 1).isEmpty()) {
            throw missing(what + ": the normalised value '" + div.output()
                + "' is not followed by Mul(weight) and Add(bias) with constant vectors");
          }
          return new Norm(weight, bias, eps, add.output());
        }
      }
    }
    throw missing("no " + what + " (LayerNormalization, or ReduceMean/Sub/Pow/ReduceMean/Add/"
        + "Sqrt/Div/Mul/Add) reading '" + x + "'");
  }

  /** {@code sqrt(ReduceMean(Pow(centred, 2)) + eps)}: returns eps. */
  private float epsilon(String denominator, String centred) throws ModelFormatException {
    OnnxNode sqrt = g.producer(denominator).filter(n -> n.is("Sqrt")).orElse(null);
    OnnxNode add = sqrt == null ? null : g.producer(sqrt.input(0)).filter(n -> n.is("Add")).orElse(null);
    if (add != null) {
      for (int i = 0; i < 2; i++) {
        Optional<OnnxTensor> eps = g.constant(add.input(i));
        OnnxNode mean = g.producer(add.input(1 - i)).orElse(null);
        OnnxNode pow = mean == null || !mean.is("ReduceMean") ? null
            : g.producer(mean.input(0)).filter(n -> n.is("Pow") && n.input(0).equals(centred)).orElse(null);
        if (eps.isPresent() && pow != null) {
          return (float) eps.get().scalar();
        }
      }
    }
    throw missing("the LayerNorm denominator '" + denominator
        + "' is not sqrt(ReduceMean(Pow(x - mean, 2)) + epsilon)");
  }

  private boolean producedBy(String value, String op, String input) {
    return g.producer(value).filter(n -> n.is(op) && n.input(0).equals(input)).isPresent();
  }

  /** Where a chain of pass-through ops from {@code start} ends, and the Reshape shapes on it. */
  record Endpoint(OnnxNode node, int inputIndex, List<String> reshapeShapes) {}

  /**
   * Follows {@code start} forward through reshapes, transposes and constant scalings (ignoring
   * {@code Shape} readers) to the first node that is none of those, e.g. attention's MatMul.
   */
  Endpoint followToConsumer(String start) throws ModelFormatException {
    String value = start;
    List<String> shapes = new ArrayList<>();
    for (int step = 0; step < MAX_CHAIN; step++) {
      List<OnnxNode> readers = new ArrayList<>();
      for (OnnxNode n : g.consumers(value)) {
        if (!n.is("Shape")) {
          readers.add(n);
        }
      }
      OnnxNode next = only(readers, "the reader of '" + value + "'");
      boolean scaling = (next.is("Mul") || next.is("Div")) && next.input(0).equals(value)
          && g.constant(next.input(1)).isPresent();
      if (!PASS_THROUGH.contains(next.opType()) || (next.is("Mul") || next.is("Div")) && !scaling) {
        return new Endpoint(next, next.inputs().indexOf(value), shapes);
      }
      if (next.is("Reshape")) {
        shapes.add(next.input(1));
      }
      value = next.output();
    }
    throw missing("no MatMul within " + MAX_CHAIN + " reshapes of '" + start + "'");
  }

  /**
   * The integer vector a Reshape's shape input holds, where it is known: a constant, or a
   * Concat of one-element parts; an unknown (computed) part is -1.
   */
  long[] shapeVector(String value) throws ModelFormatException {
    Optional<OnnxTensor> c = g.constant(value);
    if (c.isPresent()) {
      return c.get().longs();
    }
    OnnxNode concat = g.producer(value).filter(n -> n.is("Concat")).orElse(null);
    if (concat == null) {
      return new long[0];
    }
    long[] out = new long[concat.inputs().size()];
    for (int i = 0; i < out.length; i++) {
      Optional<OnnxTensor> part = g.constant(concat.input(i));
      out[i] = part.isPresent() && part.get().numel() == 1 ? part.get().longs()[0] : -1;
    }
    return out;
  }

  /** A floating-point constant of the given rank, if {@code value} is one. */
  Optional<OnnxTensor> floatConstant(String value, int rank) {
    return value.isEmpty() ? Optional.empty()
        : g.constant(value).filter(t -> t.isFloatingPoint() && t.rank() == rank);
  }

  OnnxNode only(List<OnnxNode> nodes, String what) throws ModelFormatException {
    if (nodes.size() != 1) {
      throw missing("expected exactly one node as " + what + ", found " + nodes.size() + ": " + nodes);
    }
    return nodes.get(0);
  }

  static String describe(OnnxTensor t) {
    return "'" + t.name() + "' " + Arrays.toString(t.dims());
  }
}
