package dev.peft4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.io.onnx.OnnxBert;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.bert.BertModel;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Imports all-MiniLM-L6-v2 from its ONNX export and checks it against ONNX Runtime running the
 * original file: every hidden state of the last layer, and mean-pooled sentence embeddings.
 */
class OnnxImportTest {
  private static final int HIDDEN = 384;
  private static final int LAYERS = 6;
  private static final List<String> SENTENCES = List.of(
      "The quick brown fox jumps over the lazy dog.",
      "Parameter-efficient fine-tuning trains only a small number of extra weights.",
      "A man is playing a guitar on the street corner.",
      "Where is the nearest train station?",
      "Low-rank adaptation injects trainable rank decomposition matrices into each layer.",
      "I love reading books on rainy Sunday afternoons!",
      "Stock markets fell sharply after the central bank raised interest rates by 0.5%.",
      "Photosynthesis converts light energy into chemical energy in plants.",
      "Can you recommend a good Italian restaurant nearby?",
      "The committee postponed its decision until next Thursday, citing unresolved concerns.",
      "Hello",
      "Java 17 records make immutable data carriers concise; JavaCPP bridges to libtorch.");

  @TempDir static Path shared;
  private static Path onnx;
  private static Path modelDir;
  private static BertModel model;
  private static HuggingFaceTokenizer tokenizer;
  private static OrtEnvironment ort;
  private static OrtSession session;

  @BeforeAll
  static void importMiniLm() throws Exception {
    modelDir = OnnxImport.importMiniLmFromClasspath(shared.resolve("minilm"));
    onnx = shared.resolve("minilm.onnx");
    try (InputStream in = OnnxImportTest.class.getClassLoader().getResourceAsStream(OnnxImport.MINILM_ONNX)) {
      Files.copy(in, onnx);
    }
    model = (BertModel) AutoModel.load(modelDir);
    tokenizer = HuggingFaceTokenizer.builder()
        .optTokenizerPath(modelDir.resolve("tokenizer.json"))
        .optPadding(false)
        .optTruncation(true)
        .optMaxLength(128)
        .build();
    ort = OrtEnvironment.getEnvironment();
    OrtSession.SessionOptions options = new OrtSession.SessionOptions();
    options.setIntraOpNumThreads(2);
    session = ort.createSession(onnx.toString(), options);
  }

  @AfterAll
  static void close() throws OrtException {
    if (session != null) {
      session.close();
    }
    if (tokenizer != null) {
      tokenizer.close();
    }
  }

  // ------------------------------------------------------------------ structure

  @Test
  void configIsInferredFromTheGraph() throws IOException {
    JsonNode c = new ObjectMapper().readTree(modelDir.resolve("config.json").toFile());
    assertThat(c.get("model_type").asText()).isEqualTo("bert");
    assertThat(c.get("architectures").get(0).asText()).isEqualTo("BertModel");
    assertThat(c.get("hidden_size").asInt()).isEqualTo(HIDDEN);
    assertThat(c.get("num_hidden_layers").asInt()).isEqualTo(LAYERS);
    assertThat(c.get("num_attention_heads").asInt()).isEqualTo(12);
    assertThat(c.get("intermediate_size").asInt()).isEqualTo(1536);
    assertThat(c.get("vocab_size").asInt()).isEqualTo(30522);
    assertThat(c.get("max_position_embeddings").asInt()).isEqualTo(512);
    assertThat(c.get("type_vocab_size").asInt()).isEqualTo(2);
    assertThat(c.get("layer_norm_eps").asDouble()).isEqualTo(1e-12);
    assertThat(c.get("hidden_act").asText()).isEqualTo("gelu");
    assertThat(model.hasPooler()).isFalse();
  }

