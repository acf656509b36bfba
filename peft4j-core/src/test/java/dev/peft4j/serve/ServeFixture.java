package dev.peft4j.serve;

import dev.peft4j.generate.ByteTokenizer;
import dev.peft4j.generate.GenerationConfig;
import dev.peft4j.generate.GenerationResult;
import dev.peft4j.generate.Generator;
import dev.peft4j.generate.TestModels;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.lora.LoraConfig;
import dev.peft4j.peft.prefix.PrefixTuningConfig;
import dev.peft4j.peft.prompt.PromptTuningConfig;
import dev.peft4j.tensor.Engine;
import dev.peft4j.testing.TinyCheckpoint;
import dev.peft4j.text.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A served model for tests: a tiny "lively" LLaMA with a byte-level tokenizer (id = UTF-8 byte,
 * 256 = EOS), three random-init LoRA adapters saved to disk ({@code a}, {@code b}, {@code c}) and
 * two that add virtual positions ({@code prefix}, {@code prompt}), plus offline greedy generation
 * with each, to compare the server's answers with. Public for the CLI tests.
 */
public final class ServeFixture {
  /** The adapter names, each with different targets and ranks. */
  public static final List<String> ADAPTERS = List.of("a", "b", "c");
  /** Prefix tuning (4 positions) and prompt tuning (3 virtual tokens). */
  public static final List<String> VIRTUAL_ADAPTERS = List.of("prefix", "prompt");

  private final Path modelDir;
  private final Map<String, Path> adapterDirs = new LinkedHashMap<>();
  private final Map<String, Generator> offline = new HashMap<>();
  private Tokenizer tokenizer;

  private ServeFixture(Path modelDir) {
    this.modelDir = modelDir;
  }

  /** Writes the model, tokenizer and adapters under {@code dir}. */
  public static ServeFixture create(Path dir) throws IOException {
    ServeFixture f = new ServeFixture(dir.resolve("model"));
    TestModels.lively(TinyCheckpoint.llama().config("vocab_size", ByteTokenizer.VOCAB)
        .config("max_position_embeddings", 256)).writeTo(f.modelDir);
    ByteTokenizer.create(f.modelDir).close();
    PeftConfig[] configs = {
        lora(4, "q_proj", "v_proj"),
        lora(2, "k_proj", "o_proj", "down_proj"),
        LoraConfig.builder().r(8).loraAlpha(64).init(LoraConfig.LoraInit.RANDOM).allLinear().build(),
        PrefixTuningConfig.builder().numVirtualTokens(4).build(),
        PromptTuningConfig.builder().numVirtualTokens(3).build()};
    List<String> names = new ArrayList<>(ADAPTERS);
    names.addAll(VIRTUAL_ADAPTERS);
    for (int i = 0; i < configs.length; i++) {
      Engine.manualSeed(100 + i);
      Path out = dir.resolve("adapter-" + names.get(i));
      Peft.wrap(f.loadBase(), configs[i]).save(out);
      f.adapterDirs.put(names.get(i), out);
    }
    return f;
  }

  private static LoraConfig lora(int r, String... targets) {
    return LoraConfig.builder().r(r).loraAlpha(16 * r).init(LoraConfig.LoraInit.RANDOM).targetModules(targets).build();
  }

  public Path modelDir() {
    return modelDir;
  }

  /** Adapter directories by name. */
  public Map<String, Path> adapterDirs() {
    return adapterDirs;
  }

  /** A freshly loaded base model. */
  public PretrainedModel loadBase() throws IOException {
    return AutoModel.load(modelDir, LoadOptions.defaults());
  }

  /** The fixture's tokenizer (shared; closed by {@link #close()}). */
  public synchronized Tokenizer tokenizer() throws IOException {
    if (tokenizer == null) {
      tokenizer = Tokenizer.load(modelDir);
    }
    return tokenizer;
  }

  /**
   * Greedy generation of {@code prompt} alone, offline, with {@code adapter} (null or "base" for
   * the base model), stopping at EOS like the server.
   */
  public GenerationResult offline(String adapter, long[] prompt, int maxTokens) throws IOException {
    return offline(adapter, prompt, GenerationConfig.greedy(maxTokens));
  }

  /** {@link #offline} with any generation config. */
  public synchronized GenerationResult offline(String adapter, long[] prompt, GenerationConfig config)
      throws IOException {
    String key = adapter == null || adapter.equals(PeftModel.BASE) ? PeftModel.BASE : adapter;
    Generator generator = offline.get(key);
    if (generator == null) {
      PretrainedModel model = loadBase();
      if (!key.equals(PeftModel.BASE)) {
        model = PeftModel.load(model, adapterDirs.get(key)).baseModel();
      }
      generator = new Generator((CausalLm) model, tokenizer());
      offline.put(key, generator);
    }
    return generator.generate(prompt, config);
  }

  /** {@link #offline} of a text prompt, encoded as the server encodes it. */
  public GenerationResult offline(String adapter, String prompt, int maxTokens) throws IOException {
    return offline(adapter, ByteTokenizer.ids(prompt), maxTokens);
  }

  public synchronized void close() {
    if (tokenizer != null) {
      tokenizer.close();
    }
  }
}
