package dev.peft4j.data;

import static dev.peft4j.data.EncodedExample.IGNORE_INDEX;

import dev.peft4j.text.ChatPrompt;
import dev.peft4j.text.ChatTemplate;
import dev.peft4j.text.PaddingSide;
import dev.peft4j.text.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * Tokenises {@link Example}s into {@link EncodedExample}s with the loss mask of each format:
 *
 * <ul>
 *   <li>{@link TextExample}: the text with the tokenizer's special tokens; labels = ids.
 *   <li>{@link PromptCompletion} and {@link AlpacaExample} (through {@link
 *       AlpacaExample#toPromptCompletion()}): the prompt with special tokens, then the completion
 *       without, then the EOS id when the tokenizer has one (the first of {@link
 *       Tokenizer#eosIds()}) and the completion does not already end with it. The two parts are
 *       tokenised separately, so the prompt/completion boundary is exact; labels are {@link
 *       EncodedExample#IGNORE_INDEX} on the prompt (including the special tokens added to it) and
 *       the ids on the completion and its EOS, which the model must learn in order to stop.
 *   <li>{@link ChatExample}: rendered with the chat template; the prompt ({@link
 *       ChatPrompt#prompt()}) and the final reply ({@link ChatPrompt#completion()}, which ends in
 *       the template's end-of-turn marker) are tokenised without special tokens (the rendered
 *       text holds them) and labelled as above; no EOS is appended.
 *   <li>{@link ClassificationExample}: the text with special tokens; the class id from the
 *       {@link LabelSet}.
 * </ul>
 *
 * <p>With a {@link Builder#maxLength max length}, longer examples keep their start: text and
 * classification examples are truncated as {@link Tokenizer#encodeBatch} truncates (keeping the
 * special tokens the post-processor adds, such as a final {@code [SEP]}); prompt/completion and
 * chat examples are cut at the end, so a truncated completion has no EOS. Alternatively {@link
 * Builder#failOnOverflow()} makes an overlong example an error.
 *
 * <p>A tokenizer whose {@code tokenizer_config.json} sets {@code add_eos_token} also puts EOS at
 * the end of the prompt (it is encoded with special tokens); such tokenizers are rare. Immutable and thread-safe as long
 * as the tokenizer stays open.
 */
public final class ExampleTokenizer {
  private final Tokenizer tokenizer;
  private final OptionalInt maxLength;
  private final boolean failOnOverflow;
  private final ChatTemplate chatTemplate; // null: the tokenizer's own
  private final LabelSet labels; // null: no classification
  private final OptionalInt eosId;

  private ExampleTokenizer(Builder b) {
    this.tokenizer = b.tokenizer;
    this.maxLength = b.maxLength;
    this.failOnOverflow = b.failOnOverflow;
    this.chatTemplate = b.chatTemplate;
    this.labels = b.labels;
    this.eosId = b.tokenizer.eosIds().isEmpty()
        ? OptionalInt.empty()
        : OptionalInt.of(b.tokenizer.eosIds().iterator().next());
  }

  /** A builder: no max length, truncation on overflow, the tokenizer's chat template, no labels. */
  public static Builder builder(Tokenizer tokenizer) {
    return new Builder(tokenizer);
  }

  /**
   * Encodes one example.
   *
   * @throws IllegalArgumentException if the example encodes to no tokens, is longer than the max
   *     length under {@link Builder#failOnOverflow()}, has a prompt that fills the max length
   *     (nothing left to learn), is a chat the template rejects, or has a label that is not in
   *     the label set
   * @throws IllegalStateException for a chat example when there is no chat template, or a
   *     classification example when there is no label set
   */
  public EncodedExample encode(Example example) {
    Objects.requireNonNull(example, "example");
    if (example instanceof TextExample) {
      int[] ids = encodeWhole(((TextExample) example).text());
      return EncodedExample.lm(ids, ids);
    }
    if (example instanceof PromptCompletion) {
      PromptCompletion pc = (PromptCompletion) example;
      return promptCompletion(pc.prompt(), pc.completion(), true);
    }
    if (example instanceof AlpacaExample) {
      PromptCompletion pc = ((AlpacaExample) example).toPromptCompletion();
      return promptCompletion(pc.prompt(), pc.completion(), true);
    }
    if (example instanceof ChatExample) {
      ChatPrompt chat = ((ChatExample) example).render(chatTemplate());
      return promptCompletion(chat.prompt(), chat.completion(), false);
    }
    if (example instanceof ClassificationExample) {
      ClassificationExample c = (ClassificationExample) example;
      if (labels == null) {
        throw new IllegalStateException("classification examples need a LabelSet: ExampleTokenizer.builder(...).labels(...)");
      }
      int classId = labels.id(c.label());
      return EncodedExample.classification(encodeWhole(c.text()), classId);
    }
    throw new AssertionError("unknown example type: " + example.getClass());
  }

  /**
   * Encodes every example of {@code dataset}, in order.
   *
   * @throws DatasetException naming the file and line of the first example {@link #encode} rejects
   * @throws IllegalStateException as {@link #encode}
   */
  public List<EncodedExample> encodeAll(Dataset dataset) throws DatasetException {
    List<EncodedExample> out = new ArrayList<>(dataset.size());
    for (int i = 0; i < dataset.size(); i++) {
      try {
        out.add(encode(dataset.get(i)));
      } catch (IllegalArgumentException e) {
        throw dataset.errorAt(i, e.getMessage(), e);
      }
    }
    return out;
  }

  /** The tokenizer this encodes with. */
  public Tokenizer tokenizer() {
    return tokenizer;
  }

  /** The max length, if any. */
  public OptionalInt maxLength() {
    return maxLength;
  }

  /** A text with special tokens, truncated as {@link Tokenizer#encodeBatch} does. */
  private int[] encodeWhole(String text) {
    int[] ids = tokenizer.encode(text, true);
    if (ids.length == 0) {
      throw new IllegalArgumentException("the text encodes to no tokens");
    }
    if (maxLength.isPresent() && ids.length > maxLength.getAsInt()) {
      checkOverflow(ids.length);
      ids = tokenizer.encodeBatch(List.of(text), true, PaddingSide.RIGHT, maxLength).ids()[0];
    }
    return ids;
  }

  private EncodedExample promptCompletion(String prompt, String completion, boolean plainText) {
    int[] p = tokenizer.encode(prompt, plainText);
    int[] c = tokenizer.encode(completion, false);
    if (plainText && eosId.isPresent() && (c.length == 0 || c[c.length - 1] != eosId.getAsInt())) {
      c = Arrays.copyOf(c, c.length + 1);
      c[c.length - 1] = eosId.getAsInt();
    }
    if (c.length == 0) {
      throw new IllegalArgumentException("the completion encodes to no tokens (and the tokenizer has no EOS token)");
    }
    int length = p.length + c.length;
    if (maxLength.isPresent() && length > maxLength.getAsInt()) {
      checkOverflow(length);
      if (p.length >= maxLength.getAsInt()) {
        throw new IllegalArgumentException("the prompt alone has " + p.length + " tokens, so max length "
            + maxLength.getAsInt() + " leaves no completion token to learn");
      }
      length = maxLength.getAsInt();
    }
    int[] ids = new int[length];
    int[] labels = new int[length];
    Arrays.fill(labels, 0, p.length, IGNORE_INDEX);
    System.arraycopy(p, 0, ids, 0, p.length);
    System.arraycopy(c, 0, ids, p.length, length - p.length);
    System.arraycopy(c, 0, labels, p.length, length - p.length);
    return EncodedExample.lm(ids, labels);
  }

  private void checkOverflow(int length) {
    if (failOnOverflow) {
      throw new IllegalArgumentException(
          "the example has " + length + " tokens, more than the max length " + maxLength.getAsInt());
    }
  }

  private ChatTemplate chatTemplate() {
    if (chatTemplate != null) {
      return chatTemplate;
    }
    return tokenizer.chatTemplate().orElseThrow(() -> new IllegalStateException(
        "chat examples need a chat template: " + tokenizer.source() + " has none that peft4j recognises;"
            + " set one with ExampleTokenizer.builder(...).chatTemplate(...)"));
  }

  /** Configures an {@link ExampleTokenizer}; each setting may be given once. */
  public static final class Builder {
    private final Tokenizer tokenizer;
    private OptionalInt maxLength = OptionalInt.empty();
    private boolean failOnOverflow;
    private ChatTemplate chatTemplate;
    private LabelSet labels;

    private Builder(Tokenizer tokenizer) {
      this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
    }

    /**
     * The most tokens an example may have; longer ones are truncated keeping the start (or
     * rejected, see {@link #failOnOverflow()}). Default: no limit.
     *
     * @throws IllegalArgumentException if not positive
     * @throws IllegalStateException if already set
     */
    public Builder maxLength(int maxLength) {
      if (maxLength <= 0) {
        throw new IllegalArgumentException("maxLength must be positive: " + maxLength);
      }
      if (this.maxLength.isPresent()) {
        throw new IllegalStateException("maxLength was already set to " + this.maxLength.getAsInt());
      }
      this.maxLength = OptionalInt.of(maxLength);
      return this;
    }

    /** Reject examples longer than the max length instead of truncating them. */
    public Builder failOnOverflow() {
      this.failOnOverflow = true;
      return this;
    }

    /**
     * The template for {@link ChatExample}s. Default: the one {@link Tokenizer#chatTemplate()}
     * recognises in {@code tokenizer_config.json}.
     *
     * @throws IllegalStateException if already set
     */
    public Builder chatTemplate(ChatTemplate template) {
      if (chatTemplate != null) {
        throw new IllegalStateException("chatTemplate was already set to " + chatTemplate.name());
      }
      this.chatTemplate = Objects.requireNonNull(template, "template");
      return this;
    }

    /**
     * The label set mapping {@link ClassificationExample} labels to class ids; required for
     * classification.
     *
     * @throws IllegalStateException if already set
     */
    public Builder labels(LabelSet labels) {
      if (this.labels != null) {
        throw new IllegalStateException("labels were already set to " + this.labels);
      }
      this.labels = Objects.requireNonNull(labels, "labels");
      return this;
    }

    /**
     * Builds the encoder.
     *
     * @throws IllegalStateException if {@link #failOnOverflow()} was set without a max length
     */
    public ExampleTokenizer build() {
      if (failOnOverflow && maxLength.isEmpty()) {
        throw new IllegalStateException("failOnOverflow needs a maxLength");
      }
      return new ExampleTokenizer(this);
    }
  }
}
