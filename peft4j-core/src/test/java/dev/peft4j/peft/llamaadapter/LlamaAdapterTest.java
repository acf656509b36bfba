package dev.peft4j.peft.llamaadapter;

import static dev.peft4j.peft.PromptTesting.assertClose;
import static dev.peft4j.peft.PromptTesting.batch;
import static dev.peft4j.peft.PromptTesting.logits;
import static dev.peft4j.peft.PromptTesting.rows;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.SafeTensorsFile;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.KvCache;
import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.peft.PromptTesting;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TinyCheckpoint;
import dev.peft4j.testing.reference.ReferenceLlama;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** LLaMA-Adapter: zero-init identity, exact gated attention, PEFT's names, cache, multimodal, errors. */
class LlamaAdapterTest {
  private static final long[] IDS = {3, 14, 15, 9, 26, 5};

  @TempDir Path dir;

  private PretrainedModel load(TinyCheckpoint c, String sub) throws Exception {
    return AutoModel.load(c.writeTo(dir.resolve(sub)), LoadOptions.defaults());
  }

  private static LlamaAdapterConfig config(LlamaAdapterConfig.Gate gate, Integer visual) {
    return LlamaAdapterConfig.builder().adapterLen(3).adapterLayers(1).gate(gate).visualFeatureDim(visual).build();
  }

  @ParameterizedTest
  @EnumSource(LlamaAdapterConfig.Gate.class)
  void atInitTheModelIsExactlyTheBase(LlamaAdapterConfig.Gate gate) throws Exception {
    PretrainedModel model = load(TinyCheckpoint.llama(), "m");
    float[][] base = logits((CausalLm) model, IDS);
    PeftModel peft = Peft.wrap(model, LlamaAdapterConfig.builder().adapterLen(4).adapterLayers(2).gate(gate)
        .visualFeatureDim(5).build());
    float[][] adapted;
    try (AutoCloseable f = ((LlamaAdapter) peft.adapter()).withImageFeatures(Tensor.randn(dev.peft4j.tensor.DType.F32, 1, 5))) {
      adapted = logits(peft.causalLm(), IDS);
    }
    for (int t = 0; t < IDS.length; t++) {
      assertThat(adapted[t]).as("position " + t).containsExactly(base[t]);
    }
  }

  /**
   * With non-zero gates the logits equal the pure-Java reference that attends to the prompt's
   * unrotated k/v-projections in a separate softmax (double precision) and adds gate × result:
   * tanh(g_h) per head, or the scalar g. GQA: 4 query heads share 2 key/value heads.
   */
  @ParameterizedTest
  @EnumSource(LlamaAdapterConfig.Gate.class)
  void gatedAdaptionAttentionEqualsTheReference(LlamaAdapterConfig.Gate gate) throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama();
    PeftModel peft = Peft.wrap(load(checkpoint, "m"), LlamaAdapterConfig.builder().adapterLen(3).adapterLayers(2)
        .gate(gate).build());
    double[][] gates = new double[2][4];
    float[][][] prompts = new float[2][][];
    for (int l = 0; l < 2; l++) {
      String p = "model.layers." + l + ".self_attn.";
      Parameter g = peft.trainableParameters().get(p + "adaption_gate");
      float[] values = gate == LlamaAdapterConfig.Gate.SCALAR ? new float[] {0.7f - l} : new float[] {0.5f, -1.2f, 2f, 0.1f * l};
      try (Engine.GradGuard ng = Engine.noGrad()) {
        g.value().copy_(Tensor.of(values, g.shape()));
      }
      for (int h = 0; h < 4; h++) {
        gates[l][h] = gate == LlamaAdapterConfig.Gate.SCALAR ? values[0] : Math.tanh(values[h]);
      }
      prompts[l] = rows(peft.trainableParameters().get(p + "adaption_prompt").value().select(0, 0));
    }
    ReferenceLlama reference = new ReferenceLlama(checkpoint.configMap(), checkpoint.weights());
    float[][] expected = reference.logits(toInts(IDS), new ReferenceLlama.PromptExtras(null, null, null, prompts, gates));
    assertClose(logits(peft.causalLm(), IDS), expected, 1e-4, "LLaMA-Adapter logits");
    assertThat(PromptTesting.maxDiff(expected, reference.logits(toInts(IDS)))).isGreaterThan(1e-4);

