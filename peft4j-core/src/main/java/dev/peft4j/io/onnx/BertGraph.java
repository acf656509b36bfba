package dev.peft4j.io.onnx;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.onnx.GraphWalk.Endpoint;
import dev.peft4j.io.onnx.GraphWalk.Linear;
import dev.peft4j.io.onnx.GraphWalk.Norm;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Finds BERT's parameters in an ONNX graph by following its data flow from the
 * {@code input_ids} input: the embedding Gathers and their sum, the embedding LayerNorm, then
 * layer after layer the three attention projections (told apart by where they meet: query and
 * key in the score MatMul, whose key side is transposed, value in the MatMul after the
 * Softmax), the attention output projection and its residual LayerNorm, the feed-forward pair
 * around the activation and the final LayerNorm. Initializer names are never interpreted.
 */
final class BertGraph {
  /** Where a Hugging Face parameter comes from: a constant, transposed if it is a MatMul weight. */
  record Source(String value, boolean transpose) {}

  private final GraphWalk walk;
  private final OnnxModel g;
  private final Map<String, Source> sources = new LinkedHashMap<>();
  private final List<Float> epsilons = new ArrayList<>();
  private final List<String> activations = new ArrayList<>();
  private final List<Long> headCounts = new ArrayList<>();
  private long hidden;
  private long intermediate;
  private int layers;

  private BertGraph(OnnxModel g, String source) {
    this.g = g;
    this.walk = new GraphWalk(g, source);
  }

  /** Traces {@code g}; {@code source} names the file in error messages. */
  static BertGraph trace(OnnxModel g, String source) throws ModelFormatException {
    BertGraph b = new BertGraph(g, source);
    String h = b.embeddings();
    for (String next = b.layer(h); next != null; next = b.layer(h)) {
      h = next;
    }
    if (b.layers == 0) {
      throw b.walk.missing("no encoder layer (three MatMul projections) reads the embedding LayerNorm output '"
          + h + "'");
    }
    b.checkConsistent();
    return b;
  }

  /** Hugging Face parameter name → its constant in the graph, in checkpoint order. */
  Map<String, Source> sources() {
    return sources;
  }

  int numLayers() {
    return layers;
  }

  long hiddenSize() {
    return hidden;
  }

  long intermediateSize() {
    return intermediate;
  }

  long numHeads() {
    return headCounts.get(0);
  }

  float layerNormEps() {
    return epsilons.get(0);
  }

  String activation() {
    return activations.get(0);
  }

  long rows(String hfName) throws ModelFormatException {
    return g.constant(sources.get(hfName).value()).orElseThrow().dims()[0];
  }

  // ------------------------------------------------------------------ embeddings

  /** Maps the embeddings; returns the value holding their LayerNorm output. */
  private String embeddings() throws ModelFormatException {
    String ids = requireInput("input_ids");
    OnnxNode word = embeddingGather(ids).orElseThrow(() -> walk.missing(
        "no Gather of an embedding matrix by the input 'input_ids' (word embeddings)"));
    hidden = g.constant(word.input(0)).orElseThrow().dims()[1];
    put("embeddings.word_embeddings.weight", word.input(0), false);
    String sum = word.output();
    String tokenType = null;
    String position = null;
    while (true) {
      OnnxNode add = single(g.consumers(sum), "Add");
      OnnxNode gather = add == null ? null : g.producer(add.otherInput(sum)).orElse(null);
      if (gather == null || !gather.is("Gather") || walk.floatConstant(gather.input(0), 2).isEmpty()) {
        break;
      }
      if (g.isInput(gather.input(1)) && gather.input(1).equals("token_type_ids")) {
        tokenType = checkUnique(tokenType, gather.input(0), "token type");
      } else if (!gather.input(1).equals(ids)) {
        position = checkUnique(position, gather.input(0), "position");
      }
      sum = add.output();
    }
    if (tokenType == null) {
      throw walk.missing("no token type embeddings (a Gather by the input 'token_type_ids' added to the word embeddings)");
    }
    if (position == null) {
      throw walk.missing("no position embeddings (a Gather by position ids added to the word embeddings)");
    }
    put("embeddings.position_embeddings.weight", position, false);
    put("embeddings.token_type_embeddings.weight", tokenType, false);
    return norm("embeddings.LayerNorm", sum, "embedding LayerNorm");
  }

