package dev.peft4j.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.model.AutoModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.testing.TinyCheckpoint;
import dev.peft4j.text.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Text output, stop strings and streaming, with a byte-level tokenizer (id = UTF-8 byte). */
class StreamingTest {
  private static final String TEXT = "héllo 日本 😀 naïve!";

  @TempDir Path dir;
  private Tokenizer tokenizer;
  private final Recorder recorder = new Recorder();

  @BeforeEach
  void tokenizer() throws Exception {
    tokenizer = ByteTokenizer.create(dir.resolve("tokenizer"));
  }

  @AfterEach
  void close() {
    tokenizer.close();
  }

  /** The byte ids of {@code text}, followed by {@code tail}. */
  private static long[] script(String text, long... tail) {
    return LongStream.concat(LongStream.of(ByteTokenizer.ids(text)), LongStream.of(tail)).toArray();
  }

  @Test
  void piecesNeverSplitACharacterAndConcatenateToTheText() {
    long[] script = script(TEXT, ByteTokenizer.EOS);
    Generator generator = new Generator(new ScriptedLm(ByteTokenizer.VOCAB, 128, script), tokenizer);
    GenerationResult result = generator.generate(new long[] {'>'},
        GenerationConfig.builder().maxNewTokens(100).streamer(recorder).build());

    assertThat(result.text()).hasValue(TEXT);
    assertThat(result.ids()).containsExactly(script); // the EOS stop token is included in the ids
    assertThat(result.finishReason()).isEqualTo(FinishReason.STOP_TOKEN);
    assertThat(recorder.pieces(0)).doesNotContain("").allSatisfy(p -> assertThat(p).doesNotContain("\uFFFD"));
    assertThat(String.join("", recorder.pieces(0))).isEqualTo(TEXT);
    assertThat(recorder.pieces(0)).contains("日", "本", "😀", "é", "ï");
    assertThat(recorder.finished).containsExactly(Map.entry(0, FinishReason.STOP_TOKEN));
  }

  @Test
  void aStopStringEndsTheRowAndCutsTheTextBeforeIt() {
    long[] script = script("Answer: 42\nQuestion: more", ByteTokenizer.EOS);
    Generator generator = new Generator(new ScriptedLm(ByteTokenizer.VOCAB, 128, script), tokenizer);
    GenerationResult result = generator.generate(new long[] {'Q'}, GenerationConfig.builder().maxNewTokens(100)
        .stopStrings(List.of("\nQuestion:", "never")).streamer(recorder).build());

    assertThat(result.finishReason()).isEqualTo(FinishReason.STOP_STRING);
    assertThat(result.text()).hasValue("Answer: 42");
    // the ids are those generated, up to the token that completed the stop string
    assertThat(result.ids()).containsExactly(ByteTokenizer.ids("Answer: 42\nQuestion:"));
    assertThat(String.join("", recorder.pieces(0))).isEqualTo("Answer: 42");
  }

  @Test
  void aHeldBackPrefixOfAStopStringIsReleasedWhenItDoesNotComplete() {
    long[] script = script("ab\nQ no\nQuestion", ByteTokenizer.EOS);
    Generator generator = new Generator(new ScriptedLm(ByteTokenizer.VOCAB, 128, script), tokenizer);
    GenerationResult result = generator.generate(new long[] {'Q'}, GenerationConfig.builder().maxNewTokens(100)
        .stopStrings(List.of("\nQuestion:")).streamer(recorder).build());

    assertThat(result.finishReason()).isEqualTo(FinishReason.STOP_TOKEN);
    assertThat(result.text()).hasValue("ab\nQ no\nQuestion");
    assertThat(String.join("", recorder.pieces(0))).isEqualTo("ab\nQ no\nQuestion");
    assertThat(recorder.pieces(0)).contains("\nQ ", "\nQuestion"); // held, then released at once
  }