  @Test
  void everyWeightIsWrittenWithItsHuggingFaceShape() throws IOException {
    Map<String, long[]> expected = new java.util.LinkedHashMap<>();
    expected.put("embeddings.word_embeddings.weight", new long[] {30522, HIDDEN});
    expected.put("embeddings.position_embeddings.weight", new long[] {512, HIDDEN});
    expected.put("embeddings.token_type_embeddings.weight", new long[] {2, HIDDEN});
    expected.put("embeddings.LayerNorm.weight", new long[] {HIDDEN});
    expected.put("embeddings.LayerNorm.bias", new long[] {HIDDEN});
    for (int l = 0; l < LAYERS; l++) {
      String p = "encoder.layer." + l + ".";
      for (String proj : List.of("attention.self.query", "attention.self.key", "attention.self.value",
          "attention.output.dense")) {
        expected.put(p + proj + ".weight", new long[] {HIDDEN, HIDDEN});
        expected.put(p + proj + ".bias", new long[] {HIDDEN});
      }
      expected.put(p + "intermediate.dense.weight", new long[] {1536, HIDDEN});
      expected.put(p + "intermediate.dense.bias", new long[] {1536});
      expected.put(p + "output.dense.weight", new long[] {HIDDEN, 1536});
      expected.put(p + "output.dense.bias", new long[] {HIDDEN});
      for (String norm : List.of("attention.output.LayerNorm", "output.LayerNorm")) {
        expected.put(p + norm + ".weight", new long[] {HIDDEN});
        expected.put(p + norm + ".bias", new long[] {HIDDEN});
      }
    }
    try (SafeTensorsFile file = SafeTensorsFile.open(modelDir.resolve("model.safetensors"))) {
      Set<String> names = new TreeSet<>();
      for (TensorInfo t : file.tensors()) {
        names.add(t.name());
        assertThat(t.dtype()).isEqualTo(dev.peft4j.tensor.DType.F32);
      }
      assertThat(names).containsExactlyInAnyOrderElementsOf(expected.keySet());
      expected.forEach((name, shape) ->
          assertThat(file.info(name).orElseThrow().shape()).as(name).containsExactly(shape));
    }
    assertThat(Files.mismatch(modelDir.resolve("tokenizer.json"), extractTokenizer())).isEqualTo(-1L);
  }

  /**
   * The export keeps the PyTorch names of biases and LayerNorm parameters; the mapping, which
   * never reads names, must arrive at exactly those. MatMul weights are numbered, so they are
   * checked by ONNX Runtime below.
   */
  @Test
  void graphFollowingAgreesWithTheNamesTheExportKept() throws IOException {
    Map<String, String> sources = OnnxBert.read(onnx).sourceNames();
    int named = 0;
    for (Map.Entry<String, String> e : sources.entrySet()) {
      if (!e.getValue().startsWith("onnx::")) {
        assertThat(e.getValue()).as(e.getKey()).isEqualTo(e.getKey());
        named++;
      } else {
        assertThat(e.getKey()).matches(".*(dense|query|key|value)\\.weight");
      }
    }
    assertThat(named).isEqualTo(5 + LAYERS * 10);
    assertThat(sources).hasSize(5 + LAYERS * 16);
  }

  // ------------------------------------------------------------------ ONNX Runtime

  @Test
  void everySentenceMatchesOnnxRuntime() throws Exception {
    double maxDiff = 0;
    double minCos = 1;
    for (String sentence : SENTENCES) {
      Batch batch = Batch.of(List.of(tokenizer.encode(sentence)));
      float[][][] expected = runOrt(batch);
      float[][][] actual = runPeft4j(batch);
      maxDiff = Math.max(maxDiff, maxAbsDiff(expected, actual, batch));
      minCos = Math.min(minCos, cosine(meanPool(expected[0], batch.mask[0]), meanPool(actual[0], batch.mask[0])));
    }
    System.out.printf("OnnxImportTest single sentences: max |diff| %.3g, min cosine %.12f%n", maxDiff, minCos);
    assertThat(maxDiff).isLessThanOrEqualTo(1e-4);
    assertThat(minCos).isGreaterThanOrEqualTo(0.99999);
  }

  @Test
  void paddedBatchMatchesOnnxRuntimeAtRealPositions() throws Exception {
    List<Encoding> encodings = new ArrayList<>();
    for (String s : SENTENCES) {
      encodings.add(tokenizer.encode(s));
    }
    Batch batch = Batch.of(encodings);
    assertThat(Arrays.stream(batch.mask).filter(m -> m[m.length - 1] == 0).count())
        .as("rows with padding").isGreaterThan(5);
    float[][][] expected = runOrt(batch);
    float[][][] actual = runPeft4j(batch);
    double maxDiff = maxAbsDiff(expected, actual, batch);
    double minCos = 1;
    for (int b = 0; b < batch.rows(); b++) {
      minCos = Math.min(minCos, cosine(meanPool(expected[b], batch.mask[b]), meanPool(actual[b], batch.mask[b])));
      // The padded row equals the sentence run alone.
      Batch alone = Batch.of(List.of(encodings.get(b)));
      float[][][] single = runPeft4j(alone);
      maxDiff = Math.max(maxDiff, maxAbsDiff(single, new float[][][] {actual[b]}, alone));
    }
    System.out.printf("OnnxImportTest padded batch of %d: max |diff| %.3g, min cosine %.12f%n",
        batch.rows(), maxDiff, minCos);
    assertThat(maxDiff).isLessThanOrEqualTo(1e-4);
    assertThat(minCos).isGreaterThanOrEqualTo(0.99999);
  }