  private Optional<OnnxNode> embeddingGather(String indices) {
    return g.consumers(indices).stream()
        .filter(n -> n.is("Gather") && n.input(1).equals(indices)
            && walk.floatConstant(n.input(0), 2).isPresent())
        .findFirst();
  }

  private String checkUnique(String previous, String value, String what) throws ModelFormatException {
    if (previous != null) {
      throw walk.missing("two " + what + " embedding Gathers ('" + previous + "', '" + value + "')");
    }
    return value;
  }

  private String requireInput(String name) throws ModelFormatException {
    if (!g.isInput(name)) {
      throw walk.missing("no graph input '" + name + "' (inputs: " + g.inputs() + ")");
    }
    return name;
  }

  // ------------------------------------------------------------------ layers

  /**
   * Maps the encoder layer reading {@code h} and returns its output, or null if {@code h} feeds
   * no layer (no three projections).
   */
  private String layer(String h) throws ModelFormatException {
    List<Linear> projections = walk.linearsFrom(h);
    if (projections.size() != 3) {
      if (layers == 0 && !projections.isEmpty()) {
        throw walk.missing("expected 3 attention projections (query, key, value) reading '" + h
            + "', found " + projections.size());
      }
      return null;
    }
    String p = "encoder.layer." + layers + ".";
    Endpoint context = attention(p + "attention.self.", h, projections);
    Linear dense = attentionOutput(context, p);
    String h1 = residualNorm(dense, h, p + "attention.output.LayerNorm");
    Linear up = walk.linearFrom(h1, "intermediate projection of layer " + layers);
    linear(p + "intermediate.dense", up);
    intermediate = up.out();
    Linear down = activationAndDown(up, p);
    String out = residualNorm(down, h1, p + "output.LayerNorm");
    layers++;
    return out;
  }

  /**
   * Tells query, key and value apart: query and key meet in the score MatMul (query on the
   * left, key on the right, transposed), whose result goes through scaling, mask and Softmax
   * into the context MatMul; value is that MatMul's right operand. Returns the context MatMul.
   */
  private Endpoint attention(String prefix, String h, List<Linear> qkv) throws ModelFormatException {
    Map<Linear, Endpoint> ends = new LinkedHashMap<>();
    List<Linear> values = new ArrayList<>();
    for (Linear l : qkv) {
      Endpoint e = walk.followToConsumer(l.output());
      if (!e.node().is("MatMul")) {
        throw walk.missing("the projection '" + l.output() + "' of '" + h + "' reaches " + e.node()
            + ", not an attention MatMul");
      }
      headCount(e);
      ends.put(l, e);
      if (e.inputIndex() == 1 && g.producer(e.node().input(0)).filter(n -> n.is("Softmax")).isPresent()) {
        values.add(l);
      }
    }
    Linear value = values.size() == 1 ? values.get(0) : null;
    Linear query = null;
    Linear key = null;
    for (Linear l : qkv) {
      if (l != value && ends.get(l).inputIndex() == 0) {
        query = l;
      } else if (l != value) {
        key = l;
      }
    }
    String notAttention = "the three projections of '" + h + "' do not form attention "
        + "(query × keyᵀ → scale, mask, Softmax → × value)";
    if (value == null || query == null || key == null) {
      throw walk.missing(notAttention);
    }
    OnnxNode scores = ends.get(query).node();
    Endpoint context = ends.get(value);
    if (ends.get(key).node() != scores || !reachesSoftmax(scores.output(), context.node().input(0))) {
      throw walk.missing(notAttention);
    }
    scaleHeads(scores.output());
    linear(prefix + "query", query);
    linear(prefix + "key", key);
    linear(prefix + "value", value);
    return context;
  }

