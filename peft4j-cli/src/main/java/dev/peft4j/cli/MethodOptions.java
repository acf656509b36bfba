package dev.peft4j.cli;

import dev.peft4j.data.EncodedExample;
import dev.peft4j.peft.ModuleSelector;
import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.TaskType;
import dev.peft4j.peft.bottleneck.BottleneckConfig;
import dev.peft4j.peft.bottleneck.BottleneckSpec;
import dev.peft4j.peft.ia3.Ia3Config;
import dev.peft4j.peft.llamaadapter.LlamaAdapterConfig;
import dev.peft4j.peft.loha.LoHaConfig;
import dev.peft4j.peft.lora.LoraConfig;
import dev.peft4j.peft.lora.TrainableTokens;
import dev.peft4j.peft.prefix.PrefixTuningConfig;
import dev.peft4j.peft.prompt.PTuningConfig;
import dev.peft4j.peft.prompt.PromptTemplate;
import dev.peft4j.peft.prompt.PromptTuningConfig;
import dev.peft4j.peft.tokens.TrainableTokensConfig;
import dev.peft4j.peft.union.ConfigUnion;
import dev.peft4j.peft.vera.VeraConfig;
import dev.peft4j.text.Tokenizer;
import java.util.List;
import java.util.Locale;
import java.util.function.UnaryOperator;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code --method} and each method's hyperparameters, turned into a {@link PeftConfig}. */
final class MethodOptions {
  @Option(names = "--method", defaultValue = "lora", paramLabel = "METHOD", description = "PEFT method: lora, loha, ia3, vera, trainable-tokens (rows of --trainable-tokens alone), houlsby, pfeiffer, parallel, scaled-parallel, mh-parallel, prompt, p-tuning, prefix,"
          + " llama-adapter, mam (prefix + scaled parallel adapter); or full (full fine-tuning: every weight trains, no"
          + " adapter; saves the whole model, use a low --lr such as 2e-4).")
  String method;

  @Option(names = "--r", paramLabel = "R", description = "LoRA and LoHa rank (default 8); VeRA's shared rank (default 256).")
  Integer rank;

  @Option(names = "--alpha", defaultValue = "16", description = "LoRA and LoHa alpha (the update is scaled by alpha/r).")
  double alpha;

  @Option(names = "--lora-dropout", defaultValue = "0", description = "Dropout on the LoRA input.")
  double loraDropout;

  @Option(names = "--dora", description = "LoRA: DoRA, a trained magnitude per output rescaling the adapted weight"
      + " (PEFT's use_dora).")
  boolean dora;

  @Option(names = "--lora-bias", description = "LoRA: B has a trained bias of its own, scaled with the update"
      + " (PEFT's lora_bias; merging needs the adapted layers to have biases).")
  boolean loraBias;

  @Option(names = "--trainable-tokens", split = ",", paramLabel = "ID",
      description = "LoRA and trainable-tokens: token ids whose rows of the input embedding train in full, e.g. new"
          + " chat-template tokens (PEFT's trainable_token_indices; a tied output head shares them).")
  List<Integer> trainableTokens;

  @Option(names = "--target", split = ",", paramLabel = "MODULE",
      description = "Modules to adapt: names or suffixes (comma-separated), or all-linear; default per architecture.")
  List<String> targets;

  @Option(names = "--feedforward", split = ",", paramLabel = "MODULE",
      description = "ia3: targets whose input is rescaled rather than their output (name suffixes, comma-separated);"
          + " default per architecture (llama: down_proj).")
  List<String> feedforward;

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

  @Mixin PromptOptions prompt = new PromptOptions();

  /** The options of the prompt family (prompt tuning, P-tuning, prefix tuning, LLaMA-Adapter). */
  static final class PromptOptions {
    @Option(names = "--num-virtual-tokens", defaultValue = "20", description = "prompt, p-tuning, prefix: virtual tokens / prefix length.")
    int numVirtualTokens;

    @Option(names = "--prompt-init", defaultValue = "random", description = "prompt: random, vocab (sampled word embeddings) or text.")
    String promptInit;

    @Option(names = "--prompt-init-text", paramLabel = "TEXT", description = "prompt: the text whose token embeddings start the prompt.")
    String promptInitText;

    @Option(names = "--encoder", defaultValue = "mlp", description = "p-tuning: prompt encoder, mlp or lstm (bidirectional LSTM + MLP).")
    String encoder;

