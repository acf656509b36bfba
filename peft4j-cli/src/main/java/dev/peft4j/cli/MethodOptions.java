package dev.peft4j.cli;

import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.TaskType;
import dev.peft4j.peft.bottleneck.BottleneckConfig;
import dev.peft4j.peft.bottleneck.BottleneckSpec;
import dev.peft4j.peft.lora.LoraConfig;
import java.util.List;
import picocli.CommandLine.Option;

/** {@code --method} and each method's hyperparameters, turned into a {@link PeftConfig}. */
final class MethodOptions {
  @Option(names = "--method", defaultValue = "lora", paramLabel = "METHOD", description = "PEFT method: lora, houlsby, pfeiffer, parallel, scaled-parallel, mh-parallel.")
  String method;

  @Option(names = "--r", defaultValue = "8", description = "LoRA rank.")
  int rank;

  @Option(names = "--alpha", defaultValue = "16", description = "LoRA alpha (the update is scaled by alpha/r).")
  double alpha;

  @Option(names = "--lora-dropout", defaultValue = "0", description = "Dropout on the LoRA input.")
  double loraDropout;

  @Option(names = "--target", split = ",", paramLabel = "MODULE",
      description = "Modules to adapt: names or suffixes (comma-separated), or all-linear; default per architecture.")
  List<String> targets;

  @Option(names = "--reduction-factor", paramLabel = "R",
      description = "Bottleneck adapters: bottleneck m = hidden size / R (default 16).")
  Integer reductionFactor;

  @Option(names = "--bottleneck", paramLabel = "M", description = "Bottleneck adapters: bottleneck size m (per head for mh-parallel); overrides --reduction-factor.")
  Integer bottleneck;

  @Option(names = "--nonlinearity", paramLabel = "F", description = "Bottleneck adapters: relu, gelu, swish or tanh.")
  String nonLinearity;

  @Option(names = "--scaling", paramLabel = "S",
      description = "Bottleneck adapters: output scaling s, or 'learned' (a trained scalar starting at the method's s; scaled-parallel: 4).")
  String scaling;

  @Option(names = "--placement", paramLabel = "WHERE", description = "Bottleneck adapters: attention, ffn or both (default per method).")
  String placement;

  @Option(names = "--train-layer-norms", description = "Bottleneck adapters: also train the layer norms of the adapted layers.")
  boolean trainLayerNorms;

  /**
   * @param modulesToSave modules trained in full with the method (a new classification head), or null
   * @param base the base model's name, recorded in the adapter config
   */
  PeftConfig build(TaskType task, List<String> modulesToSave, String base) {
    switch (method) {
      case "lora":
        return lora(task, modulesToSave, base);
      case "houlsby":
        return bottleneck(BottleneckSpec.houlsby(), task, modulesToSave, base);
      case "pfeiffer":
        return bottleneck(BottleneckSpec.pfeiffer(), task, modulesToSave, base);
      case "parallel":
        return bottleneck(BottleneckSpec.parallel(), task, modulesToSave, base);
      case "scaled-parallel":
        return bottleneck(BottleneckSpec.scaledParallel(4.0), task, modulesToSave, base);
      case "mh-parallel":
        return bottleneck(BottleneckSpec.multiHeadParallel(), task, modulesToSave, base);
      default:
        throw new IllegalArgumentException("--method " + method
            + " is not available (available: lora, houlsby, pfeiffer, parallel, scaled-parallel, mh-parallel)");
    }
  }

  private LoraConfig lora(TaskType task, List<String> modulesToSave, String base) {
    LoraConfig.Builder b = LoraConfig.builder().r(rank).loraAlpha(alpha).loraDropout(loraDropout)
        .taskType(task).modulesToSave(modulesToSave).baseModelNameOrPath(base);
    if (targets != null && !targets.isEmpty()) {
      if (targets.size() == 1 && targets.get(0).equals("all-linear")) {
        b.allLinear();
      } else {
        b.targetModules(targets.toArray(new String[0]));
      }
    }
    return b.build();
  }

  private BottleneckConfig bottleneck(BottleneckSpec.Builder spec, TaskType task, List<String> modulesToSave, String base) {
    if (reductionFactor != null) {
      spec.reductionFactor(reductionFactor);
    }
    if (bottleneck != null) {
      spec.bottleneckSize(bottleneck);
    }
    if (nonLinearity != null) {
      spec.nonLinearity(BottleneckSpec.NonLinearity.parse(nonLinearity));
    }
    if (placement != null) {
      spec.placement(BottleneckSpec.Placement.parse(placement));
    }
    if ("learned".equals(scaling)) {
      spec.learnedScaling(true);
    } else if (scaling != null) {
      try {
        spec.scaling(Double.parseDouble(scaling));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--scaling must be a number or 'learned', got '" + scaling + "'");
      }
    }
    return BottleneckConfig.builder().adapter(spec).trainLayerNorms(trainLayerNorms).taskType(task)
        .modulesToSave(modulesToSave).baseModelNameOrPath(base).build();
  }
}