  /** Whether {@code softmax} is computed from {@code scores} by a short chain of elementwise ops. */
  private boolean reachesSoftmax(String scores, String softmax) {
    String v = scores;
    for (int step = 0; step < 8; step++) {
      List<OnnxNode> readers = g.consumers(v);
      if (readers.size() != 1) {
        return false;
      }
      v = readers.get(0).output();
      if (v.equals(softmax)) {
        return readers.get(0).is("Softmax");
      }
    }
    return false;
  }

  /** Heads from a Reshape to [batch, length, heads, headDim] on a projection's way to attention. */
  private void headCount(Endpoint e) throws ModelFormatException {
    for (String shapeValue : e.reshapeShapes()) {
      long[] shape = walk.shapeVector(shapeValue);
      if (shape.length == 4 && shape[2] > 0) {
        headCounts.add(shape[2]);
      } else if (shape.length == 4 && shape[3] > 0 && hidden % shape[3] == 0) {
        headCounts.add(hidden / shape[3]);
      }
    }
  }

  /** Heads from the score scaling {@code / sqrt(headDim)} (or {@code * 1/sqrt(headDim)}). */
  private void scaleHeads(String scores) throws ModelFormatException {
    OnnxNode n = single(g.consumers(scores), "Div");
    OnnxNode m = single(g.consumers(scores), "Mul");
    double scale;
    if (n != null && g.constant(n.input(1)).isPresent()) {
      scale = g.constant(n.input(1)).get().scalar();
    } else if (m != null && g.constant(m.otherInput(scores)).isPresent()) {
      scale = 1 / g.constant(m.otherInput(scores)).get().scalar();
    } else {
      return;
    }
    long headDim = Math.round(scale * scale);
    if (headDim > 0 && hidden % headDim == 0) {
      headCounts.add(hidden / headDim);
    }
  }

  /** From the context MatMul through the head merge to {@code attention.output.dense}. */
  private Linear attentionOutput(Endpoint context, String prefix) throws ModelFormatException {
    Endpoint merged = walk.followToConsumer(context.node().output());
    String input = merged.node().input(merged.inputIndex());
    Linear dense = walk.linearFrom(input, "attention output projection of " + prefix);
    linear(prefix + "attention.output.dense", dense);
    return dense;
  }

  /** {@code LayerNorm(residual + y)}; returns its output. */
  private String residualNorm(Linear y, String residual, String name) throws ModelFormatException {
    OnnxNode add = single(g.consumers(y.output()), "Add");
    if (add == null || !add.otherInput(y.output()).equals(residual)) {
      throw walk.missing("'" + y.output() + "' is not added to the residual '" + residual + "' before " + name);
    }
    return norm(name, add.output(), name);
  }

  /** Identifies the activation between the two FFN projections; maps and returns the second. */
  private Linear activationAndDown(Linear up, String prefix) throws ModelFormatException {
    List<String> ops = new ArrayList<>();
    List<String> frontier = List.of(up.output());
    Linear down = null;
    for (int depth = 0; depth < 8 && down == null && !frontier.isEmpty(); depth++) {
      List<String> next = new ArrayList<>();
      for (String v : frontier) {
        List<Linear> found = walk.linearsFrom(v);
        if (!found.isEmpty()) {
          down = found.get(0);
          break;
        }
        for (OnnxNode n : g.consumers(v)) {
          ops.add(n.opType());
          next.add(n.output());
        }
      }
      frontier = next;
    }
    if (down == null || down.in() != up.out()) {
      throw walk.missing("no output projection [" + up.out() + ", hidden] after the activation of " + prefix);
    }
    activations.add(activationName(ops, prefix));
    linear(prefix + "output.dense", down);
    return down;
  }

  private String activationName(List<String> ops, String prefix) throws ModelFormatException {
    if (ops.contains("Erf") || ops.contains("Gelu") && !ops.contains("Tanh")) {
      return "gelu"; // exact: x/2 · (1 + erf(x/√2))
    }
    if (ops.contains("Tanh") && ops.contains("Pow") || ops.contains("FastGelu")) {
      return "gelu_new"; // tanh approximation
    }
    if (ops.equals(List.of("Relu"))) {
      return "relu";
    }
    if (ops.contains("Sigmoid") && ops.contains("Mul")) {
      return "silu";
    }
    throw walk.missing("unrecognised activation in " + prefix + "intermediate: ops " + ops);
  }

