package dev.peft4j.peft.lora;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.TensorData;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Embedding;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.Parameter;
import dev.peft4j.nn.Projection;
import dev.peft4j.peft.Adapter;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.peft.AdapterFormat;
import dev.peft4j.peft.MergeableDelta;
import dev.peft4j.peft.MergedDeltas;
import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.tokens.TrainableTokensDelta;
import dev.peft4j.tensor.DType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** LoRA attached to a model under one adapter name. */
public final class LoraAdapter implements Adapter {
  /**
   * The modules whose base weight PEFT saves with the adapter when it adapts them ({@code
   * save_embedding_layers="auto"}: its EMBEDDING_LAYER_NAMES, the input and output embeddings).
   */
  private static final List<String> EMBEDDING_LAYER_NAMES = List.of("embed_tokens", "lm_head");
  /** PEFT's name of the trained rows' wrapper inside a LoRA model, before {@link TrainableTokensDelta#PARAMETER}. */
  private static final String TOKEN_ADAPTER = "token_adapter.";

  private final PretrainedModel model;
  private final String name;
  private final LoraTuner.Injection injection;
  private final Map<String, Parameter> biases;
  private final MergedDeltas merged = new MergedDeltas();

  private LoraAdapter(PretrainedModel model, String name, LoraTuner.Injection injection) {
    this.model = model;
    this.name = name;
    this.injection = injection;
    this.biases = LoraTuner.trainableBiases(model, injection);
  }

  /** Injects {@code config} into {@code model} as adapter {@code name}. */
  public static LoraAdapter attach(PretrainedModel model, LoraConfig config, String name, AdapterControl control) {
    return new LoraAdapter(model, name, LoraTuner.inject(model, config, name, control));
  }

  @Override
  public PeftConfig config() {
    return injection.config();
  }

  @Override
  public List<String> targetedModules() {
    return injection.targetedModules();
  }

  public Map<String, LoraDelta> deltas() {
    return injection.deltas();
  }

  /** The rows trained by {@code trainable_token_indices}, by embedding path. */
  Map<String, TrainableTokensDelta> trainedTokens() {
    return injection.tokens();
  }

  /** Converts every LoRA matrix (and trained token rows) of this adapter to {@code dtype} (see {@link dev.peft4j.peft.PeftModel#castLoraMatrices}). */
  public void castMatrices(DType dtype) {
    injection.deltas().values().forEach(d -> d.castTo(dtype));
    injection.tokens().values().forEach(t -> t.castTo(dtype));
  }

  @Override
  public Map<String, Parameter> trainableParameters() {
    Map<String, Parameter> out = new LinkedHashMap<>();
    injection.deltas().forEach((module, d) -> {
      out.put(module + "." + name + "." + d.parameterName('A'), d.loraA());
      out.put(module + "." + name + "." + d.parameterName('B'), d.loraB());
      if (d.magnitude() != null) {
        out.put(module + "." + name + ".lora_magnitude_vector", d.magnitude());
      }
      if (d.loraBBias() != null) {
        out.put(module + "." + name + "." + d.parameterName('B') + ".bias", d.loraBBias());
      }
    });
    injection.tokens().forEach((module, t) -> out.put(module + "." + name + ".trainable_tokens_delta", t.delta()));
    out.putAll(biases);
    return out;
  }

  /**
   * {@code <module>.lora_A.weight} / {@code .lora_B.weight} ({@code .lora_embedding_A} / {@code _B}
   * on an embedding; DoRA's {@code <module>.lora_magnitude_vector}); trained biases as
   * {@code <module>.base_layer.bias} on adapted layers (PEFT wraps them) and {@code <path>} elsewhere;
   * the rows trained by {@code trainable_token_indices} as {@code <module>.token_adapter.trainable_tokens_delta};
   * and, as PEFT does, the frozen weight of an adapted {@code embed_tokens} or {@code lm_head} as
   * {@code <module>.base_layer.weight}.
   */
  @Override
  public Map<String, Parameter> savedTensors() {
    Map<String, Parameter> out = new LinkedHashMap<>();
    injection.deltas().forEach((module, d) -> {
      out.put(AdapterFormat.TUNER_PREFIX + module + "." + d.savedName('A'), d.loraA());
      out.put(AdapterFormat.TUNER_PREFIX + module + "." + d.savedName('B'), d.loraB());
      if (d.magnitude() != null) {
        out.put(AdapterFormat.TUNER_PREFIX + module + ".lora_magnitude_vector", d.magnitude());
      }
      if (d.loraBBias() != null) {
        out.put(AdapterFormat.TUNER_PREFIX + module + ".lora_B.bias", d.loraBBias());
      }
    });
    biases.forEach((path, p) -> {
      String module = path.substring(0, path.length() - ".bias".length());
      boolean wrapped = injection.deltas().containsKey(module);
      out.put(AdapterFormat.TUNER_PREFIX + (wrapped ? module + ".base_layer.bias" : path), p);
    });
    injection.tokens().forEach((module, t) ->
        out.put(AdapterFormat.TUNER_PREFIX + module + "." + TOKEN_ADAPTER + TrainableTokensDelta.PARAMETER, t.delta()));
    out.putAll(embeddingBaseWeights());
    return out;
  }

