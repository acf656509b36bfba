package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.generate.ByteTokenizer;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@code train --method prompt|p-tuning|prefix|llama-adapter}, then {@code forward}/{@code generate --adapter}. */
class PromptMethodsCliTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @RegisterExtension CliCapture cli = new CliCapture();

  @TempDir Path dir;

  static Stream<org.junit.jupiter.params.provider.Arguments> methods() {
    return Stream.<Object>of(
        new String[] {"--method", "prompt", "--num-virtual-tokens", "4", "--prompt-init", "text", "--prompt-init-text", "Hi there"},
        new String[] {"--method", "prompt", "--num-virtual-tokens", "3", "--prompt-init", "vocab"},
        new String[] {"--method", "p-tuning", "--num-virtual-tokens", "4", "--encoder", "lstm", "--encoder-hidden", "16"},
        new String[] {"--method", "p-tuning", "--num-virtual-tokens", "3", "--template", "[P:2] {x} [P] {y}", "--pseudo-token-id", "0"},
        new String[] {"--method", "prefix", "--num-virtual-tokens", "5", "--prefix-projection", "--encoder-hidden", "32"},
        new String[] {"--method", "prefix", "--num-virtual-tokens", "5", "--no-prefix-projection"},
        new String[] {"--method", "llama-adapter", "--adapter-len", "4", "--adapter-layers", "1", "--gate", "scalar"})
        .map(a -> org.junit.jupiter.params.provider.Arguments.of(a));
  }

  @ParameterizedTest
  @MethodSource("methods")
  void trainsSavesAndServesTheAdapter(String[] method) throws Exception {
    Path model = dir.resolve("model");
    TinyCheckpoint.llama().config("vocab_size", ByteTokenizer.VOCAB).writeTo(model);
    ByteTokenizer.create(model).close();
    Path data = dir.resolve("train.jsonl");
    Files.writeString(data, "{\"prompt\": \"Q: one\\nA:\", \"completion\": \" 1\"}\n"
        + "{\"prompt\": \"Q: two\\nA:\", \"completion\": \" 2\"}\n");
    Path out = dir.resolve("adapter");
    String[] args = Stream.concat(Stream.of("train", "--model", model.toString(), "--data", data.toString(),
        "--max-steps", "3", "--batch-size", "2", "--no-progress", "--output", out.toString()), Stream.of(method))
        .toArray(String[]::new);
    assertThat(cli.run(args)).as(cli.err()).isZero();
    assertThat(out.resolve("adapter_config.json")).exists();
    assertThat(out.resolve("adapter_model.safetensors")).exists();

    boolean templated = String.join(" ", method).contains("--template");
    long[] ids = templated ? new long[] {0, 0, 5, 6, 0, 7} : new long[] {5, 6, 7}; // pseudo tokens marked by id 0
    String idList = java.util.Arrays.stream(ids).mapToObj(Long::toString).collect(java.util.stream.Collectors.joining(","));
    assertThat(cli.run("forward", "--model", model.toString(), "--adapter", out.toString(), "--input-ids", idList,
        "--json")).as(cli.err()).isZero();
    JsonNode logits = JSON.readTree(cli.out()).get("logits").get(0);
    PeftModel peft = PeftModel.load(AutoModel.load(model, LoadOptions.defaults()), out);
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      float[] expected = ((CausalLm) peft.baseModel()).lastLogits(Tensor.ofLongs(ids, 1, ids.length), null, null)
          .select(0, 0).toFloatArray();
      for (int i = 0; i < expected.length; i++) {
        assertThat(logits.get(i).floatValue()).isEqualTo(expected[i]);
      }
    }
    if (!templated) {
      assertThat(cli.run("generate", "--model", model.toString(), "--adapter", out.toString(), "--prompt", "Q: one",
          "--max-new-tokens", "3", "--json")).as(cli.err()).isZero();
    }
  }

  @Test
  void unknownMethodsAndMissingOptionsAreOneLineErrors() throws Exception {
    Path model = dir.resolve("model");
    TinyCheckpoint.llama().config("vocab_size", ByteTokenizer.VOCAB).writeTo(model);
    ByteTokenizer.create(model).close();
    Path data = dir.resolve("train.jsonl");
    Files.writeString(data, "{\"text\": \"hello\"}\n");
    assertThat(cli.run("train", "--model", model.toString(), "--data", data.toString(), "--method", "p-tuning",
        "--template", "[P] {y}", "--pseudo-token-id", "0", "--output", dir.resolve("o").toString())).isEqualTo(2);
    assertThat(cli.err()).contains("has no {x} slot");
  }
}
