package dev.peft4j.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A Hugging Face fast tokenizer ({@code tokenizer.json}) run by the Rust {@code tokenizers}
 * library through DJL, from local files only.
 *
 * <p>Encoding follows {@code tokenizer.json} exactly (normalizer, pre-tokenizer, model,
 * post-processor), except that DJL never pads or truncates: {@link #encodeBatch} does that, and
 * when {@code tokenizer_config.json} sets {@code add_bos_token}/{@code add_eos_token} those flags
 * decide which special tokens are added. Decoding is the {@code tokenizer.json} decoder's output;
 * transformers' {@code clean_up_tokenization_spaces} is not applied.
 *
 * <p>Encoding and decoding may run concurrently from several threads; {@link #close()} must not
 * race with them. Instances hold native memory: close them.
 */
public final class Tokenizer implements AutoCloseable {

  /**
   * Token ids of several texts, padded to one length.
   *
   * @param ids {@code [batch][length]} token ids; padding positions hold the pad id
   * @param attentionMask {@code [batch][length]}: 1 for real tokens, 0 for padding
   */
  public record Batch(int[][] ids, int[][] attentionMask) {
    public Batch {
      if (ids.length != attentionMask.length) {
        throw new IllegalArgumentException(
            "ids and attentionMask differ in rows: " + ids.length + " vs " + attentionMask.length);
      }
    }

    /** Number of rows. */
    public int size() {
      return ids.length;
    }

    /** Length of every row (0 for an empty batch). */
    public int length() {
      return ids.length == 0 ? 0 : ids[0].length;
    }
  }

  private final Path source;
  private final HuggingFaceTokenizer rust;
  private final Vocabulary vocabulary;
  private final TokenizerConfig config;
  private final OptionalInt bosId;
  private final Set<Integer> eosIds;
  private final OptionalInt padId;
  /** Non-null when add_bos_token/add_eos_token override the post-processor. */
  private final SpecialTokenOverride override;
  private volatile boolean closed;

  private record SpecialTokenOverride(OptionalInt bos, OptionalInt eos) {}

  /** One encoded row before padding. {@code special[i]}: added by the post-processor. */
  private record Row(int[] ids, boolean[] special) {}

  private Tokenizer(Path source, HuggingFaceTokenizer rust, Vocabulary vocabulary, TokenizerConfig config,
      GenerationTokenIds generation, Path configFile) throws TokenizerException {
    this.source = source;
    this.rust = rust;
    this.vocabulary = vocabulary;
    this.config = config;
    this.bosId = or(idOf(config.bosToken(), vocabulary), generation.bos());
    LinkedHashSet<Integer> eos = new LinkedHashSet<>();
    idOf(config.eosToken(), vocabulary).ifPresent(eos::add);
    eos.addAll(generation.eos());
    this.eosIds = Collections.unmodifiableSet(eos);
    this.padId = or(or(idOf(config.padToken(), vocabulary), generation.pad()),
        or(idOf(vocabulary.padToken(), vocabulary), vocabulary.padId()));
    if (config.addBosToken().isPresent() || config.addEosToken().isPresent()) {
      // transformers' LlamaTokenizerFast defaults: add_bos_token=True, add_eos_token=False.
      boolean addBos = config.addBosToken().orElse(true);
      boolean addEos = config.addEosToken().orElse(false);
      if (addBos && bosId.isEmpty()) {
        throw new TokenizerException(configFile, "add_bos_token is true but bos_token is unset or not in the vocabulary");
      }
      if (addEos && eos.isEmpty()) {
        throw new TokenizerException(configFile, "add_eos_token is true but eos_token is unset or not in the vocabulary");
      }
      this.override = new SpecialTokenOverride(
          addBos ? bosId : OptionalInt.empty(),
          addEos ? OptionalInt.of(eos.iterator().next()) : OptionalInt.empty());
    } else {
      this.override = null;
    }
  }

  /**
   * Loads the tokenizer of a model directory: {@code tokenizer.json}, plus, when present,
   * {@code tokenizer_config.json} (special tokens, {@code add_bos_token}/{@code add_eos_token},
   * {@code model_max_length}, {@code padding_side}, {@code chat_template}),
   * {@code chat_template.jinja} (used when the config has no template, as newer transformers
   * save it there) and {@code generation_config.json} ({@code bos_token_id},
   * {@code eos_token_id}, {@code pad_token_id}).
   *
   * @throws TokenizerException naming the path, if {@code modelDir} is not a directory, has no
   *     {@code tokenizer.json}, or one of the files is not valid
   */
  public static Tokenizer load(Path modelDir) throws TokenizerException {
    if (!Files.isDirectory(modelDir)) {
      throw new TokenizerException(modelDir, "model directory not found");
    }
    Path json = modelDir.resolve("tokenizer.json");
    if (!Files.isRegularFile(json)) {
      throw new TokenizerException(json, "tokenizer.json not found");
    }
    Path configFile = modelDir.resolve("tokenizer_config.json");
    TokenizerConfig config = Files.isRegularFile(configFile) ? TokenizerConfig.read(configFile) : TokenizerConfig.empty();
    Path jinja = modelDir.resolve("chat_template.jinja");
    if (config.chatTemplate().isEmpty() && Files.isRegularFile(jinja)) {
      try {
        config = config.withChatTemplate(Files.readString(jinja));
      } catch (IOException e) {
        throw new TokenizerException(jinja, "cannot read", e);
      }
    }
    Path genFile = modelDir.resolve("generation_config.json");
    GenerationTokenIds generation = Files.isRegularFile(genFile) ? GenerationTokenIds.read(genFile) : GenerationTokenIds.NONE;
    return open(json, config, generation, configFile);
  }

  /**
   * Loads a bare {@code tokenizer.json}, without any config: BOS and EOS ids are then unknown
   * and the pad id comes from the file's {@code padding} section, if any.
   *
   * @throws TokenizerException naming the file, if it is missing, not JSON, or not a tokenizer
   */
  public static Tokenizer fromFile(Path tokenizerJson) throws TokenizerException {
    if (!Files.isRegularFile(tokenizerJson)) {
      throw new TokenizerException(tokenizerJson, "tokenizer file not found");
    }
    return open(tokenizerJson, TokenizerConfig.empty(), GenerationTokenIds.NONE, null);
  }

  private static Tokenizer open(Path json, TokenizerConfig config, GenerationTokenIds generation, Path configFile)
      throws TokenizerException {
    Vocabulary vocabulary = Vocabulary.read(json);
    HuggingFaceTokenizer rust;
    try {
      rust = DjlTokenizers.open(json);
    } catch (IOException | RuntimeException e) {
      // The Rust side rejects JSON that is not a tokenizer with a RuntimeException ("data did not match ...").
      throw new TokenizerException(json, "not a valid tokenizer.json", e);
    }
    try {
      return new Tokenizer(json, rust, vocabulary, config, generation, configFile);
    } catch (TokenizerException | RuntimeException e) {
      rust.close();
      throw e;
    }
  }

  /**
   * Encodes one text.
   *
   * @param addSpecialTokens add the special tokens of the post-processor (e.g. BERT's
   *     {@code [CLS] ... [SEP]}, Llama's BOS); pass {@code false} for text rendered by a
   *     {@link ChatTemplate}, which already contains them
   */
  public int[] encode(String text, boolean addSpecialTokens) {
    Objects.requireNonNull(text, "text");
    requireOpen();
    if (addSpecialTokens && override != null) {
      return withOverride(toInts(rust.encode(text, false, false).getIds())).ids();
    }
    return toInts(rust.encode(text, addSpecialTokens, false).getIds());
  }

  /**
   * Decodes ids to text with the {@code tokenizer.json} decoder.
   *
   * @param skipSpecialTokens leave out special tokens (BOS, EOS, pad, ...)
   * @throws IllegalArgumentException if an id is negative
   */
  public String decode(int[] ids, boolean skipSpecialTokens) {
    long[] longs = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] < 0) {
        throw new IllegalArgumentException("token ids must be non-negative: ids[" + i + "] = " + ids[i]);
      }
      longs[i] = ids[i];
    }
    requireOpen();
    return rust.decode(longs, skipSpecialTokens);
  }

  /**
   * Encodes several texts with special tokens; see {@link #encodeBatch(List, boolean, PaddingSide, OptionalInt)}.
   */
  public Batch encodeBatch(List<String> texts, PaddingSide side, OptionalInt maxLength) {
    return encodeBatch(texts, true, side, maxLength);
  }

  /**
   * Encodes several texts and pads them to the longest row with {@link #padIdForBatch()}.
   *
   * <p>Truncation, when {@code maxLength} is given, works like transformers' right-side
   * truncation: tokens are dropped from the end of the text while the special tokens the
   * post-processor added (such as a final {@code [SEP]}) are kept, so every row has at most
   * {@code maxLength} tokens. Only when the special tokens alone exceed {@code maxLength} is the
   * row simply cut.
   *
   * @throws IllegalArgumentException if {@code maxLength} is not positive
   * @throws IllegalStateException if rows need padding and the tokenizer has neither a pad nor an
   *     EOS token
   */
  public Batch encodeBatch(List<String> texts, boolean addSpecialTokens, PaddingSide side, OptionalInt maxLength) {
    Objects.requireNonNull(texts, "texts");
    Objects.requireNonNull(side, "side");
    if (maxLength.isPresent() && maxLength.getAsInt() <= 0) {
      throw new IllegalArgumentException("maxLength must be positive: " + maxLength.getAsInt());
    }
    texts.forEach(t -> Objects.requireNonNull(t, "texts contains null"));
    requireOpen();
    boolean rustSpecials = addSpecialTokens && override == null;
    Encoding[] encodings = texts.isEmpty() ? new Encoding[0] : rust.batchEncode(texts, rustSpecials, false);
    List<Row> rows = new ArrayList<>(encodings.length);
    for (Encoding e : encodings) {
      Row row;
      if (addSpecialTokens && override != null) {
        row = withOverride(toInts(e.getIds()));
      } else {
        long[] mask = e.getSpecialTokenMask();
        boolean[] special = new boolean[mask.length];
        for (int i = 0; i < mask.length; i++) {
          special[i] = rustSpecials && mask[i] == 1;
        }
        row = new Row(toInts(e.getIds()), special);
      }
      rows.add(maxLength.isPresent() ? truncate(row, maxLength.getAsInt()) : row);
    }
    return pad(rows, side);
  }

  private Batch pad(List<Row> rows, PaddingSide side) {
    int width = rows.stream().mapToInt(r -> r.ids().length).max().orElse(0);
    boolean ragged = rows.stream().anyMatch(r -> r.ids().length != width);
    int pad = ragged ? padIdForBatch() : 0;
    int[][] ids = new int[rows.size()][width];
    int[][] mask = new int[rows.size()][width];
    for (int r = 0; r < rows.size(); r++) {
      int[] row = rows.get(r).ids();
      int offset = side == PaddingSide.LEFT ? width - row.length : 0;
      Arrays.fill(ids[r], pad);
      System.arraycopy(row, 0, ids[r], offset, row.length);
      Arrays.fill(mask[r], offset, offset + row.length, 1);
    }
    return new Batch(ids, mask);
  }

  /** Drops trailing non-special tokens until the row fits, keeping post-processor tokens. */
  private static Row truncate(Row row, int maxLength) {
    int excess = row.ids().length - maxLength;
    if (excess <= 0) {
      return row;
    }
    int nonSpecial = 0;
    for (boolean s : row.special()) {
      nonSpecial += s ? 0 : 1;
    }
    if (nonSpecial < excess) {
      return new Row(Arrays.copyOf(row.ids(), maxLength), Arrays.copyOf(row.special(), maxLength));
    }
    boolean[] drop = new boolean[row.ids().length];
    for (int i = row.ids().length - 1; i >= 0 && excess > 0; i--) {
      if (!row.special()[i]) {
        drop[i] = true;
        excess--;
      }
    }
    int[] ids = new int[maxLength];
    boolean[] special = new boolean[maxLength];
    int k = 0;
    for (int i = 0; i < drop.length; i++) {
      if (!drop[i]) {
        ids[k] = row.ids()[i];
        special[k++] = row.special()[i];
      }
    }
    return new Row(ids, special);
  }

  private Row withOverride(int[] content) {
    int bos = override.bos().isPresent() ? 1 : 0;
    int eos = override.eos().isPresent() ? 1 : 0;
    int[] ids = new int[bos + content.length + eos];
    boolean[] special = new boolean[ids.length];
    if (bos == 1) {
      ids[0] = override.bos().getAsInt();
      special[0] = true;
    }
    System.arraycopy(content, 0, ids, bos, content.length);
    if (eos == 1) {
      ids[ids.length - 1] = override.eos().getAsInt();
      special[ids.length - 1] = true;
    }
    return new Row(ids, special);
  }

  /** The BOS id: {@code bos_token} of the config, else {@code bos_token_id} of the generation config. */
  public OptionalInt bosId() {
    return bosId;
  }

  /**
   * Ids that end generation: the config's {@code eos_token} first, then every
   * {@code eos_token_id} of the generation config (Llama-3-Instruct lists two). Empty for a bare
   * tokenizer.json. Iteration order is as described.
   */
  public Set<Integer> eosIds() {
    return eosIds;
  }

  /**
   * The pad id: the config's {@code pad_token}, else the generation config's
   * {@code pad_token_id}, else the {@code padding} section of tokenizer.json. Many causal models
   * (Llama) have none.
   */
  public OptionalInt padId() {
    return padId;
  }

  /**
   * The id {@link #encodeBatch} pads with: {@link #padId()}, or when there is none the first of
   * {@link #eosIds()} (the usual choice for Llama models; padding is masked out anyway).
   *
   * @throws IllegalStateException if there is neither
   */
  public int padIdForBatch() {
    if (padId.isPresent()) {
      return padId.getAsInt();
    }
    if (!eosIds.isEmpty()) {
      return eosIds.iterator().next();
    }
    throw new IllegalStateException(
        "cannot pad: " + source + " has no pad token and no EOS token (set pad_token in tokenizer_config.json)");
  }

  /**
   * Number of distinct token ids: the model vocabulary plus added tokens that are not in it, as
   * Rust {@code get_vocab_size(true)} and Python {@code len(tokenizer)}. The embedding matrix of
   * the model may be larger (padded).
   */
  public int vocabSize() {
    return vocabulary.size();
  }

  /**
   * The token string of {@code id} as stored in tokenizer.json (e.g. {@code "##u"} or
   * {@code "Ġworld"}).
   *
   * @throws IllegalArgumentException if no token has this id
   */
  public String idToToken(int id) {
    return vocabulary.token(id).orElseThrow(
        () -> new IllegalArgumentException("no token with id " + id + " in " + source));
  }

  /** The id of a token string as stored in tokenizer.json, or empty if it is not in the vocabulary. */
  public OptionalInt tokenToId(String token) {
    return vocabulary.id(Objects.requireNonNull(token, "token"));
  }

  /** The {@code tokenizer_config.json} settings ({@link TokenizerConfig#empty()} for {@link #fromFile}). */
  public TokenizerConfig config() {
    return config;
  }

  /** The built-in chat template recognised in the config's {@code chat_template}, if any. */
  public Optional<ChatTemplate> chatTemplate() {
    return config.detectChatTemplate();
  }

  /** The tokenizer.json this tokenizer was loaded from. */
  public Path source() {
    return source;
  }

  /** Frees the native tokenizer. Idempotent; other methods then throw {@link IllegalStateException}. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      rust.close();
    }
  }

  @Override
  public String toString() {
    return "Tokenizer[" + source + ", vocabSize=" + vocabSize() + "]";
  }

  private void requireOpen() {
    if (closed) {
      throw new IllegalStateException("tokenizer is closed: " + source);
    }
  }

  /** The id of an optional token string; empty if absent or not in the vocabulary. */
  private static OptionalInt idOf(Optional<String> token, Vocabulary vocabulary) {
    return token.isPresent() ? vocabulary.id(token.get()) : OptionalInt.empty();
  }

  private static OptionalInt or(OptionalInt first, OptionalInt second) {
    return first.isPresent() ? first : second;
  }

  private static int[] toInts(long[] ids) {
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = Math.toIntExact(ids[i]);
    }
    return out;
  }
}
