package dev.peft4j.peft.prompt;

import static dev.peft4j.peft.PromptTesting.assertClose;
import static dev.peft4j.peft.PromptTesting.batch;
import static dev.peft4j.peft.PromptTesting.logits;
import static dev.peft4j.peft.PromptTesting.rows;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.data.EncodedExample;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** P-tuning: the prompt encoder (LSTM math, gradients), folding on save, templates. */
class PTuningTest {
  private static final long[] IDS = {3, 14, 15, 9, 26};

  @TempDir Path dir;

  private PretrainedModel load(String sub) throws Exception {
    return AutoModel.load(TinyCheckpoint.llama().writeTo(dir.resolve(sub)), LoadOptions.defaults());
  }

  private static PTuningConfig lstm(int tokens, int hidden) {
    return PTuningConfig.builder().numVirtualTokens(tokens).encoderType(PTuningConfig.EncoderType.LSTM)
        .encoderHiddenSize(hidden).build();
  }

  /**
   * The encoder output against an independent double-precision BiLSTM (PyTorch's equations, gate
   * order i, f, g, o) + Linear-ReLU-Linear; then a loss through the whole model reaches every
   * LSTM and MLP parameter.
   */
  @Test
  void lstmEncoderMatchesAnIndependentLstmAndItsGradientsFlow() throws Exception {
    PeftModel peft = Peft.wrap(load("m"), lstm(4, 6));
    Map<String, Parameter> params = peft.trainableParameters();
    assertThat(params.keySet()).contains("prompt_encoder.default.lstm_head.weight_ih_l0",
        "prompt_encoder.default.lstm_head.weight_hh_l1_reverse", "prompt_encoder.default.mlp_head.2.bias");
    double[][] x = toDouble(rows(params.get("prompt_encoder.default.embedding.weight").value()));
    for (int l = 0; l < 2; l++) {
      double[][] fwd = lstmDirection(x, params, "_l" + l, 6, false);
      double[][] bwd = lstmDirection(x, params, "_l" + l + "_reverse", 6, true);
      double[][] next = new double[x.length][12];
      for (int t = 0; t < x.length; t++) {
        System.arraycopy(fwd[t], 0, next[t], 0, 6);
        System.arraycopy(bwd[t], 0, next[t], 6, 6);
      }
      x = next;
    }
    double[][] expected = linear(relu(linear(x, params, "mlp_head.0")), params, "mlp_head.2");
    assertClose(rows(((PromptAdapter) peft.adapter()).prompt()), toFloat(expected), 1e-5, "LSTM encoder output");

    Tensor loss = peft.causalLm().forward(batch(IDS), null, null).pow(2).mean();
    loss.backward();
    params.forEach((name, p) -> {
      Tensor grad = p.value().grad();
      assertThat(grad).as(name + " has a gradient").isNotNull();
      assertThat(grad.abs().sum().item()).as(name + " gradient is non-zero").isGreaterThan(0);
    });
    peft.baseModel().namedParameters().forEach((name, p) -> assertThat(p.value().grad()).as(name).isNull());
  }

  @ParameterizedTest
  @EnumSource(PTuningConfig.EncoderType.class)
  void savedEmbeddingsReproduceTheModelExactlyWithoutTheEncoder(PTuningConfig.EncoderType type) throws Exception {
    PeftModel peft = Peft.wrap(load("m"), PTuningConfig.builder().numVirtualTokens(3).encoderType(type)
        .encoderHiddenSize(16).build());
    assertThat(((PromptAdapter) peft.adapter()).reparameterised()).isTrue();
    float[][] trained = logits(peft.causalLm(), IDS);
    peft.save(dir.resolve("a"));
    PeftModel loaded = PeftModel.load(load("m2"), dir.resolve("a"));
    assertThat(((PromptAdapter) loaded.adapter()).reparameterised()).as("no encoder after loading").isFalse();
    assertThat(loaded.trainableParameterCount()).isEqualTo(3 * 32);
    float[][] reloaded = logits(loaded.causalLm(), IDS);
    for (int t = 0; t < IDS.length; t++) {
      assertThat(reloaded[t]).as("position " + t).containsExactly(trained[t]);
    }
  }