    CausalLm model = peft.causalLm();
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad(); KvCache cache = model.newCache()) {
      model.forward(batch(new long[] {3, 14, 15}), null, cache);
      for (int t = 3; t < IDS.length; t++) {
        Tensor step = model.forward(batch(new long[] {IDS[t]}), null, cache);
        assertClose(step.select(0, 0).select(0, 0).toFloatArray(), expected[t], 1e-4, "cached step " + t);
      }
    }
  }

  /** K·L·d prompt values plus L gates (H each per head, 1 scalar), plus F·d + d for the image projection; PEFT's names. */
  @Test
  void parameterCountsAndSavedNamesAndShapes() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama();
    int k = 3;
    int l = 2;
    int d = 32;
    PeftModel perHead = Peft.wrap(load(checkpoint, "a"), LlamaAdapterConfig.builder().adapterLen(k).adapterLayers(l).build());
    assertThat(perHead.trainableParameterCount()).isEqualTo((long) k * l * d + l * 4);
    PeftModel scalar = Peft.wrap(load(checkpoint, "b"), config(LlamaAdapterConfig.Gate.SCALAR, null));
    assertThat(scalar.trainableParameterCount()).isEqualTo((long) k * 1 * d + 1);
    PeftModel visual = Peft.wrap(load(checkpoint, "c"), config(LlamaAdapterConfig.Gate.SCALAR, 7));
    assertThat(visual.trainableParameterCount()).isEqualTo((long) k * d + 1 + 7L * d + d);

    visual.save(dir.resolve("v"));
    Map<String, long[]> shapes = new HashMap<>();
    try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve("v/adapter_model.safetensors"))) {
      f.tensors().forEach(i -> shapes.put(i.name(), i.shape()));
    }
    assertThat(shapes.keySet()).containsExactlyInAnyOrder(
        "base_model.model.model.layers.1.self_attn.adaption_prompt",
        "base_model.model.model.layers.1.self_attn.adaption_gate",
        "base_model.model.adaption_visual_proj.weight", "base_model.model.adaption_visual_proj.bias");
    assertThat(shapes.get("base_model.model.model.layers.1.self_attn.adaption_prompt")).containsExactly(1, k, d);
    assertThat(shapes.get("base_model.model.model.layers.1.self_attn.adaption_gate")).containsExactly(1);
    assertThat(shapes.get("base_model.model.adaption_visual_proj.weight")).containsExactly(d, 7);
    perHead.save(dir.resolve("h"));
    assertThat(Files.readString(dir.resolve("h/adapter_config.json"))).contains("\"gate\": \"per_head_tanh\"");
  }

  @Test
  void saveLoadRoundTripIsExactWithImageFeatures() throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama();
    PeftModel peft = Peft.wrap(load(checkpoint, "m"), config(LlamaAdapterConfig.Gate.PER_HEAD_TANH, 4));
    try (Engine.GradGuard g = Engine.noGrad()) {
      Tensor gate = peft.trainableParameters().get("model.layers.1.self_attn.adaption_gate").value();
      gate.copy_(Tensor.full(dev.peft4j.tensor.DType.F32, 0.3, gate.shape()));
    }
    Tensor features = Tensor.of(new float[] {1, 2, 3, 4, -1, 0, 2, 5}, 2, 4);
    float[][] text = logits(peft.causalLm(), IDS);
    float[][] withImage;
    try (AutoCloseable f = ((LlamaAdapter) peft.adapter()).withImageFeatures(features.narrow(0, 0, 1))) {
      withImage = logits(peft.causalLm(), IDS);
    }
    assertThat(PromptTesting.maxDiff(text, withImage)).as("the image changes the output").isGreaterThan(1e-5);
    peft.save(dir.resolve("a"));
    PeftModel loaded = PeftModel.load(load(checkpoint, "m2"), dir.resolve("a"));
    try (AutoCloseable f = ((LlamaAdapter) loaded.adapter()).withImageFeatures(features.narrow(0, 0, 1))) {
      float[][] again = logits(loaded.causalLm(), IDS);
      for (int t = 0; t < IDS.length; t++) {
        assertThat(again[t]).containsExactly(withImage[t]);
      }
    }
    // a batch of two rows, each with its own image, equals each row alone
    try (AutoCloseable f = ((LlamaAdapter) peft.adapter()).withImageFeatures(features);
        Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      Tensor both = peft.causalLm().forward(batch(IDS, IDS), null, null);
      assertClose(rows(both.select(0, 0)), withImage, 1e-5, "row 0");
    }
  }

  @Test
  void npyAndSafetensorsFeatureFilesAndWrongSizesAreClearErrors() throws Exception {
    Path npy = dir.resolve("f.npy");
    writeNpy(npy, new float[] {1.5f, -2f, 3f, 0.25f, 7f, 8f}, "(2, 3)");
    assertThat(ImageFeatures.read(npy, 6)).containsExactly(1.5f, -2f, 3f, 0.25f, 7f, 8f);
    assertThatThrownBy(() -> ImageFeatures.read(npy, 5)).isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("has 6 values but the adapter's visual_feature_dim is 5");
    Path lines = dir.resolve("data.jsonl");
    Files.writeString(lines, "{\"text\": \"a\", \"image_features\": \"f.npy\"}\n{\"text\": \"b\"}\n");
    assertThatThrownBy(() -> ImageFeatures.forJsonl(lines, 6)).hasMessageContaining("line 2: missing \"image_features\"");

    PeftModel peft = Peft.wrap(load(TinyCheckpoint.llama(), "m"), config(LlamaAdapterConfig.Gate.SCALAR, 6));
    assertThatThrownBy(() -> ((LlamaAdapter) peft.adapter()).withImageFeatures(Tensor.zeros(dev.peft4j.tensor.DType.F32, 1, 5)))
        .hasMessageContaining("image features must be [batch, 6] (visual_feature_dim), got [1, 5]");
    try (AutoCloseable f = ((LlamaAdapter) peft.adapter()).withImageFeatures(Tensor.zeros(dev.peft4j.tensor.DType.F32, 2, 6))) {
      assertThatThrownBy(() -> logits(peft.causalLm(), IDS)).hasMessageContaining("given for 2 rows but the batch has 1");
    }
    Path bad = dir.resolve("d.npy");
    writeNpy(bad, new float[] {1f}, "(1,)");
    byte[] bytes = Files.readAllBytes(bad);
    Files.write(bad, new String(bytes, StandardCharsets.ISO_8859_1).replace("<f4", "<f8").getBytes(StandardCharsets.ISO_8859_1));
    assertThatThrownBy(() -> ImageFeatures.read(bad, 1)).hasMessageContaining("holds dtype '<f8'");
  }

  @Test
  void otherModelsAndTooManyLayersAreClearErrors() throws Exception {
    assertThatThrownBy(() -> Peft.wrap(load(TinyCheckpoint.gpt2(), "g"), config(LlamaAdapterConfig.Gate.SCALAR, null)))
        .hasMessageContaining("supports llama, mistral and qwen2");
    assertThatThrownBy(() -> Peft.wrap(load(TinyCheckpoint.llama(), "l"), LlamaAdapterConfig.builder().adapterLen(2)
        .adapterLayers(3).build())).hasMessageContaining("adapter_layers is 3 but LlamaForCausalLM has 2 layers");
  }

  /** NumPy's format 1.0: magic, version, header length, dict padded so the data starts at a multiple of 64. */
  static void writeNpy(Path file, float[] values, String shape) throws Exception {
    String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
    int total = 10 + dict.length() + 1;
    int pad = (64 - total % 64) % 64;
    String header = dict + " ".repeat(pad) + "\n";
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
    out.write(ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort((short) header.length()).array());
    out.write(header.getBytes(StandardCharsets.ISO_8859_1));
    ByteBuffer data = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      data.putFloat(v);
    }
    out.write(data.array());
    Files.write(file, out.toByteArray());
  }

  private static int[] toInts(long[] ids) {
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = (int) ids[i];
    }
    return out;
  }
}
