package dev.peft4j.data;

import static dev.peft4j.data.EncodedExample.IGNORE_INDEX;
import static dev.peft4j.data.TestTokenizers.EOS;
import static dev.peft4j.data.TestTokenizers.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.text.ChatMessage;
import dev.peft4j.text.ChatTemplate;
import dev.peft4j.text.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExampleTokenizerTest {
  @TempDir Path tmp;
  Tokenizer bytesTok;
  Tokenizer miniLm;

  @BeforeEach
  void setUp() throws IOException {
    bytesTok = TestTokenizers.byteLevel(tmp.resolve("bytes"));
    miniLm = TestTokenizers.miniLm(tmp.resolve("minilm"));
  }

  @AfterEach
  void tearDown() {
    bytesTok.close();
    miniLm.close();
  }

  private static int[] concat(int[]... parts) {
    return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
  }

  private static int[] ignored(int n) {
    int[] out = new int[n];
    Arrays.fill(out, IGNORE_INDEX);
    return out;
  }

  @Test
  void byteLevelTestTokenizerEncodesUtf8Bytes() {
    assertThat(bytesTok.encode("héllo <eos>", true)).containsExactly(concat(bytes("héllo "), new int[] {EOS}));
    assertThat(bytesTok.eosIds()).containsExactly(EOS);
  }

  @Test
  void textLabelsAreTheIds() {
    EncodedExample e = ExampleTokenizer.builder(bytesTok).build().encode(new TextExample("Hello, world"));
    assertThat(e.ids()).containsExactly(bytes("Hello, world"));
    assertThat(e.labels()).containsExactly(e.ids());
    assertThat(e.isClassification()).isFalse();
  }

  @Test
  void promptCompletionMasksExactlyThePrompt() {
    String prompt = "Translate to French: cheese =>";
    String completion = " fromage";
    EncodedExample e = ExampleTokenizer.builder(bytesTok).build().encode(new PromptCompletion(prompt, completion));
    int promptLength = bytes(prompt).length; // independent of the tokenizer: one id per UTF-8 byte
    assertThat(e.ids()).containsExactly(concat(bytes(prompt), bytes(completion), new int[] {EOS}));
    assertThat(e.labels()).containsExactly(concat(ignored(promptLength), bytes(completion), new int[] {EOS}));
    assertThat(e.trainedTokens()).isEqualTo(bytes(completion).length + 1);
  }

  @Test
  void completionEndingInEosGetsNoSecondEos() {
    EncodedExample e = ExampleTokenizer.builder(bytesTok).build().encode(new PromptCompletion("p", "c<eos>"));
    assertThat(e.ids()).containsExactly('p', 'c', EOS);
  }

  @Test
  void promptCompletionWithWordPieceMasksTheSpecialTokensOfThePrompt() {
    EncodedExample e = ExampleTokenizer.builder(miniLm).build().encode(new PromptCompletion("Hello world", "good morning"));
    int[] completion = miniLm.encode("good morning", false);
    // [CLS] hello world [SEP], then the completion; MiniLM has no EOS so none is appended.
    assertThat(Arrays.copyOf(e.ids(), 4)).containsExactly(101, 7592, 2088, 102);
    assertThat(e.ids()).containsExactly(concat(new int[] {101, 7592, 2088, 102}, completion));
    assertThat(e.labels()).containsExactly(concat(ignored(4), completion));
  }

  @Test
  void alpacaTemplatesAreExact() {
    AlpacaExample withInput = new AlpacaExample("Add the numbers.", "2, 3", "5");
    assertThat(withInput.prompt()).isEqualTo(
        "Below is an instruction that describes a task, paired with an input that provides further context. "
            + "Write a response that appropriately completes the request.\n\n"
            + "### Instruction:\nAdd the numbers.\n\n### Input:\n2, 3\n\n### Response:");
    AlpacaExample noInput = new AlpacaExample("Say hi.", "", "Hi!");
    assertThat(noInput.prompt()).isEqualTo(
        "Below is an instruction that describes a task. "
            + "Write a response that appropriately completes the request.\n\n"
            + "### Instruction:\nSay hi.\n\n### Response:");
    assertThat(noInput.toPromptCompletion()).isEqualTo(new PromptCompletion(noInput.prompt(), "Hi!"));

    EncodedExample e = ExampleTokenizer.builder(bytesTok).build().encode(withInput);
    assertThat(e.labels()).containsExactly(concat(ignored(bytes(withInput.prompt()).length), bytes("5"), new int[] {EOS}));
  }

  @Test
  void chatLearnsOnlyTheFinalAssistantReply() {
    ChatExample chat = new ChatExample(List.of(ChatMessage.user("Hi"), ChatMessage.assistant("Hello"),
        ChatMessage.user("2+2?"), ChatMessage.assistant("4")));
    EncodedExample e = ExampleTokenizer.builder(bytesTok).chatTemplate(ChatTemplate.CHATML).build().encode(chat);
    String prompt = "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n"
        + "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n";
    String reply = "4<|im_end|>\n";
    assertThat(e.ids()).containsExactly(bytes(prompt + reply)); // no EOS: the template ends the turn
    assertThat(e.labels()).containsExactly(concat(ignored(bytes(prompt).length), bytes(reply)));
  }

  @Test
  void chatNeedsATemplate() {
    ChatExample chat = new ChatExample(List.of(ChatMessage.user("Hi"), ChatMessage.assistant("Hello")));
    assertThatThrownBy(() -> ExampleTokenizer.builder(bytesTok).build().encode(chat))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("chat template");
  }

  @Test
  void truncationKeepsTheStart() {
    ExampleTokenizer enc = ExampleTokenizer.builder(bytesTok).maxLength(5).build();
    assertThat(enc.encode(new TextExample("abcdefgh")).ids()).containsExactly(bytes("abcde"));
    EncodedExample pc = enc.encode(new PromptCompletion("abc", "defg"));
    assertThat(pc.ids()).containsExactly(bytes("abcde"));
    assertThat(pc.labels()).containsExactly(IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, 'd', 'e');
    assertThatThrownBy(() -> enc.encode(new PromptCompletion("abcde", "f")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no completion token");
    // Classification keeps the post-processor's final [SEP].
    ExampleTokenizer cls = ExampleTokenizer.builder(miniLm).maxLength(4).labels(LabelSet.of(List.of("a", "b"))).build();
    EncodedExample c = cls.encode(new ClassificationExample("hello world hello world", "b"));
    assertThat(c.ids()).containsExactly(101, 7592, 2088, 102);
    assertThat(c.classId()).isEqualTo(1);
    assertThat(c.labels()).containsOnly(IGNORE_INDEX);
  }

  @Test
  void failOnOverflowNamesTheLine() throws IOException {
    Path f = tmp.resolve("long.jsonl");
    Files.writeString(f, "{\"text\": \"abc\"}\n{\"text\": \"abcdefgh\"}\n");
    Dataset d = JsonlDataset.read(f, DatasetFormat.TEXT, ReadOptions.STRICT);
    ExampleTokenizer enc = ExampleTokenizer.builder(bytesTok).maxLength(5).failOnOverflow().build();
    assertThatThrownBy(() -> enc.encodeAll(d))
        .isInstanceOf(DatasetException.class)
        .hasMessageContaining("long.jsonl").hasMessageContaining("line 2")
        .hasMessageContaining("8 tokens, more than the max length 5");
    assertThatThrownBy(() -> ExampleTokenizer.builder(bytesTok).failOnOverflow().build())
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void encodesEveryFormatOfADataset() throws IOException {
    Path f = tmp.resolve("cls.jsonl");
    Files.writeString(f, "{\"text\": \"good\", \"label\": 1}\n{\"text\": \"bad\", \"label\": 0}\n");
    Dataset d = JsonlDataset.read(f, ReadOptions.STRICT);
    LabelSet labels = LabelSet.fromDataset(d);
    List<EncodedExample> out = ExampleTokenizer.builder(miniLm).labels(labels).build().encodeAll(d);
    assertThat(out).extracting(EncodedExample::classId).containsExactly(1, 0);
    assertThat(out.get(0).ids()).containsExactly(miniLm.encode("good", true));
    assertThatThrownBy(() -> ExampleTokenizer.builder(miniLm).build().encodeAll(d))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("LabelSet");
    assertThat(IntStream.of(out.get(1).ids()).boxed()).startsWith(101).endsWith(102);
  }
}
