package dev.peft4j.cli;

import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.TaskType;
import dev.peft4j.peft.lora.LoraConfig;
import java.util.List;
import picocli.CommandLine.Option;

/** {@code --method} and each method's hyperparameters, turned into a {@link PeftConfig}. */
final class MethodOptions {
  @Option(names = "--method", defaultValue = "lora", paramLabel = "METHOD", description = "PEFT method: lora.")
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

  /**
   * @param modulesToSave modules trained in full with the method (a new classification head), or null
   * @param base the base model's name, recorded in the adapter config
   */
  PeftConfig build(TaskType task, List<String> modulesToSave, String base) {
    switch (method) {
      case "lora":
        return lora(task, modulesToSave, base);
      default:
        throw new IllegalArgumentException("--method " + method + " is not available (available: lora)");
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
}
