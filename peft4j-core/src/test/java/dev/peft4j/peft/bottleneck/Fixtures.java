package dev.peft4j.peft.bottleneck;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.model.AutoModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.model.bert.BertModel;
import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Path;

/** Tiny models, their outputs, and adapter weights made large enough to matter. */
final class Fixtures {
  static final long[] IDS = {3, 14, 15, 9, 26, 5, 35};
  static final int[] INT_IDS = {3, 14, 15, 9, 26, 5, 35};

  private Fixtures() {}

  static PretrainedModel load(TinyCheckpoint checkpoint, Path dir) throws Exception {
    return AutoModel.load(checkpoint.writeTo(dir), LoadOptions.defaults());
  }

  /** Logits [T·vocab] of a causal LM, or last hidden states [T·hidden] of a BERT encoder. */
  static float[] output(PretrainedModel model) {
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      Tensor ids = Tensor.ofLongs(IDS, 1, IDS.length);
      return model instanceof CausalLm
          ? ((CausalLm) model).forward(ids, null, null).toFloatArray()
          : ((BertModel) model).encode(ids, null, null).lastHiddenState().toFloatArray();
    }
  }

  static double maxAbsDiff(float[] a, float[] b) {
    assertThat(a).hasSameSizeAs(b);
    double d = 0;
    for (int i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
    }
    return d;
  }

  static double maxAbs(float[] a) {
    double m = 0;
    for (float v : a) {
      m = Math.max(m, Math.abs(v));
    }
    return m;
  }

  /** Sets every adapter weight and bias (not a learned scaling) to N(0, std²) draws, seeded. */
  static void randomize(PeftModel peft, double std, long seed) {
    Engine.manualSeed(seed);
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      peft.adapter().trainableParameters().forEach((name, p) -> {
        if (!name.endsWith(".scaling")) {
          p.value().copy_(Tensor.zeros(DType.F32, p.shape()).normal_(0, std));
        }
      });
    }
  }

  static float[] values(Parameter p) {
    return p.value().toFloatArray();
  }
}