    @Option(names = "--encoder-hidden", paramLabel = "N",
        description = "p-tuning: encoder width (default: hidden size); prefix: MLP width (default 512).")
    Integer encoderHidden;

    @Option(names = "--template", paramLabel = "TEMPLATE",
        description = "p-tuning: where pseudo tokens go, e.g. '[P:3] {x} [P:2] {y}' (default: all in front).")
    String template;

    @Option(names = "--pseudo-token-id", paramLabel = "ID", description = "p-tuning with --template: the token id marking pseudo tokens.")
    Integer pseudoTokenId;

    @Option(names = "--prefix-projection", defaultValue = "false", negatable = true,
        description = "prefix: train through the MLP reparameterisation (folded when saved; use a low --lr, e.g. 5e-5..5e-4).")
    boolean prefixProjection;

    @Option(names = "--adapter-len", defaultValue = "10", description = "llama-adapter: adaption prompt tokens per layer.")
    int adapterLen;

    @Option(names = "--adapter-layers", paramLabel = "L", description = "llama-adapter: adapted layers from the top (default: all).")
    Integer adapterLayers;

    @Option(names = "--gate", defaultValue = "per-head-tanh", description = "llama-adapter: per-head-tanh (official) or scalar (PEFT).")
    String gate;
  }

  /** Names {@code --method} accepts. */
  static final String AVAILABLE = "lora, loha, ia3, vera, trainable-tokens, houlsby, pfeiffer, parallel, scaled-parallel, mh-parallel, prompt, p-tuning,"
      + " prefix, llama-adapter, mam, full";

  /** {@code --method full}: no adapter; every weight of the model trains. */
  static final String FULL = "full";

  /** The method's name in reports: {@code --method}, or {@code lora-dora} for LoRA with {@code --dora}. */
  String label() {
    return dora && method.equals("lora") ? "lora-dora" : method;
  }

  /** Whether {@code --method full} was chosen: full fine-tuning, which has no {@link PeftConfig}. */
  boolean fullFineTuning() {
    return FULL.equals(method);
  }

  /**
   * @param modulesToSave modules trained in full with the method (a new classification head), or null
   * @param base the base model's name, recorded in the adapter config
   * @param tokenizer tokenises --prompt-init-text; may be null for other methods
   * @param layers the model's layer count (the default of --adapter-layers)
   */
  PeftConfig build(TaskType task, List<String> modulesToSave, String base, Tokenizer tokenizer, int layers) {
    switch (method) {
      case "lora":
        return lora(task, modulesToSave, base);
      case "ia3":
        return ia3(task, modulesToSave, base);
      case "loha":
        return LoHaConfig.builder().r(rank == null ? 8 : rank).alpha(alpha).targetModules(targetSelector()).taskType(task)
            .modulesToSave(modulesToSave).baseModelNameOrPath(base).build();
      case "vera":
        return VeraConfig.builder().r(rank == null ? 256 : rank).targetModules(targetSelector()).taskType(task)
            .modulesToSave(modulesToSave).baseModelNameOrPath(base).build();
      case "trainable-tokens":
        return trainableTokens(task, base);
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
      case "prompt":
        return promptTuning(task, modulesToSave, base, tokenizer);
      case "p-tuning":
        return pTuning(task, modulesToSave, base);
      case "prefix":
        return prefix(task, modulesToSave, base);
      case "mam":
        // He et al. 2022 §4.4: prefix tuning on attention + scaled parallel adapter (s = 4) on the FFN
        return new ConfigUnion(List.of(prefix(task, null, base),
            bottleneck(BottleneckSpec.scaledParallel(4.0), task, modulesToSave, base)), ConfigUnion.MAM);
      case "llama-adapter":
        return LlamaAdapterConfig.builder().adapterLen(prompt.adapterLen)
            .adapterLayers(prompt.adapterLayers == null ? layers : prompt.adapterLayers)
            .gate(LlamaAdapterConfig.Gate.valueOf(prompt.gate.toUpperCase(Locale.ROOT).replace('-', '_')))
            .taskType(task).baseModelNameOrPath(base).build();
      case FULL:
        throw new IllegalArgumentException("--method full trains every weight and has no adapter config; this command"
            + " needs a PEFT method");
      default:
        throw new IllegalArgumentException("--method " + method + " is not available (available: " + AVAILABLE + ")");
    }
  }

