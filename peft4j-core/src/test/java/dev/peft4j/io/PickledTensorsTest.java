package dev.peft4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.tensor.DType;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code torch.save} files: the fixtures in {@code src/test/resources/interop/pickles} were written by
 * {@code interop/generate.py} (torch 2.13); their contents are stated there and checked here.
 */
class PickledTensorsTest {
  @TempDir Path dir;

  @Test
  void readsEveryTensorOfAStateDictWithItsDtypeShapeAndValues() throws Exception {
    Map<String, TensorData> tensors = PickledTensors.read(fixture("state-dict.bin"));

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
    Path path = fixture(file);
    assertThatThrownBy(() -> PickledTensors.read(path))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageStartingWith(path + " is not a state dict written by torch.save: ")
        .hasMessageContaining(reason);
  }

  @Test
  void aTruncatedOrCorruptedFileIsAClearError() throws Exception {
    byte[] good = Files.readAllBytes(fixture("state-dict.bin"));
    Path truncated = dir.resolve("truncated.bin");
    Files.write(truncated, Arrays.copyOf(good, good.length / 2));
    assertThatThrownBy(() -> PickledTensors.read(truncated))
        .isInstanceOf(ModelFormatException.class).hasMessageContaining(truncated.toString());

    byte[] corrupted = good.clone();
    for (int i = 64; i < corrupted.length / 2; i++) { // the records before the zip's central directory
      corrupted[i] ^= 0x5a;
    }
    Path damaged = dir.resolve("damaged.bin");
    Files.write(damaged, corrupted);
    assertThatThrownBy(() -> PickledTensors.read(damaged))
        .isInstanceOf(ModelFormatException.class).hasMessageContaining(damaged.toString());
  }

  private static float[] floats(TensorData t) {
    assertThat(t.dtype()).isEqualTo(DType.F32);
    float[] out = new float[t.data().remaining() / 4];
    t.data().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  private static Path fixture(String name) throws Exception {
    return Path.of(PickledTensorsTest.class.getResource("/interop/pickles/" + name).toURI());
  }
}