  @Test
  void aTemplateWithAllPseudoTokensInFrontEqualsPrependingThem() throws Exception {
    PeftModel prepend = Peft.wrap(load("m"), PTuningConfig.builder().numVirtualTokens(2).build());
    prepend.save(dir.resolve("a"));
    PeftModel templated = Peft.wrap(load("m2"), PTuningConfig.builder().numVirtualTokens(2)
        .template(PromptTemplate.parse("[P:2] {x}"), 63).inferenceMode(true).build());
    templated.adapter().load(dev.peft4j.peft.AdapterFormat.read(dir.resolve("a")).tensors(), "a");
    EncodedExample ex = PromptTemplate.parse("[P:2] {x}").apply(EncodedExample.lm(new int[] {3, 14, 15}, new int[] {-100, 14, 15}), 63);
    assertThat(ex.ids()).containsExactly(63, 63, 3, 14, 15);
    assertThat(ex.labels()).containsExactly(-100, -100, -100, 14, 15);
    float[][] viaTemplate = logits(templated.causalLm(), 63, 63, 3, 14, 15);
    float[][] viaPrefix = logits(prepend.causalLm(), 3, 14, 15);
    assertClose(java.util.Arrays.copyOfRange(viaTemplate, 2, 5), viaPrefix, 1e-5, "template vs prepend");
  }

  /**
   * "[P] {x} [P] {y}": position 1 (after the first pseudo token) sees only prompt row 0 and x's
   * first token, so it equals a one-token prompt holding row 0 prepended to that token.
   */
  @Test
  void pseudoTokensInTheMiddleTakePromptRowsInOrder() throws Exception {
    PromptTemplate template = PromptTemplate.parse("[P] {x} [P:1] {y}");
    assertThat(template.pseudoTokens()).isEqualTo(2);
    EncodedExample ex = template.apply(EncodedExample.lm(new int[] {14, 15, 9}, new int[] {-100, 15, 9}), 63);
    assertThat(ex.ids()).containsExactly(63, 14, 63, 15, 9);
    assertThat(ex.labels()).containsExactly(-100, -100, -100, 15, 9);
    PeftModel peft = Peft.wrap(load("m"), PTuningConfig.builder().numVirtualTokens(2).template(template, 63).build());
    float[][] tuned = logits(peft.causalLm(), 63, 14, 63, 15, 9);
    Tensor row0 = ((PromptAdapter) peft.adapter()).prompt().narrow(0, 0, 1).detach();
    PeftModel single = Peft.wrap(load("m2"), PromptTuningConfig.builder().numVirtualTokens(1).inferenceMode(true).build());
    single.adapter().load(Map.of("prompt_embeddings",
        new dev.peft4j.io.TensorData(row0.dtype(), row0.shape(), row0.toBytes())), "row 0");
    assertClose(tuned[1], logits(single.causalLm(), 14)[0], 1e-5, "position after the first pseudo token");
  }

  @Test
  void badTemplatesAndInputsAreClearErrors() throws Exception {
    assertThatThrownBy(() -> PromptTemplate.parse("[P:3] {y}")).hasMessageContaining("has no {x} slot");
    assertThatThrownBy(() -> PromptTemplate.parse("{x} {y}")).hasMessageContaining("places no pseudo token");
    assertThatThrownBy(() -> PromptTemplate.parse("[P] hello {x}")).hasMessageContaining("unexpected 'hello'");
    assertThatThrownBy(() -> PTuningConfig.builder().numVirtualTokens(4).template(PromptTemplate.parse("[P:3] {x}"), 5)
        .build()).hasMessageContaining("places 3 pseudo tokens but num_virtual_tokens is 4");
    PeftModel peft = Peft.wrap(load("m"), PTuningConfig.builder().numVirtualTokens(2)
        .template(PromptTemplate.parse("[P] {x} [P]"), 63).build());
    assertThatThrownBy(() -> logits(peft.causalLm(), 63, 3, 14))
        .hasMessageContaining("row 0 holds pseudo token id 63 1 times but the template places 2");
  }

