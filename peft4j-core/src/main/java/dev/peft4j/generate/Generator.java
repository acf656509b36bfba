package dev.peft4j.generate;

import dev.peft4j.model.CausalLm;
import dev.peft4j.nn.KvCache;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.text.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Generates continuations of token-id prompts with a {@link CausalLm}.
 *
 * <p>Prompts of a call run as one batch: padded on the left (so every row's next token is at the
 * last position) with an attention mask, prefilled once, then decoded one token per step with a
 * {@link KvCache}. A padded row gives the same tokens as the prompt run alone. A row that has
 * finished keeps being fed a masked pad token until every row has finished or
 * {@link GenerationConfig#maxNewTokens()} is reached. Each step runs in its own {@link Scope}
 * under {@link Engine#noGrad()}; the cache is freed when the call returns.
 *
 * <p>A generator holds no state between calls. Sampling draws from libtorch's default generator,
 * which is process-wide: for reproducible output set {@link GenerationConfig#seed()} and do not
 * sample on other threads at the same time.
 */
public final class Generator {
  private final CausalLm model;
  private final Tokenizer tokenizer;

  /**
   * @param model the language model
   * @param tokenizer decodes the output and supplies the default stop ids (its EOS ids); null for
   *     id-only use, which has no text, no stop strings and no streaming
   */
  public Generator(CausalLm model, Tokenizer tokenizer) {
    this.model = Objects.requireNonNull(model, "model");
    this.tokenizer = tokenizer;
  }

  /** Generates for one prompt; see {@link #generate(List, GenerationConfig)}. */
  public GenerationResult generate(long[] prompt, GenerationConfig config) {
    return generate(List.of(prompt), config).get(0);
  }

  /**
   * Generates a continuation of every prompt.
   *
   * @param prompts token ids of each prompt, at least one token each
   * @return one result per prompt, in order
   * @throws IllegalArgumentException if there are no prompts, a prompt is empty or has an id
   *     outside the model's vocabulary, a prompt plus {@code maxNewTokens} is longer than the
   *     model's {@link CausalLm#contextLength()} (unless {@code truncatePrompt}), or stop strings
   *     or a streamer are set without a tokenizer
   */
  public List<GenerationResult> generate(List<long[]> prompts, GenerationConfig config) {
    Objects.requireNonNull(prompts, "prompts");
    Objects.requireNonNull(config, "config");
    if (prompts.isEmpty()) {
      throw new IllegalArgumentException("no prompts to generate from");
    }
    if (tokenizer == null && !config.stopStrings().isEmpty()) {
      throw new IllegalArgumentException("stop strings need a tokenizer: " + config.stopStrings());
    }
    if (tokenizer == null && config.streamer().isPresent()) {
      throw new IllegalArgumentException("streaming text needs a tokenizer");
    }
    long[][] rows = fitToContext(prompts, config);
    if (config.seed().isPresent()) {
      Engine.manualSeed(config.seed().getAsLong());
    }
    return new Run(rows, config, stopIds(config)).decode();
  }

  /** Checks the prompts; truncates them on the left when asked to and they are too long. */
  private long[][] fitToContext(List<long[]> prompts, GenerationConfig config) {
    long context = model.contextLength();
    int maxNew = config.maxNewTokens();
    if (maxNew >= context) {
      throw new IllegalArgumentException("maxNewTokens " + maxNew
          + " leaves no room for a prompt in the model's context length of " + context + " tokens");
    }
    long[][] rows = new long[prompts.size()][];
    for (int i = 0; i < rows.length; i++) {
      long[] prompt = Objects.requireNonNull(prompts.get(i), "prompt " + i);
      if (prompt.length == 0) {
        throw new IllegalArgumentException("prompt " + i + " is empty; it needs at least one token (e.g. BOS)");
      }
      for (long id : prompt) {
        if (id < 0 || id >= model.vocabSize()) {
          throw new IllegalArgumentException("prompt " + i + ": token id " + id
              + " is outside the model's vocabulary [0, " + model.vocabSize() + ")");
        }
      }
      if (prompt.length + maxNew > context) {
        if (!config.truncatePrompt()) {
          throw new IllegalArgumentException("prompt " + i + " has " + prompt.length + " tokens; with maxNewTokens "
              + maxNew + " that is " + (prompt.length + maxNew) + ", more than the model's context length of "
              + context + " tokens (shorten the prompt, lower maxNewTokens, or set truncatePrompt)");
        }
        prompt = Arrays.copyOfRange(prompt, (int) (prompt.length - (context - maxNew)), prompt.length);
      }
      rows[i] = prompt;
    }
    return rows;
  }

  private Set<Long> stopIds(GenerationConfig config) {
    if (config.stopTokenIds().isPresent()) {
      return config.stopTokenIds().get();
    }
    if (tokenizer == null) {
      return Set.of();
    }
    return tokenizer.eosIds().stream().map(Integer::longValue).collect(Collectors.toUnmodifiableSet());
  }

  /** The state of one {@code generate} call. */
  private final class Run {
    private final GenerationConfig config;
    private final Set<Long> stopIds;
    private final LogitsPipeline pipeline;
    private final DecodeBatch batch;
    private final SeenTokens seen;      // null without repetition penalty
    private final RowText[] texts;      // null without tokenizer
    private final long[][] output;      // [B][maxNewTokens]
    private final int[] counts;
    private final boolean[] active;
    private final FinishReason[] reasons;
    private int remaining;

    Run(long[][] rows, GenerationConfig config, Set<Long> stopIds) {
      this.config = config;
      this.stopIds = stopIds;
      this.pipeline = new LogitsPipeline(config);
      this.batch = new DecodeBatch(rows, config.maxNewTokens());
      this.seen = pipeline.needsPresence() ? new SeenTokens(rows, model.vocabSize()) : null;
      this.texts = tokenizer == null ? null : new RowText[rows.length];
      for (int r = 0; texts != null && r < rows.length; r++) {
        texts[r] = new RowText(tokenizer, config.stopStrings(), config.streamer().isPresent());
      }
      this.output = new long[rows.length][config.maxNewTokens()];
      this.counts = new int[rows.length];
      this.active = new boolean[rows.length];
      Arrays.fill(active, true);
      this.reasons = new FinishReason[rows.length];
      this.remaining = rows.length;
    }

    List<GenerationResult> decode() {
      try (Engine.GradGuard noGrad = Engine.noGrad(); KvCache cache = model.newCache()) {
        long[] next;
        try (Scope scope = Scope.open()) {
          next = nextTokens(batch.promptIds(), cache);
        }
        while (true) {
          for (int r = 0; r < active.length; r++) {
            if (active[r]) {
              accept(r, next[r]);
            }
          }
          if (remaining == 0) {
            break;
          }
          try (Scope scope = Scope.open()) {
            next = nextTokens(batch.append(next, active), cache);
          }
        }
      }
      List<GenerationResult> results = new ArrayList<>(active.length);
      for (int r = 0; r < active.length; r++) {
        Optional<String> text = texts == null ? Optional.empty() : Optional.of(texts[r].text());
        results.add(new GenerationResult(Arrays.copyOf(output[r], counts[r]), text, reasons[r]));
      }
      return results;
    }

    /** Runs the model on {@code ids} [B, T] after the cache and picks each row's next token. */
    private long[] nextTokens(Tensor ids, KvCache cache) {
      Tensor last = model.lastLogits(ids, batch.mask(), cache).to(DType.F32); // [B, V]
      return pipeline.choose(last, seen == null ? null : seen.mask()).toLongArray();
    }

    private void accept(int row, long token) {
      output[row][counts[row]++] = token;
      if (seen != null) {
        seen.add(row, token);
      }
      if (stopIds.contains(token)) {
        finish(row, FinishReason.STOP_TOKEN);
        return;
      }
      if (texts != null) {
        stream(row, texts[row].add(token));
        if (texts[row].stoppedByString()) {
          finish(row, FinishReason.STOP_STRING);
          return;
        }
      }
      if (counts[row] == config.maxNewTokens()) {
        finish(row, FinishReason.LENGTH);
      }
    }

    private void finish(int row, FinishReason reason) {
      active[row] = false;
      reasons[row] = reason;
      remaining--;
      if (texts != null) {
        stream(row, texts[row].finish());
      }
      config.streamer().ifPresent(s -> s.onFinish(row, reason));
    }

    private void stream(int row, String piece) {
      if (!piece.isEmpty() && config.streamer().isPresent()) {
        config.streamer().get().onText(row, piece);
      }
    }
  }
}
