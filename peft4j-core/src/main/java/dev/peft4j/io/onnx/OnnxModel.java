package dev.peft4j.io.onnx;

import dev.peft4j.io.ModelFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The main graph of an ONNX {@code ModelProto}, read with {@link ProtoReader}: nodes in file
 * order, initializers (their data stays in the memory-mapped file), and the graph's input and
 * output names; plus the indexes to follow data flow both ways.
 */
final class OnnxModel {
  private final List<OnnxNode> nodes;
  private final Map<String, OnnxTensor> initializers;
  private final List<String> inputs;
  private final List<String> outputs;
  private final Map<String, OnnxNode> producers = new HashMap<>();
  private final Map<String, List<OnnxNode>> consumers = new HashMap<>();

  private OnnxModel(List<OnnxNode> nodes, Map<String, OnnxTensor> initializers,
      List<String> inputs, List<String> outputs) {
    this.nodes = nodes;
    this.initializers = initializers;
    this.inputs = inputs;
    this.outputs = outputs;
    for (OnnxNode n : nodes) {
      for (String out : n.outputs()) {
        producers.put(out, n);
      }
      for (String in : n.inputs()) {
        if (!in.isEmpty()) {
          consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
        }
      }
    }
  }

  /**
   * Memory-maps and parses {@code file}.
   *
   * @throws ModelFormatException if the file is not a well-formed ONNX model with a graph;
   *     the message names the file
   */
  static OnnxModel read(Path file) throws IOException {
    ByteBuffer bytes;
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      if (ch.size() > Integer.MAX_VALUE) {
        throw new ModelFormatException(file + " is larger than 2 GiB; ONNX models that big keep "
            + "their weights in external data files, which are not supported");
      }
      bytes = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
    }
    try {
      return parse(bytes);
    } catch (ModelFormatException e) {
      throw new ModelFormatException(file + " is not a valid ONNX model: " + e.getMessage(), e);
    }
  }

  /** Parses a serialized {@code ModelProto}. */
  static OnnxModel parse(ByteBuffer bytes) throws ModelFormatException {
    ProtoReader model = new ProtoReader(bytes, "ModelProto");
    ProtoReader graph = null;
    while (model.hasNext()) {
      if (model.next() == 7) {
        graph = model.message("GraphProto");
      } else {
        model.skip();
      }
    }
    if (graph == null) {
      throw new ModelFormatException("no graph (ModelProto field 7)");
    }
    List<OnnxNode> nodes = new ArrayList<>();
    Map<String, OnnxTensor> initializers = new LinkedHashMap<>();
    List<String> inputs = new ArrayList<>();
    List<String> outputs = new ArrayList<>();
    while (graph.hasNext()) {
      switch (graph.next()) {
        case 1: nodes.add(OnnxNode.parse(graph.message("NodeProto"))); break;
        case 5:
          OnnxTensor t = OnnxTensor.parse(graph.message("TensorProto"));
          initializers.put(t.name(), t);
          break;
        case 11: inputs.add(valueName(graph.message("ValueInfoProto"))); break;
        case 12: outputs.add(valueName(graph.message("ValueInfoProto"))); break;
        default: graph.skip();
      }
    }
    return new OnnxModel(List.copyOf(nodes), Collections.unmodifiableMap(initializers),
        List.copyOf(inputs), List.copyOf(outputs));
  }

  private static String valueName(ProtoReader r) throws ModelFormatException {
    String name = "";
    while (r.hasNext()) {
      if (r.next() == 1) {
        name = r.string();
      } else {
        r.skip();
      }
    }
    return name;
  }

  List<OnnxNode> nodes() {
    return nodes;
  }

  Map<String, OnnxTensor> initializers() {
    return initializers;
  }

  /** Graph input names, initializers excluded (older exports list them as inputs too). */
  List<String> inputs() {
    List<String> out = new ArrayList<>(inputs);
    out.removeAll(initializers.keySet());
    return out;
  }

  List<String> outputs() {
    return outputs;
  }

  boolean isInput(String value) {
    return inputs.contains(value) && !initializers.containsKey(value);
  }

  /** The node computing {@code value}, if any (none for inputs and initializers). */
  Optional<OnnxNode> producer(String value) {
    return Optional.ofNullable(producers.get(value));
  }

  /** The nodes reading {@code value}, in file order. */
  List<OnnxNode> consumers(String value) {
    return consumers.getOrDefault(value, List.of());
  }

  /**
   * The tensor {@code value} always holds: an initializer, or the output of a Constant node
   * ({@code value}, {@code value_float(s)} or {@code value_int(s)}).
   */
  Optional<OnnxTensor> constant(String value) {
    OnnxTensor init = initializers.get(value);
    if (init != null) {
      return Optional.of(init);
    }
    OnnxNode n = producers.get(value);
    if (n == null || !n.is("Constant")) {
      return Optional.empty();
    }
    Map<String, OnnxNode.Attribute> a = n.attributes();
    if (a.containsKey("value") && a.get("value").t() != null) {
      return Optional.of(a.get("value").t());
    }
    if (a.containsKey("value_float")) {
      return Optional.of(OnnxTensor.ofFloats(value, new long[0], new float[] {a.get("value_float").f()}));
    }
    if (a.containsKey("value_floats")) {
      float[] f = a.get("value_floats").floats();
      return Optional.of(OnnxTensor.ofFloats(value, new long[] {f.length}, f));
    }
    if (a.containsKey("value_int") && a.get("value_int").i() != null) {
      return Optional.of(OnnxTensor.ofLongs(value, new long[0], new long[] {a.get("value_int").i()}));
    }
    if (a.containsKey("value_ints")) {
      long[] i = a.get("value_ints").ints();
      return Optional.of(OnnxTensor.ofLongs(value, new long[] {i.length}, i));
    }
    return Optional.empty();
  }
}