  private static double[][] lstmDirection(double[][] x, Map<String, Parameter> p, String suffix, int h, boolean reverse) {
    float[] wih = p.get("prompt_encoder.default.lstm_head.weight_ih" + suffix).value().toFloatArray();
    float[] whh = p.get("prompt_encoder.default.lstm_head.weight_hh" + suffix).value().toFloatArray();
    float[] bih = p.get("prompt_encoder.default.lstm_head.bias_ih" + suffix).value().toFloatArray();
    float[] bhh = p.get("prompt_encoder.default.lstm_head.bias_hh" + suffix).value().toFloatArray();
    int in = x[0].length;
    double[] hs = new double[h];
    double[] cs = new double[h];
    double[][] out = new double[x.length][];
    for (int step = 0; step < x.length; step++) {
      int t = reverse ? x.length - 1 - step : step;
      double[] gates = new double[4 * h];
      for (int g = 0; g < 4 * h; g++) {
        double s = bih[g] + bhh[g];
        for (int i = 0; i < in; i++) {
          s += wih[g * in + i] * x[t][i];
        }
        for (int i = 0; i < h; i++) {
          s += whh[g * h + i] * hs[i];
        }
        gates[g] = s;
      }
      double[] nh = new double[h];
      for (int i = 0; i < h; i++) {
        double ig = sigmoid(gates[i]);
        double fg = sigmoid(gates[h + i]);
        double gg = Math.tanh(gates[2 * h + i]);
        double og = sigmoid(gates[3 * h + i]);
        cs[i] = fg * cs[i] + ig * gg;
        nh[i] = og * Math.tanh(cs[i]);
      }
      hs = nh;
      out[t] = nh;
    }
    return out;
  }

  private static double sigmoid(double v) {
    return 1 / (1 + Math.exp(-v));
  }

  private static double[][] linear(double[][] x, Map<String, Parameter> p, String name) {
    Parameter w = p.get("prompt_encoder.default." + name + ".weight");
    float[] wv = w.value().toFloatArray();
    float[] bv = p.get("prompt_encoder.default." + name + ".bias").value().toFloatArray();
    int out = (int) w.shape()[0];
    int in = (int) w.shape()[1];
    double[][] y = new double[x.length][out];
    for (int t = 0; t < x.length; t++) {
      for (int o = 0; o < out; o++) {
        double s = bv[o];
        for (int i = 0; i < in; i++) {
          s += wv[o * in + i] * x[t][i];
        }
        y[t][o] = s;
      }
    }
    return y;
  }

  private static double[][] relu(double[][] x) {
    double[][] y = new double[x.length][];
    for (int t = 0; t < x.length; t++) {
      y[t] = java.util.Arrays.stream(x[t]).map(v -> Math.max(0, v)).toArray();
    }
    return y;
  }

  private static double[][] toDouble(float[][] a) {
    double[][] out = new double[a.length][];
    for (int i = 0; i < a.length; i++) {
      out[i] = new double[a[i].length];
      for (int j = 0; j < a[i].length; j++) {
        out[i][j] = a[i][j];
      }
    }
    return out;
  }

  private static float[][] toFloat(double[][] a) {
    float[][] out = new float[a.length][];
    for (int i = 0; i < a.length; i++) {
      out[i] = new float[a[i].length];
      for (int j = 0; j < a[i].length; j++) {
        out[i][j] = (float) a[i][j];
      }
    }
    return out;
  }
}
