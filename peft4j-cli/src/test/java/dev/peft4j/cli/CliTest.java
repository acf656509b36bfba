package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.testing.TinyCheckpoint;
import dev.peft4j.testing.reference.ReferenceBert;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI end to end, in process: outputs checked against the reference models, errors as one line + exit 2. */
class CliTest {
  @TempDir Path dir;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();
  private PrintStream savedOut;
  private PrintStream savedErr;

  @BeforeEach
  void capture() {
    savedOut = System.out;
    savedErr = System.err;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  @AfterEach
  void restore() {
    System.setOut(savedOut);
    System.setErr(savedErr);
  }

  @Test
  void forwardJsonPrintsLastPositionLogitsPerSequence() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama();
    checkpoint.writeTo(dir);
    int code = Peft4j.run("forward", "--model", dir.toString(), "--input-ids", "1,5,7;1,9,4,2", "--json");
    assertThat(code).as(err.toString()).isZero();
    JsonNode logits = new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8)).get("logits");
    assertThat(logits).hasSize(2);
    float[][] shortRow = checkpoint.reference().logits(new int[] {1, 5, 7});
    float[][] longRow = checkpoint.reference().logits(new int[] {1, 9, 4, 2});
    assertRowClose(logits.get(0), shortRow[2]);
    assertRowClose(logits.get(1), longRow[3]);
  }

  @Test
  void copyWeightsGivesTheSameOutputAsTheMappedDefault() throws Exception {
    TinyCheckpoint.llama().writeTo(dir);
    assertThat(Peft4j.run("forward", "--model", dir.toString(), "--input-ids", "1,5,7", "--json")).as(err.toString()).isZero();
    String mapped = out.toString(StandardCharsets.UTF_8);
    out.reset();
    assertThat(Peft4j.run("forward", "--model", dir.toString(), "--input-ids", "1,5,7", "--json", "--copy-weights"))
        .as(err.toString()).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(mapped).contains("logits");
  }

  @Test
  void forwardOnBertPrintsClsAndPooled() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.bert();
    JsonNode json = forwardTwoRows(checkpoint);
    ReferenceBert reference = (ReferenceBert) checkpoint.reference();
    assertRowClose(json.get("cls").get(0), reference.lastHidden(new int[] {2, 7, 3}, null)[0]);
    assertRowClose(json.get("cls").get(1), reference.lastHidden(new int[] {2, 8, 9, 10, 3}, null)[0]);
    assertRowClose(json.get("pooled").get(0), reference.pooled(new int[] {2, 7, 3}, null));
  }

  @Test
  void forwardOnATransformersBertClassifierPrintsItsClassLogits() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.bert().withClassifier(3);
    JsonNode json = forwardTwoRows(checkpoint);
    ReferenceBert reference = (ReferenceBert) checkpoint.reference();
    assertRowClose(json.get("cls").get(0), reference.lastHidden(new int[] {2, 7, 3}, null)[0]);
    assertRowClose(json.get("logits").get(0), reference.classifierLogits(new int[] {2, 7, 3}, null));
    assertRowClose(json.get("logits").get(1), reference.classifierLogits(new int[] {2, 8, 9, 10, 3}, null));
  }

  @Test
  void inspectPrintsArchitectureAndParameterCounts() {
    TinyCheckpoint.gpt2().writeTo(dir);
    int code = Peft4j.run("inspect", "--model", dir.toString());
    assertThat(code).as(err.toString()).isZero();
    String text = out.toString(StandardCharsets.UTF_8);
    // GPT-2 tiny: wte 64*32 + wpe 64*32 + 2 blocks + ln_f; one block = 2 LN (2*64) + c_attn (32*96+96)
    // + attn c_proj (32*32+32) + c_fc (32*128+128) + mlp c_proj (128*32+32)
    long block = 2 * 64 + (32 * 96 + 96) + (32 * 32 + 32) + (32 * 128 + 128) + (128 * 32 + 32);
    long total = 64 * 32 + 64 * 32 + 2 * block + 64;
    assertThat(text).contains("GPT2LMHeadModel").contains(String.format("%,d", total))
        .contains("transformer.h (2 x)").contains("F32");
  }

  @Test
  void errorsPrintOneLineAndExitTwo() {
    int code = Peft4j.run("forward", "--model", dir.resolve("nope").toString(), "--input-ids", "1,2");
    assertThat(code).isEqualTo(2);
    String message = err.toString(StandardCharsets.UTF_8).strip();
    assertThat(message).startsWith("peft4j: error: ").contains("is not a directory").doesNotContain("\n");
  }

  @Test
  void verbosePrintsTheStackTrace() throws Exception {
    TinyCheckpoint.llama().writeTo(dir);
    int code = Peft4j.run("forward", "--model", dir.toString(), "--input-ids", "1,999", "--verbose");
    assertThat(code).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains("peft4j: error: token id 999 is outside the vocabulary [0, 64)")
        .contains("\tat dev.peft4j");
  }

  @Test
  void malformedIdsAreAnError() throws Exception {
    TinyCheckpoint.llama().writeTo(dir);
    assertThat(Peft4j.run("forward", "--model", dir.toString(), "--input-ids", "1,x")).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("'x' is not a token id");
    assertThat(Files.exists(dir.resolve("config.json"))).isTrue();
  }

  /** {@code forward --json} on {@code checkpoint} for the rows 2,7,3 and 2,8,9,10,3. */
  private JsonNode forwardTwoRows(TinyCheckpoint checkpoint) throws Exception {
    checkpoint.writeTo(dir);
    int code = Peft4j.run("forward", "--model", dir.toString(), "--input-ids", "2,7,3;2,8,9,10,3", "--json");
    assertThat(code).as(err.toString()).isZero();
    return new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8));
  }

  private static void assertRowClose(JsonNode actual, float[] expected) {
    assertThat(actual).hasSize(expected.length);
    double scale = 0;
    for (float e : expected) {
      scale = Math.max(scale, Math.abs(e));
    }
    for (int i = 0; i < expected.length; i++) {
      assertThat(actual.get(i).doubleValue()).isCloseTo(expected[i], org.assertj.core.data.Offset.offset(1e-4 * scale));
    }
  }
}