  /** Token ids, types and mask, right-padded to the longest row. */
  private record Batch(long[][] ids, long[][] types, long[][] mask) {
    static Batch of(List<Encoding> encodings) {
      int length = encodings.stream().mapToInt(e -> e.getIds().length).max().orElseThrow();
      int n = encodings.size();
      long[][] ids = new long[n][length];
      long[][] types = new long[n][length];
      long[][] mask = new long[n][length];
      for (int b = 0; b < n; b++) {
        Encoding e = encodings.get(b);
        System.arraycopy(e.getIds(), 0, ids[b], 0, e.getIds().length);
        System.arraycopy(e.getTypeIds(), 0, types[b], 0, e.getIds().length);
        System.arraycopy(e.getAttentionMask(), 0, mask[b], 0, e.getIds().length);
      }
      return new Batch(ids, types, mask);
    }

    int rows() {
      return ids.length;
    }

    int length() {
      return ids[0].length;
    }

    static long[] flat(long[][] rows) {
      return Arrays.stream(rows).flatMapToLong(Arrays::stream).toArray();
    }
  }

  private static float[][][] runOrt(Batch batch) throws OrtException {
    long[] shape = {batch.rows(), batch.length()};
    try (var ids = ai.onnxruntime.OnnxTensor.createTensor(ort, LongBuffer.wrap(Batch.flat(batch.ids())), shape);
        var types = ai.onnxruntime.OnnxTensor.createTensor(ort, LongBuffer.wrap(Batch.flat(batch.types())), shape);
        var mask = ai.onnxruntime.OnnxTensor.createTensor(ort, LongBuffer.wrap(Batch.flat(batch.mask())), shape);
        OrtSession.Result result = session.run(Map.of("input_ids", ids, "token_type_ids", types,
            "attention_mask", mask), Set.of("last_hidden_state"))) {
      return (float[][][]) result.get("last_hidden_state").orElseThrow().getValue();
    }
  }

  private static float[][][] runPeft4j(Batch batch) {
    long[] shape = {batch.rows(), batch.length()};
    float[] flat;
    try (Scope s = Scope.open(); var g = Engine.noGrad()) {
      Tensor hidden = model.encode(Tensor.ofLongs(Batch.flat(batch.ids()), shape),
          Tensor.ofLongs(Batch.flat(batch.types()), shape),
          Tensor.ofLongs(Batch.flat(batch.mask()), shape)).lastHiddenState();
      assertThat(hidden.shape()).containsExactly(batch.rows(), batch.length(), HIDDEN);
      flat = hidden.toFloatArray();
    }
    float[][][] out = new float[batch.rows()][batch.length()][HIDDEN];
    for (int b = 0; b < batch.rows(); b++) {
      for (int t = 0; t < batch.length(); t++) {
        System.arraycopy(flat, (b * batch.length() + t) * HIDDEN, out[b][t], 0, HIDDEN);
      }
    }
    return out;
  }

  /** Largest |a - b| over the real (unmasked) positions. */
  private static double maxAbsDiff(float[][][] a, float[][][] b, Batch batch) {
    double max = 0;
    for (int r = 0; r < a.length; r++) {
      for (int t = 0; t < a[r].length; t++) {
        if (batch.mask()[r][t] == 0) {
          continue;
        }
        for (int h = 0; h < HIDDEN; h++) {
          max = Math.max(max, Math.abs(a[r][t][h] - b[r][t][h]));
        }
      }
    }
    return max;
  }

  /** sentence-transformers' mean pooling: the mask-weighted average of the token states. */
  private static double[] meanPool(float[][] states, long[] mask) {
    double[] sum = new double[HIDDEN];
    double count = 0;
    for (int t = 0; t < states.length; t++) {
      for (int h = 0; h < HIDDEN; h++) {
        sum[h] += states[t][h] * mask[t];
      }
      count += mask[t];
    }
    for (int h = 0; h < HIDDEN; h++) {
      sum[h] /= count;
    }
    return sum;
  }