  @Test
  void rowsOfABatchStopIndependently() {
    Generator generator = new Generator(new ScriptedLm(ByteTokenizer.VOCAB, 128,
        script("one. two.", ByteTokenizer.EOS), script("three four five six", ByteTokenizer.EOS),
        script("x".repeat(50))), tokenizer);
    List<GenerationResult> results = generator.generate(List.of(new long[] {1, 2}, new long[] {3}, new long[] {4}),
        GenerationConfig.builder().maxNewTokens(12).stopStrings(List.of(".")).streamer(recorder).build());

    assertThat(results.get(0).text()).hasValue("one");
    assertThat(results.get(0).finishReason()).isEqualTo(FinishReason.STOP_STRING);
    assertThat(results.get(1).text()).hasValue("three four f");
    assertThat(results.get(1).finishReason()).isEqualTo(FinishReason.LENGTH);
    assertThat(results.get(2).text()).hasValue("x".repeat(12));
    for (int r = 0; r < 3; r++) {
      assertThat(String.join("", recorder.pieces(r))).isEqualTo(results.get(r).text().orElseThrow());
    }
    assertThat(recorder.finished).containsOnlyKeys(0, 1, 2);
  }

  @Test
  void theDefaultStopTokensAreTheTokenizersEos() {
    Generator generator = new Generator(new ScriptedLm(ByteTokenizer.VOCAB, 128, script("hi", ByteTokenizer.EOS)),
        tokenizer);
    assertThat(generator.generate(new long[] {1}, GenerationConfig.greedy(10)).finishReason())
        .isEqualTo(FinishReason.STOP_TOKEN);
    GenerationResult noStop = generator.generate(new long[] {1},
        GenerationConfig.builder().maxNewTokens(5).stopTokenIds(List.of()).build());
    assertThat(noStop.finishReason()).isEqualTo(FinishReason.LENGTH);
    assertThat(noStop.ids()).containsExactly('h', 'i', 256, 256, 256);
    assertThat(noStop.text()).hasValue("hi"); // special tokens are skipped in the text
  }

  @Test
  void streamedPiecesOfSampledRandomBytesConcatenateToTheText() throws Exception {
    TinyCheckpoint checkpoint = TestModels.lively(TinyCheckpoint.llama().config("vocab_size", ByteTokenizer.VOCAB));
    CausalLm model = AutoModel.loadCausalLm(checkpoint.writeTo(dir.resolve("model")), LoadOptions.defaults());
    Generator generator = new Generator(model, tokenizer);
    List<long[]> prompts = List.of(ByteTokenizer.ids("Once upon"), ByteTokenizer.ids("日本"));
    List<GenerationResult> results = generator.generate(prompts, GenerationConfig.builder().maxNewTokens(48)
        .temperature(1.0).topP(0.95).seed(3).stopTokenIds(List.of()).streamer(recorder).build());
    for (int r = 0; r < 2; r++) {
      String text = results.get(r).text().orElseThrow();
      assertThat(String.join("", recorder.pieces(r))).isEqualTo(text);
      assertThat(text).isEqualTo(tokenizer.decode(toInts(results.get(r).ids()), true));
      assertThat(recorder.pieces(r).size()).isGreaterThan(5);
    }
  }

  @Test
  void textNeedsATokenizerForStreaming() {
    Generator generator = new Generator(new ScriptedLm(ByteTokenizer.VOCAB, 128, script("a")), null);
    assertThatThrownBy(() -> generator.generate(new long[] {1},
        GenerationConfig.builder().maxNewTokens(2).streamer((row, piece) -> {}).build()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs a tokenizer");
  }

  private static int[] toInts(long[] ids) {
    return LongStream.of(ids).mapToInt(Math::toIntExact).toArray();
  }

  /** Records streamed pieces per row and finish events. */
  private static final class Recorder implements TextStreamer {
    final Map<Integer, List<String>> pieces = new HashMap<>();
    final Map<Integer, FinishReason> finished = new HashMap<>();

    @Override
    public void onText(int row, String piece) {
      assertThat(finished).as("text after finish").doesNotContainKey(row);
      pieces.computeIfAbsent(row, r -> new ArrayList<>()).add(piece);
    }

    @Override
    public void onFinish(int row, FinishReason reason) {
      assertThat(finished.put(row, reason)).as("finished twice").isNull();
    }

    List<String> pieces(int row) {
      return pieces.getOrDefault(row, List.of());
    }
  }
}
