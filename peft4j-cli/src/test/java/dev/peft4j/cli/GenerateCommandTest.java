package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.generate.ByteTokenizer;
import dev.peft4j.generate.GenerationConfig;
import dev.peft4j.generate.GenerationResult;
import dev.peft4j.generate.Generator;
import dev.peft4j.generate.TestModels;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.lora.LoraConfig;
import dev.peft4j.tensor.Engine;
import dev.peft4j.testing.TinyCheckpoint;
import dev.peft4j.text.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code peft4j generate} in process, against the Generator's own results. */
class GenerateCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @RegisterExtension final CliCapture cli = new CliCapture();
  @TempDir Path dir;

  @Test
  void jsonWithInputIdsEqualsTheGeneratorsGreedyResult() throws Exception {
    TestModels.lively(TinyCheckpoint.llama()).writeTo(dir);
    int code = cli.run("generate", "--model", dir.toString(), "--input-ids", "1,5,7;3,9,4,2",
        "--max-new-tokens", "12", "--json");
    assertThat(code).as(cli.err()).isZero();
    String[] lines = cli.out().strip().split("\n");
    assertThat(lines).hasSize(2);

    CausalLm model = AutoModel.loadCausalLm(dir, LoadOptions.defaults());
    List<GenerationResult> expected = new Generator(model, null).generate(
        List.of(new long[] {1, 5, 7}, new long[] {3, 9, 4, 2}), GenerationConfig.greedy(12));
    for (int i = 0; i < 2; i++) {
      JsonNode row = JSON.readTree(lines[i]);
      assertThat(JSON.convertValue(row.get("ids"), long[].class)).containsExactly(expected.get(i).ids());
      assertThat(row.get("text").isNull()).isTrue();
      assertThat(row.get("finish_reason").asText()).isEqualTo("length");
    }
  }

  @Test
  void promptTextIsEncodedAndStreamedWithTheModelsTokenizer() throws Exception {
    TestModels.lively(TinyCheckpoint.llama().config("vocab_size", ByteTokenizer.VOCAB)).writeTo(dir);
    ByteTokenizer.create(dir).close();
    assertThat(cli.run("generate", "--model", dir.toString(), "--prompt", "Once upon a time", "--prompt", "日本",
        "--max-new-tokens", "16", "--temperature", "0.9", "--top-k", "40", "--top-p", "0.95",
        "--repetition-penalty", "1.1", "--seed", "11", "--json")).as(cli.err()).isZero();
    String[] lines = cli.out().strip().split("\n");
    assertThat(lines).hasSize(2);

    GenerationConfig config = GenerationConfig.builder().maxNewTokens(16).temperature(0.9).topK(40).topP(0.95)
        .repetitionPenalty(1.1).seed(11).build();
    List<GenerationResult> expected;
    try (Tokenizer tokenizer = Tokenizer.load(dir)) {
      Generator generator = new Generator(AutoModel.loadCausalLm(dir, LoadOptions.defaults()), tokenizer);
      expected = generator.generate(List.of(ByteTokenizer.ids("Once upon a time"), ByteTokenizer.ids("日本")), config);
    }
    for (int i = 0; i < 2; i++) {
      JsonNode row = JSON.readTree(lines[i]);
      assertThat(JSON.convertValue(row.get("ids"), long[].class)).containsExactly(expected.get(i).ids());
      assertThat(row.get("text").asText()).isEqualTo(expected.get(i).text().orElseThrow());
    }

    // Without --json the text is streamed, one prompt after the other (so here one at a time).
    assertThat(cli.run("generate", "--model", dir.toString(), "--prompt", "Once upon a time",
        "--max-new-tokens", "16")).as(cli.err()).isZero();
    String greedy;
    try (Tokenizer tokenizer = Tokenizer.load(dir)) {
      greedy = new Generator(AutoModel.loadCausalLm(dir, LoadOptions.defaults()), tokenizer)
          .generate(ByteTokenizer.ids("Once upon a time"), GenerationConfig.greedy(16)).text().orElseThrow();
    }
    assertThat(cli.out()).isEqualTo(greedy + System.lineSeparator());
  }

  @Test
  void errorsPrintOneLineAndExitTwo() throws Exception {
    TinyCheckpoint.llama().writeTo(dir); // no tokenizer.json
    assertOneLineError(cli.run("generate", "--model", dir.toString(), "--prompt", "hi", "--max-new-tokens", "4"),
        "--prompt needs a tokenizer, but " + dir + " has no tokenizer.json");
    assertOneLineError(cli.run("generate", "--model", dir.toString(), "--input-ids", "1,2", "--stop", "x",
        "--max-new-tokens", "4"), "--stop needs a tokenizer");
    assertOneLineError(cli.run("generate", "--model", dir.toString(), "--max-new-tokens", "4"),
        "give either --prompt or --input-ids");
    assertOneLineError(cli.run("generate", "--model", dir.toString(), "--input-ids", "1,2", "--max-new-tokens", "4",
        "--top-p", "1.5"), "topP must be in (0, 1]");
    assertOneLineError(cli.run("generate", "--model", dir.toString(), "--input-ids", "1,2", "--max-new-tokens", "127"),
        "more than the model's context length of 128 tokens");
    assertOneLineError(cli.run("generate", "--model", dir.resolve("missing").toString(), "--input-ids", "1",
        "--max-new-tokens", "4"), "is not a directory and not a Hugging Face repo id");
    // --truncate-prompt keeps the last tokens instead
    assertThat(cli.run("generate", "--model", dir.toString(), "--input-ids", "1,2,3", "--max-new-tokens", "126",
        "--truncate-prompt", "--json")).as(cli.err()).isZero();
    assertThat(JSON.readTree(cli.out()).get("ids")).hasSize(126);
  }

  @Test
  void modelAndAdapterMayBeRepoIdsInTheHuggingFaceCache() throws Exception {
    assumeTrue(System.getenv("HF_HUB_CACHE") == null && System.getenv("HF_HOME") == null
        && System.getenv("XDG_CACHE_HOME") == null, "the hub cache location is set by the environment");
    Engine.ensureLoaded(); // before user.home changes: JavaCPP caches its natives under it
    Path home = dir.resolve("home");
    Path repo = home.resolve(".cache/huggingface/hub/models--tiny-org--tiny-llama");
    String commit = "0123456789abcdef0123456789abcdef01234567";
    TestModels.lively(TinyCheckpoint.llama()).writeTo(repo.resolve("snapshots").resolve(commit));
    Files.createDirectories(repo.resolve("refs"));
    Files.writeString(repo.resolve("refs/main"), commit);
    Path adapterRepo = home.resolve(".cache/huggingface/hub/models--tiny-org--tiny-lora");
    Path adapter = adapterRepo.resolve("snapshots").resolve(commit);
    Peft.wrap(AutoModel.load(repo.resolve("snapshots").resolve(commit), LoadOptions.defaults()),
        LoraConfig.builder().r(2).init(LoraConfig.LoraInit.RANDOM).build()).save(adapter);
    Files.createDirectories(adapterRepo.resolve("refs"));
    Files.writeString(adapterRepo.resolve("refs/main"), commit);
    String saved = System.getProperty("user.home");
    System.setProperty("user.home", home.toString());
    try {
      assertThat(cli.run("generate", "--model", "tiny-org/tiny-llama", "--input-ids", "1,5,7",
          "--max-new-tokens", "6", "--json")).as(cli.err()).isZero();
      assertThat(JSON.readTree(cli.out()).get("ids")).hasSize(6);
      assertThat(cli.run("inspect", "--model", "tiny-org/tiny-llama")).as(cli.err()).isZero();
      assertThat(cli.out()).contains("LlamaForCausalLM");
      assertThat(cli.run("forward", "--model", "tiny-org/tiny-llama@" + commit, "--input-ids", "1,5,7", "--json"))
          .as(cli.err()).isZero();
      JsonNode base = JSON.readTree(cli.out()).get("logits");
      assertThat(cli.run("forward", "--model", "tiny-org/tiny-llama", "--adapter", "tiny-org/tiny-lora",
          "--input-ids", "1,5,7", "--json")).as(cli.err()).isZero();
      JsonNode byRepoId = JSON.readTree(cli.out()).get("logits");
      assertThat(cli.run("forward", "--model", "tiny-org/tiny-llama", "--adapter", adapter.toString(),
          "--input-ids", "1,5,7", "--json")).as(cli.err()).isZero();
      assertThat(byRepoId).isEqualTo(JSON.readTree(cli.out()).get("logits")).isNotEqualTo(base);
    } finally {
      System.setProperty("user.home", saved);
    }
  }

  private void assertOneLineError(int code, String message) {
    assertThat(code).as(cli.out()).isEqualTo(2);
    assertThat(cli.err().strip()).startsWith("peft4j: error: ").contains(message).doesNotContain("\n");
  }
}
