package dev.peft4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.generate.FinishReason;
import dev.peft4j.generate.GenerationConfig;
import dev.peft4j.generate.GenerationResult;
import dev.peft4j.generate.Generator;
import dev.peft4j.generate.TextStreamer;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.text.Tokenizer;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code peft4j generate}: continues prompts with a causal language model. With {@code --json}
 * all prompts run as one batch and each result is printed as one JSON object per line,
 * {@code {"ids": [...], "text": "...", "finish_reason": "..."}} ({@code text} is null when the
 * model directory has no tokenizer.json); otherwise each prompt's text is streamed to the
 * terminal as it is generated.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
    description = "Generate text with a causal language model.")
final class GenerateCommand implements Callable<Integer> {
  @Mixin CommonOptions common;

  @Mixin AdapterOption adapterOption;

  @Option(names = "--prompt", paramLabel = "TEXT",
      description = "Prompt text, encoded with the model's tokenizer.json; repeat for several prompts.")
  List<String> prompts = new ArrayList<>();

  @Option(names = "--input-ids", paramLabel = "IDS",
      description = "Prompt token ids instead of text: '1,5,7' or several prompts '1,5,7;1,9,4,2'.")
  String inputIds;

  @Option(names = "--max-new-tokens", required = true, paramLabel = "N", description = "Tokens to generate at most.")
  int maxNewTokens;

  @Option(names = "--temperature", defaultValue = "0", paramLabel = "T",
      description = "Sampling temperature; 0 (default) = greedy.")
  double temperature;

  @Option(names = "--top-k", defaultValue = "0", paramLabel = "K", description = "Sample from the K likeliest tokens; 0 (default) = off.")
  int topK;

  @Option(names = "--top-p", defaultValue = "1", paramLabel = "P", description = "Nucleus sampling threshold in (0, 1]; 1 (default) = off.")
  double topP;

  @Option(names = "--repetition-penalty", defaultValue = "1", paramLabel = "R",
      description = "Penalty > 0 for tokens already present; 1 (default) = off.")
  double repetitionPenalty;

  @Option(names = "--seed", paramLabel = "SEED", description = "Seed for reproducible sampling.")
  Long seed;

  @Option(names = "--stop", paramLabel = "STR", description = "Stop when the text contains STR (repeatable).")
  List<String> stops = new ArrayList<>();

  @Option(names = "--truncate-prompt", description = "Keep a too-long prompt's last tokens instead of failing.")
  boolean truncatePrompt;

  @Option(names = "--json", description = "Print one JSON object per prompt instead of streaming text.")
  boolean json;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    if (prompts.isEmpty() == (inputIds == null)) {
      throw new IllegalArgumentException("give either --prompt or --input-ids (not both)");
    }
    GenerationConfig config = config();
    Path dir = common.modelDir();
    try (Tokenizer tokenizer = Files.isRegularFile(dir.resolve("tokenizer.json")) ? Tokenizer.load(dir) : null) {
      if (tokenizer == null && (!prompts.isEmpty() || !stops.isEmpty())) {
        throw new IllegalArgumentException((prompts.isEmpty() ? "--stop" : "--prompt")
            + " needs a tokenizer, but " + dir + " has no tokenizer.json");
      }
      List<long[]> rows = tokenizer == null ? Arrays.asList(TokenIds.parse(inputIds)) : encode(tokenizer);
      PretrainedModel loaded = ModelSetup.load(dir, adapterOption.dir(),
          common.loadOptions());
      if (!(loaded instanceof CausalLm)) {
        throw new IllegalArgumentException(dir + " holds a " + loaded.architecture() + ", not a causal language model");
      }
      CausalLm model = (CausalLm) loaded;
      Generator generator = new Generator(model, tokenizer);
      PrintWriter out = spec.commandLine().getOut();
      if (json) {
        printJson(out, generator.generate(rows, config));
      } else {
        for (long[] row : rows) {
          stream(out, generator, row, config, tokenizer != null);
        }
      }
      out.flush();
    }
    return 0;
  }

  private GenerationConfig config() {
    GenerationConfig.Builder b = GenerationConfig.builder().maxNewTokens(maxNewTokens).temperature(temperature)
        .topK(topK).topP(topP).repetitionPenalty(repetitionPenalty).stopStrings(stops).truncatePrompt(truncatePrompt);
    if (seed != null) {
      b.seed(seed);
    }
    return b.build();
  }

  private List<long[]> encode(Tokenizer tokenizer) {
    if (inputIds != null) {
      return Arrays.asList(TokenIds.parse(inputIds));
    }
    List<long[]> rows = new ArrayList<>();
    for (String prompt : prompts) {
      rows.add(Arrays.stream(tokenizer.encode(prompt, true)).asLongStream().toArray());
    }
    return rows;
  }

  private static void printJson(PrintWriter out, List<GenerationResult> results) throws Exception {
    ObjectMapper mapper = new ObjectMapper();
    for (GenerationResult r : results) {
      Map<String, Object> obj = new LinkedHashMap<>();
      obj.put("ids", r.ids());
      obj.put("text", r.text().orElse(null));
      obj.put("finish_reason", r.finishReason().name().toLowerCase(Locale.ROOT));
      out.println(mapper.writeValueAsString(obj));
    }
  }

  /** Generates for one prompt, printing text as it arrives (or the ids at the end, without a tokenizer). */
  private static void stream(PrintWriter out, Generator generator, long[] row, GenerationConfig config, boolean text) {
    if (!text) {
      long[] ids = generator.generate(row, config).ids();
      out.println(Arrays.stream(ids).mapToObj(Long::toString).collect(Collectors.joining(",")));
      return;
    }
    TextStreamer printer = new TextStreamer() {
      @Override
      public void onText(int r, String piece) {
        out.print(piece);
        out.flush();
      }

      @Override
      public void onFinish(int r, FinishReason reason) {
        out.println();
        out.flush();
      }
    };
    generator.generate(row, config.toBuilder().streamer(printer).build());
  }
}
