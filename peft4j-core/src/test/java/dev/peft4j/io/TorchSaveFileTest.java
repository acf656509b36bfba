package dev.peft4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.model.AutoModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Checkpoints saved before safetensors ({@code torch.save} of the state dict, as transformers wrote
 * {@code pytorch_model.bin}): the fixtures {@code interop/llama-bin} (one file) and
 * {@code interop/gpt2-bin} (two shards and their index; GPT-2's tied {@code lm_head.weight} shares
 * wte's storage) hold the same tensors as {@code interop/llama} and {@code interop/gpt2}, written by
 * {@code interop/generate.py} with torch 2.13, as were the state dicts of {@code interop/pickles}, whose
 * contents are stated there and checked here. More format errors are checked on archives rewritten
 * here from {@code pickles/state-dict.bin}.
 */
class TorchSaveFileTest {
  private static final long[] IDS = {1, 5, 9, 13, 2, 7, 30, 11};

  @TempDir Path dir;

  @Test
  void aPickledCheckpointLoadsTheSameModelAsItsSafetensors() throws Exception {
    for (String name : new String[] {"llama", "gpt2"}) {
      try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
        Tensor ids = Tensor.ofLongs(IDS, 1, IDS.length);
        Tensor fromSafetensors = ((CausalLm) AutoModel.load(interop(name), LoadOptions.defaults())).forward(ids, null, null);
        Tensor fromPickle = ((CausalLm) AutoModel.load(interop(name + "-bin"), LoadOptions.defaults())).forward(ids, null, null);
        assertThat(fromPickle.sub(fromSafetensors).abs().max().item()).as(name).isZero();
      }
    }
    try (ModelWeights sharded = ModelWeights.open(interop("gpt2-bin"))) {
      assertThat(sharded.fileOf("transformer.wte.weight").getFileName()).hasToString("pytorch_model-00001-of-00002.bin");
      assertThat(sharded.fileOf("lm_head.weight").getFileName()).hasToString("pytorch_model-00002-of-00002.bin");
    }
  }

  @Test
  void readsEveryTensorOfAStateDictWithItsDtypeShapeAndValues() throws Exception {
    Map<String, TensorData> tensors = readAll(pickle("state-dict.bin"));

    assertThat(tensors).containsOnlyKeys("w", "row", "h", "ids");
    // w = arange(6).reshape(2, 3) in float32; row = w[1], a view into w's storage; h = w in bf16
    assertThat(floats(tensors.get("w"))).containsExactly(0f, 1f, 2f, 3f, 4f, 5f);
    assertThat(tensors.get("w").shape()).containsExactly(2, 3);
    assertThat(floats(tensors.get("row"))).containsExactly(3f, 4f, 5f);
    assertThat(tensors.get("row").shape()).containsExactly(3);
    assertThat(tensors.get("h").dtype()).isEqualTo(DType.BF16);
    short[] bf16 = new short[6];
    tensors.get("h").data().order(ByteOrder.LITTLE_ENDIAN).asShortBuffer().get(bf16);
    float[] widened = new float[6];
    for (int i = 0; i < 6; i++) {
      widened[i] = Float.intBitsToFloat(bf16[i] << 16); // small integers are exact in bf16
    }
    assertThat(widened).containsExactly(0f, 1f, 2f, 3f, 4f, 5f);
    assertThat(tensors.get("ids").dtype()).isEqualTo(DType.I64);
    long[] ids = new long[2];
    tensors.get("ids").data().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(ids);
    assertThat(ids).containsExactly(7, -1);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "list.bin | holds a list, not a dict of tensors",
      "not-a-tensor.bin | 'step' is an int, not a tensor",
      "complex.bin | peft4j has no dtype for ComplexFloatStorage",
      "names-a-global.bin | names the Python global __builtin__.print, which peft4j refuses",
      "legacy.bin | is not a zip archive"})
  void refusesWhatIsNotADictOfTensorsNamingTheFile(String file, String reason) throws Exception {
    Path path = pickle(file);
    assertThatThrownBy(() -> readAll(path))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageStartingWith(path + " is not a state dict written by torch.save: ")
        .hasMessageContaining(reason);
  }

  @Test
  void aTruncatedOrCorruptedFileIsAClearError() throws Exception {
    byte[] good = Files.readAllBytes(pickle("state-dict.bin"));
    Path truncated = dir.resolve("truncated.bin");
    Files.write(truncated, Arrays.copyOf(good, good.length / 2));
    assertThatThrownBy(() -> readAll(truncated))
        .isInstanceOf(ModelFormatException.class).hasMessageContaining(truncated.toString());

    byte[] corrupted = good.clone();
    for (int i = 64; i < corrupted.length / 2; i++) { // the records before the zip's central directory
      corrupted[i] ^= 0x5a;
    }
    Path damaged = dir.resolve("damaged.bin");
    Files.write(damaged, corrupted);
    assertThatThrownBy(() -> readAll(damaged))
        .isInstanceOf(ModelFormatException.class).hasMessageContaining(damaged.toString());
  }

  @Test
  void aViewOfAStorageIsReadAtItsOffset() throws Exception {
    try (TorchSaveFile file = TorchSaveFile.open(pickle("state-dict.bin")); Scope scope = Scope.open()) {
      // row = w[1]: elements 3..5 of w's storage
      assertThat(file.share("row").toFloatArray()).containsExactly(3f, 4f, 5f);
      assertThat(file.copy("w").toFloatArray()).containsExactly(0f, 1f, 2f, 3f, 4f, 5f);
    }
  }

  @Test
  void whatTorchSaveDoesNotWriteIsAClearError() throws Exception {
    assertRefused(pickle("transposed.bin"), "'w' is not contiguous (shape [3, 2], stride [1, 3])");
    assertRefused(rewrite("no-storage.bin", name -> name.endsWith("data/0") ? null : name, ZipEntry.STORED),
        "'w': its storage data/0 is not in the archive");
    assertRefused(rewrite("deflated.bin", UnaryOperator.identity(), ZipEntry.DEFLATED), "is compressed");
    assertRefused(rewrite("no-pickle.bin", name -> name.endsWith("data.pkl") ? null : name, ZipEntry.STORED),
        "the archive has no data.pkl");
  }

  private static Map<String, TensorData> readAll(Path file) throws IOException {
    try (TorchSaveFile saved = TorchSaveFile.open(file)) {
      return saved.readAll();
    }
  }

  private static float[] floats(TensorData t) {
    assertThat(t.dtype()).isEqualTo(DType.F32);
    float[] out = new float[t.data().remaining() / 4];
    t.data().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  private static void assertRefused(Path file, String reason) {
    assertThatThrownBy(() -> TorchSaveFile.open(file)).isInstanceOf(ModelFormatException.class)
        .hasMessageStartingWith(file + " is not a state dict written by torch.save: ").hasMessageContaining(reason);
  }

  /** state-dict.bin's entries written again with {@code method}, each renamed by {@code rename} or left out (null). */
  private Path rewrite(String name, UnaryOperator<String> rename, int method) throws Exception {
    Path out = dir.resolve(name);
    try (ZipFile in = new ZipFile(pickle("state-dict.bin").toFile());
        ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(out))) {
      for (ZipEntry e : Collections.list(in.entries())) {
        String renamed = rename.apply(e.getName());
        if (renamed != null) {
          byte[] bytes;
          try (InputStream data = in.getInputStream(e)) {
            bytes = data.readAllBytes();
          }
          ZipEntry copy = new ZipEntry(renamed);
          copy.setMethod(method);
          if (method == ZipEntry.STORED) {
            CRC32 crc = new CRC32();
            crc.update(bytes);
            copy.setSize(bytes.length);
            copy.setCrc(crc.getValue());
          }
          zip.putNextEntry(copy);
          zip.write(bytes);
          zip.closeEntry();
        }
      }
    }
    return out;
  }

  private static Path interop(String name) throws Exception {
    return Path.of(TorchSaveFileTest.class.getResource("/interop/" + name).toURI());
  }

  private static Path pickle(String name) throws Exception {
    return interop("pickles/" + name);
  }
}
