package dev.peft4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.testing.FileMappings;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tensors shared from a copy-on-write file mapping: values, writes, lifetime, alignment. */
class MappedFileTest {
  private static final float[] VALUES = {1.5f, -2f, 3.25f, 0f, 7f, -0.125f};

  @TempDir Path dir;

  /** 8 bytes of 0xAB, then VALUES as little-endian f32, then 1 padding byte. */
  private Path writeFile() throws IOException {
    ByteBuffer b = ByteBuffer.allocate(8 + 4 * VALUES.length + 1).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < 8; i++) {
      b.put((byte) 0xAB);
    }
    for (float v : VALUES) {
      b.putFloat(v);
    }
    Path file = dir.resolve("weights.bin");
    Files.write(file, b.array());
    return file;
  }

  @Test
  void sharedTensorHoldsTheFileBytes() throws IOException {
    Path file = writeFile();
    try (MappedFile mapped = MappedFile.map(file, Files.size(file))) {
      assertThat(mapped.share(8, DType.F32, 2, 3).toFloatArray()).containsExactly(VALUES);
      assertThat(mapped.share(8, DType.F32, 2, 3).shape()).containsExactly(2, 3);
      assertThat(mapped.share(12, DType.F32).item()).isEqualTo(-2.0); // a 0-d scalar
      assertThat(mapped.share(8, DType.F32, 0, 3).numel()).isZero();
    }
  }

  @Test
  void inPlaceWritesCopyThePageAndLeaveTheFileUnchanged() throws Exception {
    Path file = writeFile();
    String before = sha256(file);
    try (MappedFile mapped = MappedFile.map(file, Files.size(file))) {
      Tensor w = mapped.share(8, DType.F32, 6);
      w.add_(Tensor.ones(DType.F32, 6), 10);
      assertThat(w.toFloatArray()).containsExactly(11.5f, 8f, 13.25f, 10f, 17f, 9.875f);
      // a second tensor over the same bytes sees the write: one private copy of the page
      assertThat(mapped.share(8, DType.F32, 6).toFloatArray()[0]).isEqualTo(11.5f);
    }
    assertThat(sha256(file)).isEqualTo(before);
    try (MappedFile again = MappedFile.map(file, Files.size(file))) {
      assertThat(again.share(8, DType.F32, 6).toFloatArray()).containsExactly(VALUES);
    }
  }

  @Test
  void theMappingLivesExactlyAsLongAsATensorSharingIt() throws IOException {
    Path file = writeFile();
    Tensor w;
    try (MappedFile mapped = MappedFile.map(file, Files.size(file))) {
      w = mapped.share(8, DType.F32, 6).retain();
      assertThat(FileMappings.count(file)).isEqualTo(1);
    }
    Files.delete(file);
    assertThat(FileMappings.countAfterGc(file)).isEqualTo(1);
    try (Scope scope = Scope.open()) { // frees the temporaries toFloatArray makes, views of w
      assertThat(w.toFloatArray()).containsExactly(VALUES);
    }
    w.close();
    assertThat(FileMappings.count(file)).isZero();
  }

  @Test
  void copiesOwnTheirMemoryAndNeedNoAlignment() throws IOException {
    Path file = writeFile();
    Tensor c;
    try (MappedFile mapped = MappedFile.map(file, Files.size(file))) {
      c = mapped.copy(8, DType.F32, 3, 2).retain();
      // bytes 7..10 = AB 00 00 C0: the last 0xAB, then the low three bytes of 1.5f (0x3FC00000)
      Tensor odd = mapped.copy(7, DType.F32, 1);
      assertThat(Float.floatToRawIntBits(odd.toFloatArray()[0])).isEqualTo(0xC000_00AB);
      assertThatThrownBy(() -> mapped.share(7, DType.F32, 1))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a multiple of");
    }
    assertThat(FileMappings.count(file)).isZero();
    assertThat(c.toFloatArray()).containsExactly(VALUES);
  }

  @Test
  void rangesOutsideTheMappingAreRejected() throws IOException {
    Path file = writeFile();
    try (MappedFile mapped = MappedFile.map(file, Files.size(file))) {
      assertThatThrownBy(() -> mapped.share(8, DType.F32, 7))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not fit");
      assertThatThrownBy(() -> mapped.copy(-4, DType.F32, 1))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not fit");
    }
    assertThatThrownBy(() -> MappedFile.map(file, Files.size(file) + 1)).isInstanceOf(EngineException.class);
    assertThatThrownBy(() -> MappedFile.map(dir.resolve("absent"), 8)).isInstanceOf(EngineException.class);
  }

  private static String sha256(Path file) throws IOException, NoSuchAlgorithmException {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
  }
}
