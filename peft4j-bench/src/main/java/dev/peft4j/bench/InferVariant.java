package dev.peft4j.bench;

import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.TaskType;
import dev.peft4j.peft.lora.LoraConfig;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * One configuration {@code bench infer} measures against the base model: a PEFT method attached
 * to it, merged into the weights or not.
 *
 * <p>The list is data: a method that lands adds its line to {@link #ALL} (e.g. prefix tuning,
 * LLaMA-Adapter, a bottleneck adapter), and {@code bench infer} picks it up, its name usable with
 * {@code --variants}.
 *
 * @param name the variant's name in tables, JSON and {@code --variants}
 * @param config the method to attach; null for the base model itself
 * @param merge whether to merge the method into the weights before measuring
 */
public record InferVariant(String name, Supplier<PeftConfig> config, boolean merge) {

  /** Every variant, in report order; the first is the base all ratios refer to. */
  public static final List<InferVariant> ALL = List.of(
      new InferVariant("base", null, false),
      new InferVariant("lora", InferVariant::lora, false),
      new InferVariant("lora-merged", InferVariant::lora, true));
      // prefix, llama-adapter, bottleneck: add here when those methods land

  /** PEFT's defaults for LLaMA: r 8, α 16, q_proj and v_proj, random B so merging changes weights. */
  static PeftConfig lora() {
    return LoraConfig.builder().r(8).loraAlpha(16).taskType(TaskType.CAUSAL_LM)
        .init(LoraConfig.LoraInit.RANDOM).build();
  }

  public boolean isBase() {
    return config == null;
  }

  /** The variants named in {@code names} (comma-separated; "all" for every one), base always first. */
  public static List<InferVariant> select(String names) {
    if (names == null || names.isBlank() || names.equals("all")) {
      return ALL;
    }
    List<String> wanted = List.of(names.toLowerCase(Locale.ROOT).split(","));
    for (String w : wanted) {
      if (ALL.stream().noneMatch(v -> v.name.equals(w.trim()))) {
        throw new IllegalArgumentException("unknown variant '" + w + "' (available: "
            + String.join(", ", ALL.stream().map(InferVariant::name).toList()) + ")");
      }
    }
    return ALL.stream().filter(v -> v.isBase() || wanted.stream().anyMatch(w -> w.trim().equals(v.name))).toList();
  }
}
