package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Asking for MKL without its OpenMP runtime preloaded (what bin/peft4j does for a -Pmkl build)
 * is a one-line error before libtorch loads, not a JVM killed by an unresolved native symbol.
 */
class MklSetupTest {
  @TempDir Path dir;

  @Test
  void mklWithoutItsOpenMpRuntimeIsAClearError() throws Exception {
    Path model = ClassificationFixture.bert(dir.resolve("model"), false);
    ProcessBuilder builder = new ProcessBuilder(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "-Dorg.bytedeco.openblas.load=mkl_rt",
        "dev.peft4j.cli.Peft4j", "forward", "--model", model.toString(), "--input-ids", "2,5,3"))
        .redirectErrorStream(true);
    builder.environment().remove("LD_PRELOAD");
    Process process = builder.start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).as(output).isEqualTo(Peft4j.ERROR_EXIT);
    assertThat(output).contains("peft4j: error: org.bytedeco.openblas.load=mkl_rt needs MKL's OpenMP runtime preloaded");
  }
}
