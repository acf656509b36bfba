package dev.peft4j.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.nn.KvCache;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Path;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Forward passes in scopes free their native memory: resident memory is flat across many
 * steps. Each leaked step would hold a few MB here (batch 2 × 96 positions of activations,
 * attention scores and logits), so 150 leaked steps would be ~0.3 GB against 64 MB allowed.
 */
class NativeMemoryTest {
  @TempDir Path dir;

  @Test
  void residentMemoryIsFlatAcrossForwardAndDecodeSteps() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama()
        .config("hidden_size", 128).config("intermediate_size", 256).config("num_attention_heads", 8)
        .config("num_key_value_heads", 4).config("vocab_size", 512).config("max_position_embeddings", 256);
    CausalLm model = AutoModel.loadCausalLm(checkpoint.writeTo(dir), LoadOptions.defaults());
    long[] ids = new long[2 * 96];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = (i * 31L) % 512;
    }
    Tensor input;
    try (Scope scope = Scope.open()) {
      input = scope.keep(Tensor.ofLongs(ids, 2, 96));
    }
    Runnable step = () -> {
      try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad(); KvCache cache = model.newCache()) {
        model.forward(input, null, cache);
        model.forward(input.narrow(1, 0, 1), null, cache);
      }
    };
    for (int i = 0; i < 20; i++) {
      step.run(); // warm up allocator pools
    }
    long before = Pointer.physicalBytes();
    for (int i = 0; i < 150; i++) {
      step.run();
    }
    long growth = Pointer.physicalBytes() - before;
    assertThat(growth).as("RSS growth over 150 steps, bytes").isLessThan(64L << 20);
  }
}
