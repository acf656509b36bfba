package dev.peft4j.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Tokenizer} on MiniLM's WordPiece tokenizer (bert-base-uncased vocabulary). */
class TokenizerTest {
  @TempDir Path tmp;
  Path json;
  JsonNode vocab;
  Tokenizer tok;

  @BeforeEach
  void setUp() throws Exception {
    json = TestTokenizerFiles.copyMiniLm(tmp.resolve("minilm"));
    vocab = TestTokenizerFiles.vocab(json);
    tok = Tokenizer.fromFile(json);
  }

  @AfterEach
  void tearDown() {
    tok.close();
  }

  /** Ids of token strings, looked up in the file's own model.vocab. */
  private int[] ids(String... tokens) {
    int[] ids = new int[tokens.length];
    for (int i = 0; i < tokens.length; i++) {
      assertThat(vocab.has(tokens[i])).as("vocab has %s", tokens[i]).isTrue();
      ids[i] = vocab.get(tokens[i]).asInt();
    }
    return ids;
  }

  @Test
  void helloWorld() {
    assertThat(tok.encode("hello world", true)).containsExactly(101, 7592, 2088, 102);
    assertThat(tok.encode("hello world", true)).containsExactly(ids("[CLS]", "hello", "world", "[SEP]"));
    assertThat(tok.encode("hello world", false)).containsExactly(7592, 2088);
  }

  @Test
  void wordPiecesAndLowercasingMatchTheVocab() {
    // transformers' tokenizer summary: bert-base-uncased splits "I have a new GPU!" into
    // ["i", "have", "a", "new", "gp", "##u", "!"].
    assertThat(tok.encode("I have a new GPU!", true))
        .containsExactly(ids("[CLS]", "i", "have", "a", "new", "gp", "##u", "!", "[SEP]"));
    assertThat(tok.encode("Hello, World.", false)).containsExactly(ids("hello", ",", "world", "."));
  }

