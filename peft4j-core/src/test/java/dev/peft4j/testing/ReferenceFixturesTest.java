package dev.peft4j.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checks the fixture writers with a tiny independent parse of what they produce. */
class ReferenceFixturesTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  /** Parsed safetensors file: header JSON and the data section. */
  private record Parsed(JsonNode header, ByteBuffer data) {}

  private static Parsed parse(Path file) throws IOException {
    ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    int n = Math.toIntExact(all.getLong(0));
    assertThat(n % 8).isZero();
    JsonNode header = JSON.readTree(new String(all.array(), 8, n, StandardCharsets.UTF_8));
    ByteBuffer data = all.position(8 + n).slice().order(ByteOrder.LITTLE_ENDIAN);
    return new Parsed(header, data);
  }

  @Test
  void safetensorsHeaderHasOffsetsShapesAndLittleEndianData() throws IOException {
    Map<String, float[]> data = new LinkedHashMap<>();
    data.put("a", new float[] {1, 2, 3, 4, 5, 6});
    data.put("b.weight", new float[] {-1.5f, 0.25f});
    Path file = dir.resolve("t.safetensors");
    TestSafeTensors.write(file, data, Map.of("a", new long[] {2, 3}), "F32");

    Parsed p = parse(file);
    assertThat(p.header().get("__metadata__").get("format").asText()).isEqualTo("pt");
    assertThat(p.header().get("a").toString())
        .isEqualTo("{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}");
    assertThat(p.header().get("b.weight").get("shape").toString()).isEqualTo("[2]");
    assertThat(p.header().get("b.weight").get("data_offsets").toString()).isEqualTo("[24,32]");
    assertThat(p.data().remaining()).isEqualTo(32);
    assertThat(p.data().getFloat(4)).isEqualTo(2f);
    assertThat(p.data().getFloat(24)).isEqualTo(-1.5f);
  }

  @Test
  void bf16RoundsToNearestEven() {
    assertThat(TestSafeTensors.bf16Bits(1.0f)).isEqualTo(0x3F80);
    assertThat(TestSafeTensors.bf16Bits(-2.0f)).isEqualTo(0xC000);
    assertThat(TestSafeTensors.bf16Bits(1.00390625f)).isEqualTo(0x3F80); // tie -> even (down)
    assertThat(TestSafeTensors.bf16Bits(1.01171875f)).isEqualTo(0x3F82); // tie -> even (up)
    assertThat(TestSafeTensors.bf16Bits(1.0040f)).isEqualTo(0x3F81); // above the tie
    assertThat(TestSafeTensors.bf16Bits(Float.MAX_VALUE)).isEqualTo(0x7F80); // overflows to inf
    assertThat(Float.isNaN(TestSafeTensors.roundToBf16(Float.NaN))).isTrue();
    assertThat(TestSafeTensors.roundToBf16(3.14159265f)).isEqualTo(3.140625f);
  }

  @Test
  void bf16CheckpointStoresRoundedBitsAndReferenceUsesThem() throws IOException {
    TinyCheckpoint ckpt = TinyCheckpoint.llama().dtype("BF16");
    Parsed p = parse(ckpt.writeTo(dir).resolve("model.safetensors"));
    float[] embed = ckpt.weights().get("model.embed_tokens.weight");
    JsonNode entry = p.header().get("model.embed_tokens.weight");
    assertThat(entry.get("dtype").asText()).isEqualTo("BF16");
    int begin = entry.get("data_offsets").get(0).asInt();
    assertThat(entry.get("data_offsets").get(1).asInt() - begin).isEqualTo(2 * embed.length);
    assertThat(p.data().getShort(begin + 2) & 0xFFFF).isEqualTo(TestSafeTensors.bf16Bits(embed[1]));
    assertThat(ckpt.configMap()).containsEntry("torch_dtype", "bfloat16");

    int[] ids = {3, 1, 4};
    float[][] bf16 = ckpt.reference().logits(ids);
    float[][] f32 = TinyCheckpoint.llama().reference().logits(ids);
    assertThat(bf16[2]).isNotEqualTo(f32[2]);
    for (int v = 0; v < 64; v++) {
      assertThat(bf16[2][v]).isCloseTo(f32[2][v], org.assertj.core.data.Offset.offset(0.05f));
    }
  }

  @Test
  void shardsAreIndexedAndCoverEveryTensorOnce() throws IOException {
    TinyCheckpoint ckpt = TinyCheckpoint.llama().shards(3);
    ckpt.writeTo(dir);
    JsonNode index = JSON.readTree(dir.resolve("model.safetensors.index.json").toFile());
    List<String> seen = new ArrayList<>();
    long bytes = 0;
    for (int s = 1; s <= 3; s++) {
      String file = String.format("model-%05d-of-00003.safetensors", s);
      Parsed p = parse(dir.resolve(file));
      for (var it = p.header().fieldNames(); it.hasNext(); ) {
        String name = it.next();
        if (!name.equals("__metadata__")) {
          seen.add(name);
          assertThat(index.get("weight_map").get(name).asText()).isEqualTo(file);
        }
      }
      bytes += p.data().remaining();
    }
    assertThat(seen).containsExactlyElementsOf(ckpt.weights().keySet());
    assertThat(index.get("weight_map").size()).isEqualTo(seen.size());
    assertThat(index.get("metadata").get("total_size").asLong()).isEqualTo(bytes);
    assertThat(dir.resolve("model.safetensors")).doesNotExist();
  }

  @Test
  void tensorNamesAndShapesFollowHuggingFace() throws IOException {
    TinyCheckpoint tied = TinyCheckpoint.llama().config("tie_word_embeddings", true);
    assertThat(tied.weights()).doesNotContainKey("lm_head.weight");
    assertThat(TinyCheckpoint.llama().shapes().get("model.layers.0.self_attn.k_proj.weight"))
        .containsExactly(16, 32); // 2 kv heads * head_dim 8
    assertThat(TinyCheckpoint.llama().config("attention_bias", true).weights())
        .containsKeys("model.layers.1.self_attn.o_proj.bias", "model.layers.1.self_attn.q_proj.bias");

    TinyCheckpoint qwen = TinyCheckpoint.llama().config("model_type", "qwen2");
    assertThat(qwen.weights()).containsKey("model.layers.0.self_attn.v_proj.bias")
        .doesNotContainKey("model.layers.0.self_attn.o_proj.bias");
    assertThat(qwen.configJson()).contains("Qwen2ForCausalLM");

    TinyCheckpoint gpt2 = TinyCheckpoint.gpt2();
    assertThat(gpt2.shapes().get("transformer.h.0.attn.c_attn.weight")).containsExactly(32, 96);
    assertThat(gpt2.shapes().get("transformer.h.1.mlp.c_fc.weight")).containsExactly(32, 128);
    assertThat(gpt2.weights()).doesNotContainKey("lm_head.weight");

    assertThat(TinyCheckpoint.bert().weights())
        .containsKeys("embeddings.word_embeddings.weight", "pooler.dense.weight");
    TinyCheckpoint cls = TinyCheckpoint.bert().withClassifier(3);
    assertThat(cls.weights()).containsKeys("bert.encoder.layer.1.output.LayerNorm.bias", "classifier.bias");
    assertThat(cls.shapes().get("classifier.weight")).containsExactly(3, 32);
    JsonNode config = JSON.readTree(cls.writeTo(dir).resolve("config.json").toFile());
    assertThat(config.get("architectures").get(0).asText()).isEqualTo("BertForSequenceClassification");
    assertThat(config.get("id2label").size()).isEqualTo(3);
  }

  @Test
  void seededInitIsReproducibleAndViewsAreMutable() {
    TinyCheckpoint a = TinyCheckpoint.gpt2().seed(7);
    assertThat(a.weights().get("transformer.wte.weight"))
        .isEqualTo(TinyCheckpoint.gpt2().seed(7).weights().get("transformer.wte.weight"))
        .isNotEqualTo(TinyCheckpoint.gpt2().seed(8).weights().get("transformer.wte.weight"));
    assertThat(a.weights().get("transformer.h.0.ln_1.bias")).doesNotContain(0f);
    a.weights().remove("transformer.ln_f.weight");
    assertThatThrownBy(() -> a.reference().logits(new int[] {1}))
        .hasMessageContaining("missing weight transformer.ln_f.weight");
  }
}