  private PrefixTuningConfig prefix(TaskType task, List<String> modulesToSave, String base) {
    return PrefixTuningConfig.builder().numVirtualTokens(prompt.numVirtualTokens)
        .prefixProjection(prompt.prefixProjection)
        .encoderHiddenSize(prompt.encoderHidden == null ? 512 : prompt.encoderHidden)
        .taskType(task).modulesToSave(modulesToSave).baseModelNameOrPath(base).build();
  }

  /** What training examples need before batching: P-tuning's template inserts its pseudo tokens. */
  UnaryOperator<EncodedExample> exampleTransform() {
    if (!method.equals("p-tuning") || prompt.template == null) {
      return UnaryOperator.identity();
    }
    PromptTemplate template = PromptTemplate.parse(prompt.template);
    return e -> template.apply(e, prompt.pseudoTokenId);
  }

  private PromptTuningConfig promptTuning(TaskType task, List<String> modulesToSave, String base, Tokenizer tokenizer) {
    PromptTuningConfig.Builder b = PromptTuningConfig.builder().numVirtualTokens(prompt.numVirtualTokens)
        .taskType(task).modulesToSave(modulesToSave).baseModelNameOrPath(base);
    switch (prompt.promptInit) {
      case "random":
        break;
      case "vocab":
        b.init(PromptTuningConfig.PromptInit.SAMPLE_VOCAB);
        break;
      case "text":
        if (prompt.promptInitText == null) {
          throw new IllegalArgumentException("--prompt-init text needs --prompt-init-text");
        }
        List<Integer> ids = java.util.Arrays.stream(tokenizer.encode(prompt.promptInitText, false)).boxed().toList();
        b.initFromText(prompt.promptInitText, ids, base);
        break;
      default:
        throw new IllegalArgumentException("--prompt-init must be random, vocab or text, got '" + prompt.promptInit + "'");
    }
    return b.build();
  }

  private PTuningConfig pTuning(TaskType task, List<String> modulesToSave, String base) {
    PTuningConfig.Builder b = PTuningConfig.builder().numVirtualTokens(prompt.numVirtualTokens)
        .encoderType(PTuningConfig.EncoderType.valueOf(prompt.encoder.toUpperCase(Locale.ROOT)))
        .encoderHiddenSize(prompt.encoderHidden).taskType(task).modulesToSave(modulesToSave).baseModelNameOrPath(base);
    if (prompt.template != null) {
      if (prompt.pseudoTokenId == null) {
        throw new IllegalArgumentException("--template needs --pseudo-token-id, a token id that marks pseudo tokens");
      }
      b.template(PromptTemplate.parse(prompt.template), prompt.pseudoTokenId);
    }
    return b.build();
  }

  private LoraConfig lora(TaskType task, List<String> modulesToSave, String base) {
    LoraConfig.Builder b = LoraConfig.builder().r(rank == null ? 8 : rank).loraAlpha(alpha).loraDropout(loraDropout).useDora(dora).loraBias(loraBias)
        .taskType(task).modulesToSave(modulesToSave).baseModelNameOrPath(base).targetModules(targetSelector());
    if (trainableTokens != null) {
      b.trainableTokens(TrainableTokens.of(trainableTokens));
    }
    return b.build();
  }

  private Ia3Config ia3(TaskType task, List<String> modulesToSave, String base) {
    Ia3Config.Builder b = Ia3Config.builder().targetModules(targetSelector()).taskType(task)
        .modulesToSave(modulesToSave).baseModelNameOrPath(base);
    if (feedforward != null && !feedforward.isEmpty()) {
      b.feedforwardModules(feedforward.toArray(new String[0]));
    }
    return b.build();
  }

  private TrainableTokensConfig trainableTokens(TaskType task, String base) {
    if (trainableTokens == null || trainableTokens.isEmpty()) {
      throw new IllegalArgumentException("--method trainable-tokens needs --trainable-tokens ID[,ID...]");
    }
    return TrainableTokensConfig.of(trainableTokens).withTargetModules(targetSelector()).withTaskType(task)
        .withBaseModel(base);
  }

  /** {@code --target} as a module selector: names, all-linear, or null for the architecture's default. */
  private ModuleSelector targetSelector() {
    if (targets == null || targets.isEmpty()) {
      return null;
    }
    return targets.size() == 1 && targets.get(0).equals("all-linear")
        ? new ModuleSelector.AllLinear() : new ModuleSelector.Names(targets);
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
