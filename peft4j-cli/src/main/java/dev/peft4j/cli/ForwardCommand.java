package dev.peft4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.Encoder;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.model.SequenceClassifier;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code peft4j forward}: runs a model on token ids. Causal LMs print the logits at each
 * sequence's last token; encoders print the last hidden state of the first token and the
 * pooler output (and class logits for classification models). Shorter sequences are padded
 * internally: on the left for causal models, on the right for encoders.
 */
@Command(name = "forward", description = "Run a model on token ids and print its outputs.")
final class ForwardCommand implements Callable<Integer> {
  private static final int PREVIEW = 8;

  @Mixin CommonOptions common;

  @Mixin AdapterOption adapterOption;

  @Option(names = "--input-ids", required = true, paramLabel = "IDS",
      description = "Token ids: '1,5,7' or several sequences '1,5,7;1,9,4,2'.")
  String inputIds;

  @Option(names = "--json", description = "Print JSON instead of a summary.")
  boolean json;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    long[][] rows = TokenIds.parse(inputIds);
    PretrainedModel model = ModelSetup.load(common.modelDir(), adapterOption.dir(),
        common.loadOptions());
    Map<String, Object> out = new LinkedHashMap<>();
    try (Scope scope = Scope.open(); Engine.GradGuard noGrad = Engine.noGrad()) {
      if (model instanceof CausalLm) {
        PaddedBatch batch = PaddedBatch.left(rows);
        out.put("logits", rowsOf(((CausalLm) model).lastLogits(batch.ids(), batch.mask(), null)));
      } else {
        PaddedBatch batch = PaddedBatch.right(rows);
        SequenceClassifier classifier = model instanceof SequenceClassifier c ? c : null;
        Encoder encoder = (Encoder) (classifier == null ? model : classifier.encoder());
        Encoder.EncoderOutput result = encoder.encode(batch.ids(), null, batch.mask());
        out.put("cls", rowsOf(result.lastHiddenState().select(1, 0)));
        out.put("pooled", result.pooled() == null ? null : rowsOf(result.pooled()));
        if (classifier != null) {
          out.put("logits", rowsOf(classifier.classify(batch.ids(), null, batch.mask())));
        }
      }
    }
    PrintWriter w = spec.commandLine().getOut();
    if (json) {
      w.println(new ObjectMapper().writeValueAsString(out));
    } else {
      out.forEach((name, value) -> printSummary(w, name, (float[][]) value));
    }
    w.flush();
    return 0;
  }

  private static float[][] rowsOf(Tensor matrix) {
    float[][] result = new float[(int) matrix.size(0)][];
    for (int i = 0; i < result.length; i++) {
      result[i] = matrix.select(0, i).toFloatArray();
    }
    return result;
  }

  private static void printSummary(PrintWriter w, String name, float[][] rows) {
    if (rows == null) {
      w.println(name + ": (this model has no pooler)");
      return;
    }
    for (int i = 0; i < rows.length; i++) {
      float[] r = rows[i];
      int argmax = 0;
      for (int j = 1; j < r.length; j++) {
        if (r[j] > r[argmax]) {
          argmax = j;
        }
      }
      StringBuilder preview = new StringBuilder();
      for (int j = 0; j < Math.min(PREVIEW, r.length); j++) {
        preview.append(String.format(java.util.Locale.ROOT, " %.5f", r[j]));
      }
      w.printf(java.util.Locale.ROOT, "%s[%d]: %d values, argmax %d (%.5f); first:%s%s%n",
          name, i, r.length, argmax, r[argmax], preview, r.length > PREVIEW ? " ..." : "");
    }
  }
}
