package dev.peft4j.generate;

import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * How {@link Generator} picks tokens and when it stops. Build one with {@link #builder()}.
 *
 * <p>Logits go through Hugging Face's pipeline, in its order: repetition penalty, temperature,
 * top-k, top-p, then a sample from the softmax ({@code temperature > 0}) or the argmax
 * ({@code temperature == 0}, greedy; temperature, top-k and top-p are then not used).
 *
 * @param maxNewTokens how many tokens to generate at most per prompt; {@code > 0}
 * @param temperature logits are divided by it before sampling; {@code >= 0}, 0 = greedy
 *     (default 0)
 * @param topK keep only the {@code topK} most likely tokens (and ties with the last); {@code >= 0},
 *     0 = off (default)
 * @param topP keep the smallest set of most likely tokens whose probabilities add up to more than
 *     {@code topP} (nucleus sampling; at least one token is kept); {@code 0 < topP <= 1},
 *     1 = off (default)
 * @param repetitionPenalty for every token already in the prompt or the output, a positive logit
 *     is divided by it and a negative one multiplied by it (CTRL, Keskar et al. 2019, as in
 *     Hugging Face); {@code > 0}, 1 = off (default)
 * @param seed seeds libtorch's generator ({@link dev.peft4j.tensor.Engine#manualSeed}) when
 *     generation starts, so sampling is reproducible; empty = continue the current state
 * @param stopTokenIds ids that end a row; empty = the tokenizer's EOS ids (none without a
 *     tokenizer); an explicit empty set disables stop tokens
 * @param stopStrings texts that end a row as soon as its decoded output contains one (needs a
 *     tokenizer); none by default
 * @param truncatePrompt if a prompt plus {@code maxNewTokens} exceeds the model's context, keep
 *     only the prompt's last tokens instead of failing (default false)
 * @param streamer receives text as it is generated (needs a tokenizer); none by default
 */
public record GenerationConfig(
    int maxNewTokens,
    double temperature,
    int topK,
    double topP,
    double repetitionPenalty,
    OptionalLong seed,
    Optional<Set<Long>> stopTokenIds,
    List<String> stopStrings,
    boolean truncatePrompt,
    Optional<TextStreamer> streamer) {

  /**
   * @throws IllegalArgumentException naming the field and the value, if a value is out of range
   */
  public GenerationConfig {
    check(maxNewTokens > 0, "maxNewTokens must be positive: %s", maxNewTokens);
    check(temperature >= 0 && Double.isFinite(temperature), "temperature must be >= 0 (0 = greedy): %s", temperature);
    check(topK >= 0, "topK must be >= 0 (0 = off): %s", topK);
    check(topP > 0 && topP <= 1, "topP must be in (0, 1] (1 = off): %s", topP);
    check(repetitionPenalty > 0 && Double.isFinite(repetitionPenalty),
        "repetitionPenalty must be positive (1 = off): %s", repetitionPenalty);
    Objects.requireNonNull(seed, "seed");
    stopTokenIds = stopTokenIds.map(ids -> {
      ids.forEach(id -> check(id != null && id >= 0, "stopTokenIds must be non-negative ids: %s", ids));
      return Set.copyOf(ids);
    });
    List<String> strings = List.copyOf(stopStrings);
    strings.forEach(s -> check(!s.isEmpty(), "stopStrings must not contain an empty string: %s", strings));
    stopStrings = strings;
    Objects.requireNonNull(streamer, "streamer");
  }

  /** A builder with the defaults: greedy, no filters, stop on the tokenizer's EOS ids. */
  public static Builder builder() {
    return new Builder();
  }

  /** Greedy decoding of at most {@code maxNewTokens} tokens, everything else default. */
  public static GenerationConfig greedy(int maxNewTokens) {
    return builder().maxNewTokens(maxNewTokens).build();
  }

  /** A builder holding this config's values. */
  public Builder toBuilder() {
    Builder b = new Builder().maxNewTokens(maxNewTokens).temperature(temperature).topK(topK).topP(topP)
        .repetitionPenalty(repetitionPenalty).stopStrings(stopStrings).truncatePrompt(truncatePrompt);
    b.seed = seed;
    b.stopTokenIds = stopTokenIds;
    b.streamer = streamer;
    return b;
  }

  /** Whether tokens are sampled ({@code temperature > 0}) rather than chosen greedily. */
  public boolean sampling() {
    return temperature > 0;
  }

  private static void check(boolean condition, String template, Object value) {
    if (!condition) {
      throw new IllegalArgumentException(String.format(template, value));
    }
  }

  /** Collects a {@link GenerationConfig}; {@link #build()} validates and leaves the builder unchanged. */
  public static final class Builder {
    private int maxNewTokens = 0;
    private double temperature = 0;
    private int topK = 0;
    private double topP = 1;
    private double repetitionPenalty = 1;
    private OptionalLong seed = OptionalLong.empty();
    private Optional<Set<Long>> stopTokenIds = Optional.empty();
    private List<String> stopStrings = List.of();
    private boolean truncatePrompt;
    private Optional<TextStreamer> streamer = Optional.empty();

    private Builder() {}

    /** Required; {@code > 0}. */
    public Builder maxNewTokens(int maxNewTokens) {
      this.maxNewTokens = maxNewTokens;
      return this;
    }

    /** {@code >= 0}; 0 (default) = greedy. */
    public Builder temperature(double temperature) {
      this.temperature = temperature;
      return this;
    }

    /** {@code >= 0}; 0 (default) = off. */
    public Builder topK(int topK) {
      this.topK = topK;
      return this;
    }

    /** In {@code (0, 1]}; 1 (default) = off. */
    public Builder topP(double topP) {
      this.topP = topP;
      return this;
    }

    /** {@code > 0}; 1 (default) = off. */
    public Builder repetitionPenalty(double repetitionPenalty) {
      this.repetitionPenalty = repetitionPenalty;
      return this;
    }

    /** Seeds sampling so that the same seed reproduces the same output. */
    public Builder seed(long seed) {
      this.seed = OptionalLong.of(seed);
      return this;
    }

    /** Ids that end a row, replacing the tokenizer's EOS ids; an empty collection disables stop tokens. */
    public Builder stopTokenIds(Collection<Long> ids) {
      this.stopTokenIds = Optional.of(new LinkedHashSet<>(ids));
      return this;
    }

    /** Texts that end a row; the text is cut before the stop string. */
    public Builder stopStrings(List<String> stopStrings) {
      this.stopStrings = List.copyOf(stopStrings);
      return this;
    }

    /** Keep a too-long prompt's last tokens instead of failing. */
    public Builder truncatePrompt(boolean truncatePrompt) {
      this.truncatePrompt = truncatePrompt;
      return this;
    }

    /** Receives text pieces as they are generated. */
    public Builder streamer(TextStreamer streamer) {
      this.streamer = Optional.of(Objects.requireNonNull(streamer, "streamer"));
      return this;
    }

    /**
     * @throws IllegalArgumentException naming the field, if a value is out of range (also when
     *     {@link #maxNewTokens} was not set)
     */
    public GenerationConfig build() {
      return new GenerationConfig(maxNewTokens, temperature, topK, topP, repetitionPenalty, seed,
          stopTokenIds, stopStrings, truncatePrompt, streamer);
    }
  }
}
