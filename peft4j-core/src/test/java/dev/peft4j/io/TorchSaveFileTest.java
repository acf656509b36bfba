package dev.peft4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.model.AutoModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.function.UnaryOperator;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoints saved before safetensors ({@code torch.save} of the state dict, as transformers wrote
 * {@code pytorch_model.bin}): the fixtures {@code interop/llama-bin} (one file) and
 * {@code interop/gpt2-bin} (two shards and their index; GPT-2's tied {@code lm_head.weight} shares
 * wte's storage) hold the same tensors as {@code interop/llama} and {@code interop/gpt2}, written by
 * {@code interop/generate.py} with torch 2.13. Format errors are checked on archives rewritten here
 * from {@code pickles/state-dict.bin}.
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
