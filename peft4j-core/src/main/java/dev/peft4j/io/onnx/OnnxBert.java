package dev.peft4j.io.onnx;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.TensorData;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A BERT encoder found in an ONNX export (as {@code torch.onnx.export} of Hugging Face's
 * {@code BertModel} writes it): its Hugging Face {@code config.json} fields and its weights under
 * Hugging Face names, all derived by following the graph (see {@code BertGraph}). The file stays
 * memory-mapped; weights are converted when {@link #tensors()} is called.
 *
 * <p>Used by {@link dev.peft4j.io.OnnxImport}, which writes the result as a model directory.
 */
public final class OnnxBert {
  private final OnnxModel model;
  private final BertGraph graph;

  private OnnxBert(OnnxModel model, BertGraph graph) {
    this.model = model;
    this.graph = graph;
  }

  /**
   * Reads and traces {@code onnxFile}.
   *
   * @throws ModelFormatException if the file is not valid ONNX, or its graph is not a BERT
   *     encoder; the message names the file and the part that was not found
   */
  public static OnnxBert read(Path onnxFile) throws IOException {
    OnnxModel model = OnnxModel.read(onnxFile);
    return new OnnxBert(model, BertGraph.trace(model, onnxFile.toString()));
  }

  /** The {@code config.json} fields ({@code model_type} "bert", architecture {@code BertModel}), sorted by key. */
  public Map<String, Object> config() throws ModelFormatException {
    Map<String, Object> c = new TreeMap<>();
    c.put("architectures", List.of("BertModel"));
    c.put("model_type", "bert");
    c.put("hidden_size", graph.hiddenSize());
    c.put("num_hidden_layers", graph.numLayers());
    c.put("num_attention_heads", graph.numHeads());
    c.put("intermediate_size", graph.intermediateSize());
    c.put("hidden_act", graph.activation());
    c.put("vocab_size", graph.rows("embeddings.word_embeddings.weight"));
    c.put("max_position_embeddings", graph.rows("embeddings.position_embeddings.weight"));
    c.put("type_vocab_size", graph.rows("embeddings.token_type_embeddings.weight"));
    // The shortest decimal that is the float32 constant, e.g. 1e-12 rather than 9.99999996e-13.
    c.put("layer_norm_eps", Double.parseDouble(Float.toString(graph.layerNormEps())));
    c.put("position_embedding_type", "absolute");
    c.put("torch_dtype", "float32");
    return c;
  }

  /**
   * The weights as float32 under Hugging Face names, in checkpoint order; MatMul weights
   * [in, out] are transposed to the {@code nn.Linear} layout [out, in].
   */
  public Map<String, TensorData> tensors() throws ModelFormatException {
    Map<String, TensorData> out = new LinkedHashMap<>();
    for (Map.Entry<String, BertGraph.Source> e : graph.sources().entrySet()) {
      OnnxTensor t = model.constant(e.getValue().value()).orElseThrow();
      float[] values = t.floats();
      long[] dims = t.dims();
      if (e.getValue().transpose()) {
        values = transpose(values, (int) dims[0], (int) dims[1]);
        dims = new long[] {dims[1], dims[0]};
      }
      out.put(e.getKey(), TensorData.ofFloats(dims, values));
    }
    return out;
  }

  /** Hugging Face name → name of the ONNX value it was taken from (for diagnostics and tests). */
  public Map<String, String> sourceNames() {
    Map<String, String> out = new LinkedHashMap<>();
    graph.sources().forEach((k, v) -> out.put(k, v.value()));
    return out;
  }

  private static float[] transpose(float[] m, int rows, int cols) {
    float[] t = new float[m.length];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        t[c * rows + r] = m[r * cols + c];
      }
    }
    return t;
  }
}