  /** The base weights PEFT saves beside the adapter: those of the adapted modules named in {@link #EMBEDDING_LAYER_NAMES}. */
  private Map<String, Parameter> embeddingBaseWeights() {
    Map<String, Parameter> out = new LinkedHashMap<>();
    injection.deltas().forEach((module, d) -> {
      if (EMBEDDING_LAYER_NAMES.contains(module.substring(module.lastIndexOf('.') + 1))) {
        out.put(AdapterFormat.TUNER_PREFIX + module + ".base_layer.weight", d.host().weight());
      }
    });
    return out;
  }

  /**
   * Loads the LoRA tensors; a saved base weight of an adapted embedding or head is optional (PEFT
   * writes it unless told not to) and, when present, replaces that base weight, as PEFT's loading does.
   */
  @Override
  public void load(Map<String, TensorData> tensors, String source) throws ModelFormatException {
    Map<String, Parameter> expected = savedTensors();
    embeddingBaseWeights().keySet().stream().filter(k -> !tensors.containsKey(k)).forEach(expected::remove);
    AdapterFormat.loadExactly(expected, tensors, source, "the LoRA layers its config creates on " + model.architecture());
  }

  /**
   * False when an adapted embedding is tied to the output head (merging would change the head
   * too), or when B has a bias ({@code lora_bias}) on a layer without one to merge it into.
   */
  @Override
  public boolean mergeable() {
    return tiedModule() == null && withoutBiasToMergeInto() == null;
  }

  @Override
  public String whyNotMergeable() {
    String biasless = withoutBiasToMergeInto();
    if (biasless != null) {
      return "LoRA with lora_bias on '" + biasless + "' cannot be merged: the layer has no bias to add B's bias to"
          + " (as in PEFT); keep the adapter unmerged";
    }
    return "LoRA on '" + tiedModule() + "' cannot be merged: its table is also the output head's (tied word"
        + " embeddings), so merging would change the head as well and the merged model would compute something else"
        + " (PEFT merges it anyway); keep the adapter unmerged";
  }

  /** An adapted module whose B has a bias but whose layer has none, or null. */
  private String withoutBiasToMergeInto() {
    return injection.deltas().entrySet().stream().filter(e -> !e.getValue().mergesBias()).map(Map.Entry::getKey)
        .findFirst().orElse(null);
  }

  /** The adapted module whose weight the output head shares, or null. */
  private String tiedModule() {
    Embedding tied = model.tiedEmbedding();
    return injection.deltas().entrySet().stream().filter(e -> e.getValue().host() == tied).map(Map.Entry::getKey)
        .findFirst().orElse(null);
  }

  @Override
  public boolean merged() {
    return merged.any();
  }

  /**
   * Adds every (α/r)·BA to its weight (with DoRA, rescales the sum's rows to the magnitudes) and
   * writes trained token rows into their table ({@link MergedDeltas}: everything is computed and
   * checked finite first, so a failure leaves every weight unchanged). Merging twice is a no-op.
   */
  @Override
  public void merge() {
    if (!mergeable()) {
      throw new UnsupportedOperationException(whyNotMergeable());
    }
    Map<String, MergeableDelta> all = new LinkedHashMap<>(injection.deltas());
    all.putAll(injection.tokens()); // a table of trained rows is never a LoRA target (LoraTuner)
    merged.merge(all);
  }

  /** Writes trained rows' originals back and subtracts the merged deltas, in reverse order of merging. */
  @Override
  public void unmerge() {
    merged.unmerge();
  }

  @Override
  public void unload() {
    Map<String, Module> modules = model.namedModules();
    injection.deltas().keySet().forEach(module -> ((Projection) modules.get(module)).detachDelta(name));
    injection.tokens().keySet().forEach(module -> ((Projection) modules.get(module)).detachDelta(name));
  }
}
