package dev.peft4j.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A byte-level BPE tokenizer (GPT-2 / Llama-3 style) built by the test: lossless on any text. */
class ByteLevelRoundTripTest {
  @TempDir Path tmp;

  @ParameterizedTest
  @ValueSource(strings = {
      "Hello, world!",
      "  leading, inner   runs,\tand trailing spaces   ",
      "line\nbreaks\r\nand\n\n\nblank lines\n",
      "naïve café, Ωμέγα, русский, עברית, العربية",
      "日本語のテキストと中文字符，한국어",
      "emoji 😀 👍🏽 family 👨‍👩‍👧 flag 🇫🇷",
      "\u0000\u0007 control \u200b zero-width \u00a0 nbsp",
      "",
  })
  void decodeOfEncodeIsIdentity(String text) throws Exception {
    try (Tokenizer t = Tokenizer.fromFile(TestTokenizerFiles.writeByteLevel(tmp))) {
      int[] ids = t.encode(text, true);
      assertThat(t.decode(ids, false)).isEqualTo(text);
      assertThat(t.decode(ids, true)).isEqualTo(text);
      // Byte-level: at most one token per UTF-8 byte.
      assertThat(ids.length).isLessThanOrEqualTo(text.getBytes(StandardCharsets.UTF_8).length);
    }
  }

  @Test
  void idsAreBytesExceptMergesAndSpecials() throws Exception {
    String[] alphabet = TestTokenizerFiles.byteLevelAlphabet();
    try (Tokenizer t = Tokenizer.fromFile(TestTokenizerFiles.writeByteLevel(tmp))) {
      assertThat(t.encode("hi", false)).containsExactly('h', 'i');
      // "he" and "Ġw" are merges 256 and 257; the rest stays one id per byte.
      assertThat(t.encode("hello world", false)).containsExactly(256, 'l', 'l', 'o', 257, 'o', 'r', 'l', 'd');
      // é is two UTF-8 bytes, C3 A9.
      assertThat(t.encode("é", false)).containsExactly(0xC3, 0xA9);
      assertThat(t.idToToken(' ')).isEqualTo(alphabet[' ']).isEqualTo("\u0120");
      assertThat(t.idToToken(257)).isEqualTo("\u0120w");
      assertThat(t.vocabSize()).isEqualTo(259);
      int[] ids = t.encode("hi" + TestTokenizerFiles.EOT, false);
      assertThat(ids).containsExactly('h', 'i', 258);
      assertThat(t.decode(ids, true)).isEqualTo("hi");
      assertThat(t.decode(ids, false)).isEqualTo("hi" + TestTokenizerFiles.EOT);
    }
  }

  @Test
  void padsWithEosWhenThereIsNoPadToken() throws Exception {
    TestTokenizerFiles.writeByteLevel(tmp);
    try (Tokenizer t = Tokenizer.load(tmp)) {
      assertThat(t.padId()).isEmpty();
      assertThatThrownBy(() -> t.encodeBatch(List.of("a", "bb"), PaddingSide.LEFT, OptionalInt.empty()))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("pad");
      // Rows of equal length need no pad id.
      assertThat(t.encodeBatch(List.of("a", "b"), PaddingSide.LEFT, OptionalInt.empty()).ids()[1]).containsExactly('b');
    }
    Files.writeString(tmp.resolve("generation_config.json"), "{\"eos_token_id\": 258}");
    try (Tokenizer t = Tokenizer.load(tmp)) {
      Tokenizer.Batch b = t.encodeBatch(List.of("a", "bb"), PaddingSide.LEFT, OptionalInt.empty());
      assertThat(b.ids()[0]).containsExactly(258, 'a');
      assertThat(b.attentionMask()[0]).containsExactly(0, 1);
    }
  }
}
