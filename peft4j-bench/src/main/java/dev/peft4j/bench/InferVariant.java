package dev.peft4j.bench;

import dev.peft4j.model.llama.LlamaForCausalLM;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.peft.TaskType;
import dev.peft4j.peft.bottleneck.BottleneckConfig;
import dev.peft4j.peft.ia3.Ia3Config;
import dev.peft4j.peft.llamaadapter.LlamaAdapterConfig;
import dev.peft4j.peft.loha.LoHaConfig;
import dev.peft4j.peft.lora.LoraConfig;
import dev.peft4j.peft.prefix.PrefixTuningConfig;
import dev.peft4j.peft.vera.VeraConfig;
import dev.peft4j.tensor.DType;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One configuration {@code bench infer} measures: PEFT methods attached to the base model, merged
 * or not, or several LoRA adapters serving the rows of one batch.
 *
 * <p>The list is data: a variant added to {@link #ALL} is picked up by {@code bench infer}, its
 * name usable with {@code --variants}.
 *
 * @param name the variant's name in tables, JSON and {@code --variants}
 * @param reference the variant whose speed this one is read against (null: the base model, which
 *     every ratio also refers to)
 * @param minBatch the smallest batch for which the variant means something; {@code all} skips it
 *     below that
 * @param setup attaches the variant to the model for one measurement
 * @param target the speed an issue asks of this variant against its reference, or null
 */
public record InferVariant(String name, String reference, int minBatch, Setup setup, Target target) {

  /**
   * A speed target: prefill and decode tokens/s at least {@code ratio} times the reference's.
   *
   * @param goal what is measured, for the report ("Unmerged LoRA inference")
   * @param reducedPrecisionOnly whether the variant differs from its plain form only in bf16/f16
   *     (in f32 it would repeat that row)
   */
  public record Target(String goal, double ratio, boolean reducedPrecisionOnly) {}

  /** Attaches a variant's adapters to a model; closing the result removes them again. */
  @FunctionalInterface
  public interface Setup {
    AutoCloseable attach(LlamaForCausalLM model, int batch);
  }

  /** Every variant, in report order; the first is the base all ratios refer to. */
  public static final List<InferVariant> ALL = List.of(
      new InferVariant("base", null, 1, (model, batch) -> () -> {}, null),
      new InferVariant("lora", null, 1, (model, batch) -> attach(model, lora()),
          new Target("Unmerged LoRA inference", 0.90, false)),
      new InferVariant("lora-merged", null, 1, (model, batch) -> {
        PeftModel peft = Peft.wrap(model, lora());
        peft.merge();
        return () -> {
          peft.unmerge();
          detach(peft);
        };
      }, new Target("Merged LoRA inference", 0.97, false)),
      new InferVariant("lora-model-dtype", null, 1, (model, batch) -> {
        PeftModel peft = Peft.wrap(model, lora());
        peft.castLoraMatrices(weightDType(model)); // PEFT's autocast_adapter_dtype=False
        return () -> detach(peft);
      }, new Target("Unmerged LoRA, matrices in the model's dtype (autocast_adapter_dtype=False), inference", 0.90, true)),
      new InferVariant("lora-mixed4", "lora", 4, InferVariant::fourLorasByRow,
          new Target("Mixed batch of 4 LoRAs (issue 7)", 0.80, false)),
      method("dora", LoraConfig.builder().r(8).loraAlpha(16).taskType(TaskType.CAUSAL_LM)
          .init(LoraConfig.LoraInit.RANDOM).useDora(true).build()),
      method("loha", LoHaConfig.builder().r(8).alpha(16).taskType(TaskType.CAUSAL_LM).initWeights(false).build()),
      method("ia3", Ia3Config.builder().taskType(TaskType.CAUSAL_LM).initIa3Weights(false).build()),
      method("vera", VeraConfig.builder().r(256).taskType(TaskType.CAUSAL_LM).initWeights(false).build()),
      method("prefix", PrefixTuningConfig.builder().numVirtualTokens(20).taskType(TaskType.CAUSAL_LM).build()),
      new InferVariant("llama-adapter", null, 1, (model, batch) -> attach(model, LlamaAdapterConfig.builder().adapterLen(10)
          .adapterLayers(model.config().numLayers()).taskType(TaskType.CAUSAL_LM).build()), null),
      method("houlsby", BottleneckConfig.houlsby(16)));

  private static InferVariant method(String name, PeftConfig config) {
    return new InferVariant(name, null, 1, (model, batch) -> attach(model, config), null);
  }

  private static AutoCloseable attach(LlamaForCausalLM model, PeftConfig config) {
    PeftModel peft = Peft.wrap(model, config);
    return () -> detach(peft);
  }

  /** PEFT's defaults for LLaMA: r 8, α 16, q_proj and v_proj, random B so the update is not zero. */
  static LoraConfig lora() {
    return LoraConfig.builder().r(8).loraAlpha(16).taskType(TaskType.CAUSAL_LM)
        .init(LoraConfig.LoraInit.RANDOM).build();
  }

  /**
   * Four LoRA adapters of {@link #lora()}'s shape (different random weights), row i served by
   * adapter i mod 4: the same work as {@code lora}, spread over four adapters.
   */
  private static AutoCloseable fourLorasByRow(LlamaForCausalLM model, int batch) {
    PeftModel peft = Peft.wrap(model, lora());
    List<String> plan = new ArrayList<>();
    for (int i = 1; i < 4; i++) {
      peft.addAdapter("lora" + i, lora());
    }
    for (int row = 0; row < batch; row++) {
      plan.add(peft.adapterNames().get(row % 4));
    }
    PeftModel.MixedBatch mixed = peft.perRowAdapters(plan);
    return () -> {
      mixed.close();
      detach(peft);
    };
  }

  /** The dtype the model's weights are stored and computed in. */
  private static DType weightDType(LlamaForCausalLM model) {
    return model.namedParameters().values().iterator().next().value().dtype();
  }

  private static void detach(PeftModel peft) {
    peft.adapterNames().forEach(peft::deleteAdapter);
  }

  public boolean isBase() {
    return name.equals("base");
  }

  /**
   * The variants named in {@code names} (comma-separated; "all" for every one that fits
   * {@code batch}), base always first, and the reference of each chosen variant too.
   */
  public static List<InferVariant> select(String names, int batch) {
    if (names == null || names.isBlank() || names.equals("all")) {
      return ALL.stream().filter(v -> v.minBatch <= batch).toList();
    }
    List<String> wanted = new ArrayList<>();
    for (String w : names.toLowerCase(Locale.ROOT).split(",")) {
      InferVariant v = ALL.stream().filter(x -> x.name.equals(w.trim())).findFirst().orElseThrow(() ->
          new IllegalArgumentException("unknown variant '" + w + "' (available: "
              + String.join(", ", ALL.stream().map(InferVariant::name).toList()) + ")"));
      if (v.minBatch > batch) {
        throw new IllegalArgumentException("variant " + v.name + " needs --batch " + v.minBatch + " or more");
      }
      wanted.add(v.name);
      if (v.reference != null) {
        wanted.add(v.reference);
      }
    }
    return ALL.stream().filter(v -> v.isBase() || wanted.contains(v.name)).toList();
  }
}
