package dev.peft4j.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.peft.lora.LoraConfig;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.FileMappings;
import dev.peft4j.testing.TestSafeTensors;
import dev.peft4j.testing.TinyCheckpoint;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The default load shares the checkpoint's copy-on-write mapping (LoadOptions.mapWeights): it
 * must give exactly the weights and logits of the copying load, keep the mapping exactly as long
 * as the weights, and never write to the file. Mappings are counted in /proc/self/maps.
 */
class ZeroCopyLoadTest {
  private static final long[] IDS = {1, 5, 9, 2, 33, 7, 60, 0};
  private static final LoadOptions COPYING = LoadOptions.defaults().withMapWeights(false);

  @TempDir Path dir;

  @Test
  void mappedLoadIsBitIdenticalToTheCopyingLoad() throws IOException {
    record Case(String name, TinyCheckpoint checkpoint, DType dtype, boolean mapped) {}
    List<Case> cases = List.of(
        new Case("llama f32", TinyCheckpoint.llama(), DType.F32, true),
        new Case("gpt2 f32, tied head", TinyCheckpoint.gpt2(), DType.F32, true),
        new Case("llama f32, 2 shards", TinyCheckpoint.llama().shards(2), DType.F32, true),
        new Case("llama bf16 as bf16", TinyCheckpoint.llama().dtype("BF16"), DType.BF16, true),
        new Case("llama bf16 as f32 (a conversion)", TinyCheckpoint.llama().dtype("BF16"), DType.F32, false));
    for (Case c : cases) {
      Path model = c.checkpoint().writeTo(dir.resolve(c.name().replaceAll("\\W+", "-")));
      List<Path> files = weightFiles(model);
      PretrainedModel mapped = AutoModel.load(model, LoadOptions.defaults().withDType(c.dtype()));
      PretrainedModel copied = AutoModel.load(model, COPYING.withDType(c.dtype()));
      for (Path f : files) {
        assertThat(FileMappings.count(f)).as(c.name() + ": mappings of " + f.getFileName())
            .isEqualTo(c.mapped() ? 1 : 0);
      }
      Map<String, byte[]> mappedWeights = weightBytes(mapped);
      assertThat(mappedWeights.keySet()).as(c.name()).isEqualTo(weightBytes(copied).keySet());
      weightBytes(copied).forEach((name, bytes) ->
          assertThat(mappedWeights.get(name)).as(c.name() + ": " + name).isEqualTo(bytes));
      assertThat(logits(mapped)).as(c.name() + " logits").containsExactly(logits(copied));
      free(mapped);
      for (Path f : files) {
        assertThat(FileMappings.count(f)).as(c.name() + ": unmapped with the last weight").isZero();
      }
    }
  }

  @Test
  void inPlaceMergeOnAMappedModelLeavesTheFileUnchanged() throws Exception {
    Path model = TinyCheckpoint.llama().writeTo(dir.resolve("m"));
    Path file = model.resolve("model.safetensors");
    String before = sha256(file);
    PretrainedModel base = AutoModel.load(model, LoadOptions.defaults());
    float[] baseLogits = logits(base);
    PeftModel peft = Peft.wrap(base, LoraConfig.builder().init(LoraConfig.LoraInit.RANDOM).build());
    float[] unmerged = logits(peft.causalLm());
    peft.merge(); // W += (α/r) B A, in place on the mapped q_proj/v_proj weights
    assertThat(maxAbsDiff(logits(peft.causalLm()), unmerged)).isLessThanOrEqualTo(1e-5);
    assertThat(maxAbsDiff(unmerged, baseLogits)).as("the merge changed the weights").isGreaterThan(1e-3);
    assertThat(sha256(file)).as("the file after the merge").isEqualTo(before);
    assertThat(logits(AutoModel.loadCausalLm(model, LoadOptions.defaults())))
        .as("a fresh load still sees the base weights").containsExactly(baseLogits);
  }

  @Test
  void theModelOutlivesItsLoaderTheGcAndItsFile() throws IOException {
    Path model = TinyCheckpoint.llama().writeTo(dir.resolve("m"));
    Path file = model.resolve("model.safetensors");
    float[] expected = logits(AutoModel.loadCausalLm(model, COPYING));
    PretrainedModel mapped = AutoModel.load(model, LoadOptions.defaults());
    // nothing of the loader is reachable now; the weights alone hold the mapping
    assertThat(FileMappings.countAfterGc(file)).isEqualTo(1);
    try (Stream<Path> all = Files.list(model)) {
      for (Path p : all.toList()) {
        Files.delete(p);
      }
    }
    assertThat(FileMappings.countAfterGc(file)).as("mapped, though deleted").isEqualTo(1);
    assertThat(logits(mapped)).containsExactly(expected);
    free(mapped);
    assertThat(FileMappings.count(file)).isZero();
  }

  @Test
  void tensorsNotAlignedInTheFileAreCopied() throws IOException {
    Path model = TinyCheckpoint.llama().writeTo(dir.resolve("m"));
    Path file = model.resolve("model.safetensors");
    float[] expected = logits(AutoModel.loadCausalLm(model, COPYING));
    // one more space in the header moves every tensor to an odd file offset
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    int headerLength = Math.toIntExact(b.getLong(0));
    String header = new String(b.array(), 8, headerLength, StandardCharsets.UTF_8);
    byte[] data = Arrays.copyOfRange(b.array(), 8 + headerLength, b.capacity());
    TestSafeTensors.writeHeaderAndBytes(file, header + " ", data);
    CausalLm mapped = AutoModel.loadCausalLm(model, LoadOptions.defaults());
    assertThat(FileMappings.count(file)).as("nothing stays mapped").isZero();
    assertThat(logits(mapped)).containsExactly(expected);
  }

  private static List<Path> weightFiles(Path model) throws IOException {
    try (Stream<Path> all = Files.list(model)) {
      return all.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList();
    }
  }

  private static float[] logits(PretrainedModel model) {
    return logits((CausalLm) model);
  }

  private static float[] logits(CausalLm model) {
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      return model.forward(Tensor.ofLongs(IDS, 1, IDS.length), null, null).toFloatArray();
    }
  }

  private static Map<String, byte[]> weightBytes(PretrainedModel model) {
    Map<String, byte[]> out = new TreeMap<>();
    try (Scope scope = Scope.open()) {
      model.namedParameters().forEach((name, p) -> out.put(name, p.value().toBytes().array()));
    }
    return out;
  }

  private static void free(PretrainedModel model) {
    for (Parameter p : model.namedParameters().values()) {
      p.value().close();
    }
  }

  private static double maxAbsDiff(float[] a, float[] b) {
    double d = 0;
    for (int i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
    }
    return d;
  }

  private static String sha256(Path file) throws IOException, NoSuchAlgorithmException {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
  }
}
