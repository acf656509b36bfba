package dev.peft4j.io.onnx;

import dev.peft4j.io.ModelFormatException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An ONNX {@code NodeProto}: one operator application, with its value names and attributes.
 * An empty input name is an omitted optional input.
 */
record OnnxNode(String name, String opType, List<String> inputs, List<String> outputs,
    Map<String, Attribute> attributes) {

  /**
   * An {@code AttributeProto}; only the fields peft4j reads are kept (subgraphs are skipped).
   *
   * @param f float value, or NaN if absent
   * @param i integer value, or null if absent
   * @param t tensor value (e.g. a Constant's {@code value}), or null
   */
  record Attribute(String name, float f, Long i, OnnxTensor t, long[] ints, float[] floats) {}

  static OnnxNode parse(ProtoReader r) throws ModelFormatException {
    String name = "";
    String op = "";
    List<String> inputs = new ArrayList<>();
    List<String> outputs = new ArrayList<>();
    Map<String, Attribute> attributes = new LinkedHashMap<>();
    while (r.hasNext()) {
      switch (r.next()) {
        case 1: inputs.add(r.string()); break;
        case 2: outputs.add(r.string()); break;
        case 3: name = r.string(); break;
        case 4: op = r.string(); break;
        case 5:
          Attribute a = parseAttribute(r.message("AttributeProto"));
          attributes.put(a.name(), a);
          break;
        default: r.skip();
      }
    }
    return new OnnxNode(name, op, List.copyOf(inputs), List.copyOf(outputs), Map.copyOf(attributes));
  }

  private static Attribute parseAttribute(ProtoReader r) throws ModelFormatException {
    String name = "";
    float f = Float.NaN;
    Long i = null;
    OnnxTensor t = null;
    ProtoReader.LongList ints = new ProtoReader.LongList();
    ProtoReader.FloatList floats = new ProtoReader.FloatList();
    while (r.hasNext()) {
      switch (r.next()) {
        case 1: name = r.string(); break;
        case 2: f = r.fixed32Float(); break;
        case 3: i = r.varint(); break;
        case 5: t = OnnxTensor.parse(r.message("TensorProto")); break;
        case 7: r.repeatedFloat(floats); break;
        case 8: r.repeatedVarint(ints); break;
        default: r.skip();
      }
    }
    return new Attribute(name, f, i, t, ints.toArray(), floats.toArray());
  }

  /** The input at {@code index}, or "" if the node has fewer inputs. */
  String input(int index) {
    return index < inputs.size() ? inputs.get(index) : "";
  }

  String output() {
    return outputs.isEmpty() ? "" : outputs.get(0);
  }

  /** For a two-input node fed by {@code value}: the other input ("" if neither is it). */
  String otherInput(String value) {
    if (inputs.size() != 2) {
      return "";
    }
    if (inputs.get(0).equals(value)) {
      return inputs.get(1);
    }
    return inputs.get(1).equals(value) ? inputs.get(0) : "";
  }

  boolean is(String op) {
    return opType.equals(op);
  }

  @Override
  public String toString() {
    return opType + " '" + name + "' " + inputs + " -> " + outputs;
  }
}