  // ------------------------------------------------------------------ helpers

  private String norm(String hfName, String x, String what) throws ModelFormatException {
    Norm n = walk.layerNorm(x, what);
    put(hfName + ".weight", n.weight(), false);
    put(hfName + ".bias", n.bias(), false);
    epsilons.add(n.eps());
    return n.output();
  }

  private void linear(String hfName, Linear l) throws ModelFormatException {
    put(hfName + ".weight", l.weight(), true);
    put(hfName + ".bias", l.bias(), false);
  }

  private void put(String hfName, String value, boolean transpose) throws ModelFormatException {
    for (Map.Entry<String, Source> e : sources.entrySet()) {
      if (e.getValue().value().equals(value)) {
        throw walk.missing("'" + value + "' is used as both " + e.getKey() + " and " + hfName);
      }
    }
    sources.put(hfName, new Source(value, transpose));
  }

  /** The one node of type {@code op} among {@code nodes}, or null. */
  private static OnnxNode single(List<OnnxNode> nodes, String op) {
    OnnxNode found = null;
    for (OnnxNode n : nodes) {
      if (n.is(op)) {
        if (found != null) {
          return null;
        }
        found = n;
      }
    }
    return found;
  }

  /** Every layer must agree with the first: shapes, epsilon, activation, heads. */
  private void checkConsistent() throws ModelFormatException {
    if (headCounts.isEmpty()) {
      throw walk.missing("cannot tell the number of attention heads (no Reshape to [batch, length, heads, "
          + "headDim] and no score scaling by sqrt(headDim))");
    }
    if (headCounts.stream().distinct().count() != 1 || hidden % numHeads() != 0) {
      throw walk.missing("inconsistent attention head counts " + headCounts.stream().distinct().toList()
          + " for hidden size " + hidden);
    }
    if (epsilons.stream().distinct().count() != 1) {
      throw walk.missing("LayerNorms use different epsilons " + epsilons.stream().distinct().toList());
    }
    if (activations.stream().distinct().count() != 1) {
      throw walk.missing("layers use different activations " + activations.stream().distinct().toList());
    }
    for (Map.Entry<String, Source> e : sources.entrySet()) {
      long[] dims = g.constant(e.getValue().value()).orElseThrow().dims();
      long[] expected = expectedShape(e.getKey());
      if (expected == null && (dims.length != 2 || dims[1] != hidden)) {
        throw walk.missing("'" + e.getValue().value() + "' (" + e.getKey() + ") has shape "
            + Arrays.toString(dims) + ", expected [rows, " + hidden + "]");
      }
      if (expected != null && !Arrays.equals(dims, expected)) {
        throw walk.missing("'" + e.getValue().value() + "' (" + e.getKey() + ") has shape "
            + Arrays.toString(dims) + ", expected " + Arrays.toString(expected));
      }
    }
  }

  /** The ONNX-layout shape a parameter must have, or null for the embedding tables. */
  private long[] expectedShape(String hfName) {
    if (hfName.startsWith("embeddings.") && hfName.endsWith("_embeddings.weight")) {
      return null; // [rows, hidden], rows checked by the Gather
    }
    if (hfName.contains("LayerNorm") || hfName.endsWith(".bias") && !hfName.contains("intermediate")) {
      return new long[] {hidden};
    }
    if (hfName.endsWith("intermediate.dense.bias")) {
      return new long[] {intermediate};
    }
    if (hfName.endsWith("intermediate.dense.weight")) {
      return new long[] {hidden, intermediate};
    }
    if (hfName.endsWith("output.dense.weight") && !hfName.contains("attention")) {
      return new long[] {intermediate, hidden};
    }
    return new long[] {hidden, hidden};
  }
}
