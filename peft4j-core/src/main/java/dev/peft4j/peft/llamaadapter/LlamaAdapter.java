package dev.peft4j.peft.llamaadapter;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.TensorData;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.KvSite;
import dev.peft4j.nn.Linear;
import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.Adapter;
import dev.peft4j.peft.UnmergeableAdapter;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.peft.AdapterFormat;
import dev.peft4j.peft.HookSites;
import dev.peft4j.peft.Inits;
import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.PromptTensors;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * LLaMA-Adapter attached to the top L attention layers of a LLaMA-family model: an
 * {@link AdaptionPromptDelta} at each of their K/V sites and, for the multimodal variant, one
 * projection {@code adaption_visual_proj} (Linear(feature, hidden)) shared by all layers. Image
 * features are given per batch with {@link #withImageFeatures}.
 */
public final class LlamaAdapter implements UnmergeableAdapter {
  private static final Set<String> MODEL_TYPES = Set.of("llama", "mistral", "qwen2");
  private static final String VISUAL = "adaption_visual_proj";

  private final LlamaAdapterConfig config;
  private final String architecture;
  private final Map<String, AdaptionPromptDelta> deltas; // attention path → delta
  private final Map<String, KvSite> sites;
  private final Visual visual; // null for text only

  private LlamaAdapter(LlamaAdapterConfig config, String architecture, Map<String, KvSite> sites, Visual visual,
      AdapterControl control) {
    this.config = config;
    this.architecture = architecture;
    this.sites = sites;
    this.visual = visual;
    this.deltas = new LinkedHashMap<>();
    sites.forEach((path, site) -> {
      AdaptionPromptDelta d = new AdaptionPromptDelta(site, config.adapterLen(), config.gate(), visual, control);
      site.attach(d);
      deltas.put(path, d);
    });
  }

  /**
   * @throws IllegalArgumentException if the model is not LLaMA-family, has fewer layers than
   *     {@code adapter_layers}, or its attention modules are not named {@code target_modules}
   */
  public static LlamaAdapter attach(PretrainedModel model, LlamaAdapterConfig config, String name,
      AdapterControl control) {
    if (!MODEL_TYPES.contains(model.modelType())) {
      throw new IllegalArgumentException("LLaMA-Adapter supports llama, mistral and qwen2 models; "
          + model.architecture() + " is model_type '" + model.modelType() + "'");
    }
    HookSites hooks = HookSites.of(model);
    List<KvSite> layers = hooks.requireLayers(model, "LLaMA-Adapter");
    if (config.adapterLayers() > layers.size()) {
      throw new IllegalArgumentException("adapter_layers is " + config.adapterLayers() + " but " + model.architecture()
          + " has " + layers.size() + " layers");
    }
    Map<String, KvSite> top = new LinkedHashMap<>();
    for (int i = layers.size() - config.adapterLayers(); i < layers.size(); i++) {
      String path = hooks.attentionPaths().get(i);
      if (!path.endsWith("." + config.targetModules())) {
        throw new IllegalArgumentException("target_modules '" + config.targetModules() + "' does not name the attention '"
            + path + "'");
      }
      top.put(path, layers.get(i));
    }
    Visual visual = config.visualFeatureDim() == null ? null
        : new Visual(config.visualFeatureDim(), layers.get(0).hiddenSize());
    return new LlamaAdapter(config, model.architecture(), top, visual, control);
  }

  /** The image projection and the features of the current batch. */
  static final class Visual {
    final Linear projection; // [hidden, feature]
    private Tensor features;  // [B, feature] of the current batch, or null

    Visual(int featureDim, long hidden) {
      projection = Inits.linear(featureDim, hidden, true);
    }

    /** The projected features [B, 1, hidden], or null when no features are set. */
    Tensor projected(long batch) {
      if (features == null) {
        return null;
      }
      if (features.size(0) != batch) {
        throw new IllegalArgumentException("image features are given for " + features.size(0) + " rows but the batch has "
            + batch);
      }
      return projection.forward(features).unsqueeze(1);
    }
  }

  /**
   * Uses {@code features} [B, feature] (float) as the image features of the next forward passes,
   * row by row, until closed. Without features a multimodal adapter runs on text alone.
   *
   * @throws IllegalStateException if the adapter has no image projection
   * @throws IllegalArgumentException if a feature has the wrong size
   */
  public AutoCloseable withImageFeatures(Tensor features) {
    if (visual == null) {
      throw new IllegalStateException("this LLaMA-Adapter has no image projection (visual_feature_dim is not set)");
    }
    long width = config.visualFeatureDim();
    if (features.dim() != 2 || features.size(1) != width) {
      throw new IllegalArgumentException("image features must be [batch, " + width + "] (visual_feature_dim), got "
          + java.util.Arrays.toString(features.shape()));
    }
    visual.features = features.to(DType.F32);
    return () -> visual.features = null;
  }

  @Override
  public PeftConfig config() {
    return config;
  }

  @Override
  public List<String> targetedModules() {
    return List.copyOf(deltas.keySet());
  }

  /** {@code <attention>.adaption_prompt}, {@code <attention>.adaption_gate} per layer, and the image projection. */
  @Override
  public Map<String, Parameter> trainableParameters() {
    return named("");
  }

  /** PEFT's names: {@code base_model.model.model.layers.N.self_attn.adaption_prompt} [1, K, hidden], {@code ...adaption_gate}. */
  @Override
  public Map<String, Parameter> savedTensors() {
    return named(AdapterFormat.TUNER_PREFIX);
  }

  private Map<String, Parameter> named(String prefix) {
    Map<String, Parameter> out = new LinkedHashMap<>();
    deltas.forEach((path, d) -> {
      out.put(prefix + path + ".adaption_prompt", d.prompt());
      out.put(prefix + path + ".adaption_gate", d.gate());
    });
    if (visual != null) {
      out.put(prefix + VISUAL + ".weight", visual.projection.weight());
      out.put(prefix + VISUAL + ".bias", visual.projection.bias());
    }
    return out;
  }

  @Override
  public void load(Map<String, TensorData> tensors, String source) throws ModelFormatException {
    Map<String, Parameter> expected = savedTensors();
    Map<String, long[]> shapes = new LinkedHashMap<>();
    expected.forEach((k, p) -> shapes.put(k, p.shape()));
    PromptTensors.check(tensors, shapes, "LLaMA-Adapter", architecture, source);
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      expected.forEach((k, p) -> p.value().copy_(PromptTensors.read(tensors, k)));
    }
  }

  @Override
  public void unload() {
    deltas.forEach((path, d) -> sites.get(path).detach(d));
  }
}