  private static double cosine(double[] a, double[] b) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int i = 0; i < a.length; i++) {
      dot += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    return dot / Math.sqrt(na * nb);
  }

  // ------------------------------------------------------------------ bad inputs

  @Test
  void randomBytesAreRejected(@TempDir Path dir) throws IOException {
    Random random = new Random(42);
    for (int i = 0; i < 200; i++) {
      byte[] bytes = new byte[1 + random.nextInt(4096)];
      random.nextBytes(bytes);
      Path file = dir.resolve("random.onnx");
      Files.write(file, bytes);
      assertThatThrownBy(() -> OnnxImport.importBert(file, null, dir.resolve("out")))
          .isInstanceOf(ModelFormatException.class)
          .hasMessageContaining(file.toString());
    }
    assertThat(dir.resolve("out")).doesNotExist();
  }

  @Test
  void truncatedExportIsRejected(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("truncated.onnx");
    try (InputStream in = Files.newInputStream(onnx)) {
      Files.write(file, in.readNBytes((int) (Files.size(onnx) / 2)));
    }
    assertThatThrownBy(() -> OnnxImport.importBert(file, null, dir.resolve("out")))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("truncated");
    assertThat(dir.resolve("out")).doesNotExist();
  }

  @Test
  void validOnnxWithoutBertIsRejectedNamingWhatIsMissing(@TempDir Path dir) throws IOException {
    // ModelProto { ir_version: 8, graph { node { Relu(input_ids) -> y }, input input_ids, output y } }
    byte[] node = new Proto().string(1, "input_ids").string(2, "y").string(3, "relu").string(4, "Relu").bytes();
    byte[] graph = new Proto().message(1, node).string(2, "not_bert")
        .message(11, new Proto().string(1, "input_ids").bytes())
        .message(12, new Proto().string(1, "y").bytes()).bytes();
    byte[] model = new Proto().varint(1, 8).string(2, "hand").message(7, graph).bytes();
    Path file = dir.resolve("relu.onnx");
    Files.write(file, model);
    assertThatThrownBy(() -> OnnxImport.importBert(file, null, dir.resolve("out")))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("not an ONNX export of a BERT encoder")
        .hasMessageContaining("word embeddings");

    Path noInputs = dir.resolve("empty-graph.onnx");
    Files.write(noInputs, new Proto().varint(1, 8).message(7, new Proto().string(2, "g").bytes()).bytes());
    assertThatThrownBy(() -> OnnxImport.importBert(noInputs, null, dir.resolve("out")))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("no graph input 'input_ids'");

    Path noGraph = dir.resolve("no-graph.onnx");
    Files.write(noGraph, new Proto().varint(1, 8).string(2, "hand").bytes());
    assertThatThrownBy(() -> OnnxImport.importBert(noGraph, null, dir.resolve("out")))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("no graph");

    // Bit flips of a valid model never escape as anything but ModelFormatException.
    Random random = new Random(7);
    for (int i = 0; i < 300; i++) {
      byte[] mutated = model.clone();
      mutated[random.nextInt(mutated.length)] ^= (byte) (1 << random.nextInt(8));
      Files.write(file, mutated);
      assertThatThrownBy(() -> OnnxImport.importBert(file, null, dir.resolve("out")))
          .isInstanceOf(ModelFormatException.class);
    }
  }

  private static Path extractTokenizer() throws IOException {
    Path file = shared.resolve("tokenizer-original.json");
    if (!Files.exists(file)) {
      try (InputStream in = OnnxImportTest.class.getClassLoader().getResourceAsStream(OnnxImport.MINILM_TOKENIZER)) {
        Files.copy(in, file);
      }
    }
    return file;
  }

  /** Writes protobuf wire format, for hand-made ONNX files. */
  private static final class Proto {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Proto varint(int field, long value) {
      rawVarint((long) field << 3);
      rawVarint(value);
      return this;
    }

    Proto string(int field, String value) {
      return message(field, value.getBytes(StandardCharsets.UTF_8));
    }

    Proto message(int field, byte[] value) {
      rawVarint((long) field << 3 | 2);
      rawVarint(value.length);
      out.writeBytes(value);
      return this;
    }

    byte[] bytes() {
      return out.toByteArray();
    }

    private void rawVarint(long v) {
      while ((v & ~0x7FL) != 0) {
        out.write((int) (v & 0x7F) | 0x80);
        v >>>= 7;
      }
      out.write((int) v);
    }
  }
}