  @Test
  void decodes() {
    int[] ids = tok.encode("Hello World", true);
    assertThat(tok.decode(ids, true)).isEqualTo("hello world");
    assertThat(tok.decode(ids, false)).isEqualTo("[CLS] hello world [SEP]");
    assertThat(tok.decode(ids("gp", "##u"), true)).isEqualTo("gpu");
    assertThatThrownBy(() -> tok.decode(new int[] {-1}, true)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void vocabularyLookups() {
    assertThat(tok.vocabSize()).isEqualTo(vocab.size()).isEqualTo(30522);
    assertThat(tok.tokenToId("##u")).isEqualTo(OptionalInt.of(vocab.get("##u").asInt()));
    assertThat(tok.tokenToId("[MASK]")).isEqualTo(OptionalInt.of(vocab.get("[MASK]").asInt()));
    assertThat(tok.tokenToId("definitely-not-a-token")).isEmpty();
    assertThat(tok.idToToken(vocab.get("world").asInt())).isEqualTo("world");
    assertThat(tok.idToToken(101)).isEqualTo("[CLS]");
    assertThatThrownBy(() -> tok.idToToken(1_000_000)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void bareTokenizerJsonHasPadFromItsPaddingSectionButNoBosEos() {
    assertThat(tok.padId()).isEqualTo(OptionalInt.of(vocab.get("[PAD]").asInt()));
    assertThat(tok.bosId()).isEmpty();
    assertThat(tok.eosIds()).isEmpty();
    assertThat(tok.config()).isEqualTo(TokenizerConfig.empty());
  }

  @Test
  void djlNeitherPadsNorTruncatesThoughTheFileAsksFor128() throws Exception {
    assertThat(TestTokenizerFiles.JSON.readTree(json.toFile()).get("padding").toString()).contains("128");
    assertThat(tok.encode("hello", true)).hasSize(3);
    assertThat(tok.encode("word ".repeat(300), true)).hasSize(302);
  }

  @Test
  void djlIsSwitchedToOfflineMode() {
    if (System.getenv("DJL_OFFLINE") == null) {
      assertThat(System.getProperty("ai.djl.offline")).isEqualTo("true");
    }
  }

  @Test
  void batchPadsRight() {
    Tokenizer.Batch b = tok.encodeBatch(List.of("hello world", "hello"), PaddingSide.RIGHT, OptionalInt.empty());
    assertThat(b.size()).isEqualTo(2);
    assertThat(b.length()).isEqualTo(4);
    assertThat(b.ids()[0]).containsExactly(101, 7592, 2088, 102);
    assertThat(b.ids()[1]).containsExactly(101, 7592, 102, 0);
    assertThat(b.attentionMask()[0]).containsExactly(1, 1, 1, 1);
    assertThat(b.attentionMask()[1]).containsExactly(1, 1, 1, 0);
  }

  @Test
  void batchPadsLeft() {
    Tokenizer.Batch b = tok.encodeBatch(List.of("hello", "hello world", "world"), PaddingSide.LEFT, OptionalInt.empty());
    assertThat(b.ids()[0]).containsExactly(0, 101, 7592, 102);
    assertThat(b.ids()[1]).containsExactly(101, 7592, 2088, 102);
    assertThat(b.ids()[2]).containsExactly(0, 101, 2088, 102);
    assertThat(b.attentionMask()[0]).containsExactly(0, 1, 1, 1);
    assertThat(b.attentionMask()[1]).containsExactly(1, 1, 1, 1);
  }

  @Test
  void batchTruncationKeepsPostProcessorTokensLikeTransformers() {
    Tokenizer.Batch b = tok.encodeBatch(
        List.of("hello world again", "hello"), PaddingSide.RIGHT, OptionalInt.of(4));
    assertThat(b.ids()[0]).containsExactly(101, 7592, 2088, 102); // "again" dropped, [SEP] kept
    assertThat(b.ids()[1]).containsExactly(101, 7592, 102, 0);

    Tokenizer.Batch raw = tok.encodeBatch(List.of("hello world again"), false, PaddingSide.RIGHT, OptionalInt.of(2));
    assertThat(raw.ids()[0]).containsExactly(7592, 2088);

    // Special tokens alone exceed the limit: plain cut.
    assertThat(tok.encodeBatch(List.of("hello"), PaddingSide.RIGHT, OptionalInt.of(1)).ids()[0]).containsExactly(101);
    assertThatThrownBy(() -> tok.encodeBatch(List.of("x"), PaddingSide.RIGHT, OptionalInt.of(0)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void emptyBatchAndEmptyText() {
    assertThat(tok.encodeBatch(List.of(), PaddingSide.RIGHT, OptionalInt.empty()).size()).isZero();
    Tokenizer.Batch b = tok.encodeBatch(List.of("", "hi"), false, PaddingSide.LEFT, OptionalInt.empty());
    assertThat(b.ids()[0]).containsExactly(0);
    assertThat(b.attentionMask()[0]).containsExactly(0);
  }

  @Test
  void loadReadsConfigAndGenerationConfig() throws Exception {
    Path dir = json.getParent();
    Files.writeString(dir.resolve("tokenizer_config.json"), """
        {"bos_token": {"__type": "AddedToken", "content": "[CLS]", "lstrip": false},
         "eos_token": "[SEP]", "pad_token": "[PAD]",
         "model_max_length": 1000000000000000019884624838656,
         "padding_side": "left",
         "chat_template": "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\\\n' + message['content'] + '<|im_end|>' + '\\\\n'}}{% endfor %}"}
        """);
    Files.writeString(dir.resolve("generation_config.json"), """
        {"bos_token_id": 1, "eos_token_id": [100, 102], "pad_token_id": 5}
        """);
    try (Tokenizer t = Tokenizer.load(dir)) {
      assertThat(t.bosId()).isEqualTo(OptionalInt.of(101)); // the config's token wins over generation_config
      assertThat(t.eosIds()).containsExactly(102, 100);
      assertThat(t.padId()).isEqualTo(OptionalInt.of(0));
      assertThat(t.config().modelMaxLength()).isEmpty();
      assertThat(t.config().paddingSide()).contains(PaddingSide.LEFT);
      assertThat(t.chatTemplate()).contains(ChatTemplate.CHATML);
      assertThat(t.encode("hello world", true)).containsExactly(101, 7592, 2088, 102);
    }
  }

  @Test
  void generationConfigAloneGivesIds() throws Exception {
    Path dir = json.getParent();
    Files.writeString(dir.resolve("generation_config.json"), "{\"bos_token_id\": 101, \"eos_token_id\": 102}");
    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"model_max_length\": 512}");
    try (Tokenizer t = Tokenizer.load(dir)) {
      assertThat(t.bosId()).isEqualTo(OptionalInt.of(101));
      assertThat(t.eosIds()).containsExactly(102);
      assertThat(t.config().modelMaxLength()).isEqualTo(OptionalInt.of(512));
      assertThat(t.chatTemplate()).isEmpty();
    }
  }

  @Test
  void addBosAddEosFlagsOverrideThePostProcessor() throws Exception {
    Path dir = json.getParent();
    Files.writeString(dir.resolve("tokenizer_config.json"),
        "{\"bos_token\": \"[CLS]\", \"eos_token\": \"[SEP]\", \"add_bos_token\": true, \"add_eos_token\": false}");
    try (Tokenizer t = Tokenizer.load(dir)) {
      assertThat(t.encode("hello world", true)).containsExactly(101, 7592, 2088);
      assertThat(t.encode("hello world", false)).containsExactly(7592, 2088);
      Tokenizer.Batch b = t.encodeBatch(List.of("hello world", "hello"), PaddingSide.RIGHT, OptionalInt.of(2));
      assertThat(b.ids()[0]).containsExactly(101, 7592);
    }
    Files.writeString(dir.resolve("tokenizer_config.json"),
        "{\"bos_token\": \"[CLS]\", \"eos_token\": \"[SEP]\", \"add_bos_token\": false, \"add_eos_token\": true}");
    try (Tokenizer t = Tokenizer.load(dir)) {
      assertThat(t.encode("hello world", true)).containsExactly(7592, 2088, 102);
    }
    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"add_bos_token\": true}");
    assertThatThrownBy(() -> Tokenizer.load(dir))
        .isInstanceOf(TokenizerException.class)
        .hasMessageContaining("add_bos_token")
        .hasMessageContaining(dir.resolve("tokenizer_config.json").toString());
  }

  @Test
  void closedTokenizerRefusesWork() throws Exception {
    Tokenizer t = Tokenizer.fromFile(json);
    t.close();
    t.close();
    assertThatThrownBy(() -> t.encode("x", true)).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> t.decode(new int[] {1}, true)).isInstanceOf(IllegalStateException.class);
  }
}
