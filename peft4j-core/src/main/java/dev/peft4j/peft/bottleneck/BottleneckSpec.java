package dev.peft4j.peft.bottleneck;

import dev.peft4j.nn.Activation;
import dev.peft4j.nn.SublayerSite;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * One bottleneck adapter as a position in the unified view of He et al. (2022, Table 1): where it
 * sits ({@code placement}), what it reads ({@code insertion}), the function
 * {@code f(h W_down + b_down) W_up + b_up} ({@code bottleneck size}, {@code nonLinearity}, per-head
 * or not) and how its result is added ({@code scaling}). Houlsby, Pfeiffer, parallel, scaled
 * parallel and multi-head parallel adapters are presets of this one record.
 *
 * @param placement which sublayer outputs get an adapter: attention, ffn or both
 * @param insertion sequential ({@code h + s·f(h)}, reads the sublayer output h; Houlsby et al.
 *     2019) or parallel ({@code h + s·f(x)}, reads the sublayer input x; He et al. 2022)
 * @param multiHead one adapter per attention head, on the heads' outputs before the output
 *     projection W_o: {@code o_proj(ctx + Δ) = o_proj(ctx) + W_o Δ}, so it runs at the attention
 *     output site through the frozen W_o (needs placement attention and insertion parallel)
 * @param bottleneckSize m, the bottleneck width (per head when {@code multiHead}), > 0; null when
 *     given by {@code reductionFactor}
 * @param reductionFactor r, with m = d / r for hidden size d; r must divide d; null when
 *     {@code bottleneckSize} is set
 * @param layerReductionFactors per-layer overrides, layer index → r (m = d / r in that layer);
 *     empty (or null) for none
 * @param nonLinearity f: relu, gelu, swish (= silu) or tanh
 * @param init how W_down, W_up and the biases start (see {@link Init})
 * @param scaling s, the factor on the adapter's output (1 for plain adapters; He et al. use 4 for
 *     the scaled parallel adapter); the starting value when {@code learnedScaling}
 * @param learnedScaling whether s is a trained scalar parameter (one per adapter)
 * @param layersToTransform only adapt layers with these indices; null for all
 */
public record BottleneckSpec(
    Placement placement,
    Insertion insertion,
    boolean multiHead,
    Integer bottleneckSize,
    Integer reductionFactor,
    Map<Integer, Integer> layerReductionFactors,
    NonLinearity nonLinearity,
    Init init,
    double scaling,
    boolean learnedScaling,
    List<Integer> layersToTransform) {

  /** Which sublayer outputs carry the adapter. */
  public enum Placement {
    ATTENTION(SublayerSite.ATTENTION), FFN(SublayerSite.FFN), BOTH(SublayerSite.ATTENTION, SublayerSite.FFN);

    private final List<String> sites;

    Placement(String... sites) {
      this.sites = List.of(sites);
    }

    /** The {@link SublayerSite} names, in the order they run in a layer. */
    public List<String> sites() {
      return sites;
    }

    /** @throws IllegalArgumentException for anything but attention, ffn, both */
    public static Placement parse(String value) {
      return Choices.parse(Placement.class, "placement", value);
    }
  }

  /** What the adapter reads: the sublayer's output (sequential) or its input (parallel). */
  public enum Insertion {
    SEQUENTIAL, PARALLEL;

    public static Insertion parse(String value) {
      return Choices.parse(Insertion.class, "insertion", value);
    }
  }

  /** The non-linearity f between the down and up projections. */
  public enum NonLinearity {
    RELU(Activation.RELU), GELU(Activation.GELU), SWISH(Activation.SILU), TANH(Activation.TANH);

    final Activation activation;

    NonLinearity(Activation activation) {
      this.activation = activation;
    }

    public static NonLinearity parse(String value) {
      return Choices.parse(NonLinearity.class, "non_linearity", value);
    }
  }

  /** {@code init_weights}: how the adapter starts. Every init sets both biases to 0. */
  public enum Init {
    /**
     * Near-identity (Houlsby et al. 2019, §3.6): W_down and W_up from a zero-mean normal with
     * std 10⁻², truncated to two standard deviations — AdapterHub's "houlsby".
     */
    HOULSBY,
    /** W_down and W_up ~ N(0, 0.02²), BERT's Linear init — AdapterHub's "bert". */
    BERT,
    /**
     * W_down Kaiming-uniform (bound 1/√d, PyTorch's default Linear init), W_up = 0, so the adapter
     * starts as exactly the identity — LoRA's init, used by He et al. (2022) for parallel
     * adapters (AdapterHub's "mam_adapter").
     */
    LORA;

    public static Init parse(String value) {
      return Choices.parse(Init.class, "init_weights", value);
    }
  }

  public BottleneckSpec {
    Checks.require(placement != null, "placement must be set: attention, ffn or both");
    Checks.require(insertion != null, "insertion must be set: sequential or parallel");
    Checks.require(nonLinearity != null, "non_linearity must be set: relu, gelu, swish or tanh");
    Checks.require(init != null, "init_weights must be set: houlsby, bert or lora");
    Checks.require(bottleneckSize == null || reductionFactor == null,
        "set bottleneck_size (%s) or reduction_factor (%s), not both", bottleneckSize, reductionFactor);
    Checks.require(bottleneckSize != null || reductionFactor != null,
        "set bottleneck_size or reduction_factor");
    Checks.require(bottleneckSize == null || bottleneckSize > 0, "bottleneck_size must be positive, got %s", bottleneckSize);
    Checks.require(reductionFactor == null || reductionFactor > 0, "reduction_factor must be positive, got %s", reductionFactor);
    Checks.require(Double.isFinite(scaling), "scaling must be finite, got %s", scaling);
    layerReductionFactors = Collections.unmodifiableMap(layerReductionFactors == null ? new TreeMap<>() : new TreeMap<>(layerReductionFactors));
    layerReductionFactors.forEach((layer, r) -> {
      Checks.require(layer >= 0, "layer_reduction_factors: layer index must be >= 0, got %s", layer);
      Checks.require(r > 0, "layer_reduction_factors[%s] must be positive, got %s", layer, r);
    });
    if (layersToTransform != null) {
      layersToTransform = List.copyOf(layersToTransform);
      Checks.require(!layersToTransform.isEmpty(), "layers_to_transform must not be empty (null selects every layer)");
      layersToTransform.forEach(l -> Checks.require(l >= 0, "layers_to_transform: layer index must be >= 0, got %s", l));
    }
    if (multiHead) {
      Checks.require(insertion == Insertion.PARALLEL, "multi_head adapters are parallel; insertion must be parallel, got %s",
          Choices.json(insertion));
      Checks.require(placement == Placement.ATTENTION,
          "multi_head adapters sit on the attention heads; placement must be attention, got %s", Choices.json(placement));
    }
  }

  /**
   * The bottleneck width m of this adapter in layer {@code layer} of hidden size {@code width}:
   * d / r with that layer's reduction factor, else {@code bottleneckSize}, else d / r.
   *
   * @throws IllegalArgumentException if the reduction factor does not divide d
   */
  public int bottleneckFor(int layer, long width) {
    Integer r = layerReductionFactors.getOrDefault(layer, bottleneckSize == null ? reductionFactor : null);
    if (r == null) {
      return bottleneckSize;
    }
    String field = layerReductionFactors.containsKey(layer) ? "layer_reduction_factors[" + layer + "]" : "reduction_factor";
    Checks.require(r <= width, "%s %s is larger than the hidden size %s", field, r, width);
    Checks.require(width % r == 0, "%s %s does not divide the hidden size %s", field, r, width);
    return (int) (width / r);
  }

  /** Whether layer {@code index} gets this adapter. */
  public boolean adapts(int index) {
    return layersToTransform == null || layersToTransform.contains(index);
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Houlsby et al. (2019): sequential adapters after both the attention and the FFN sublayer,
   * r = 16, swish, near-identity init.
   */
  public static Builder houlsby() {
    return builder().placement(Placement.BOTH).insertion(Insertion.SEQUENTIAL).reductionFactor(16)
        .nonLinearity(NonLinearity.SWISH).init(Init.HOULSBY);
  }

  /** Pfeiffer et al. (2021): one sequential adapter after the FFN sublayer, r = 16, relu, near-identity init. */
  public static Builder pfeiffer() {
    return houlsby().placement(Placement.FFN).nonLinearity(NonLinearity.RELU);
  }

  /** He et al. (2022): a parallel adapter at the FFN reading its input x, r = 16, relu, LoRA init. */
  public static Builder parallel() {
    return builder().placement(Placement.FFN).insertion(Insertion.PARALLEL).reductionFactor(16)
        .nonLinearity(NonLinearity.RELU).init(Init.LORA);
  }

  /** He et al. (2022): the parallel adapter with its output scaled by {@code s} (4 in the paper). */
  public static Builder scaledParallel(double s) {
    return parallel().scaling(s);
  }

  /**
   * He et al. (2022): parallel adapters on the attention heads, one bottleneck of width m per
   * head reading the attention input x (r = 16: m = d / 16 per head), LoRA init.
   */
  public static Builder multiHeadParallel() {
    return parallel().placement(Placement.ATTENTION).multiHead(true);
  }

  /** This spec as its JSON object in adapter_config.json's {@code stack}. */
  Map<String, Object> toJsonMap() {
    Map<String, Object> m = new TreeMap<>();
    m.put("bottleneck_size", bottleneckSize);
    m.put("init_weights", Choices.json(init));
    m.put("insertion", Choices.json(insertion));
    Map<String, Object> perLayer = new TreeMap<>();
    layerReductionFactors.forEach((layer, r) -> perLayer.put(String.valueOf(layer), r));
    m.put("layer_reduction_factors", perLayer);
    m.put("layers_to_transform", layersToTransform);
    m.put("learned_scaling", learnedScaling);
    m.put("multi_head", multiHead);
    m.put("non_linearity", Choices.json(nonLinearity));
    m.put("placement", Choices.json(placement));
    m.put("reduction_factor", reductionFactor);
    m.put("scaling", scaling);
    return m;
  }

  /**
   * Builds a {@link BottleneckSpec}. The size is either m or r: setting one clears the other, so a
   * preset's default can be replaced.
   */
  public static final class Builder {
    private Placement placement;
    private Insertion insertion;
    private boolean multiHead;
    private Integer bottleneckSize;
    private Integer reductionFactor;
    private Map<Integer, Integer> layerReductionFactors = new TreeMap<>();
    private NonLinearity nonLinearity = NonLinearity.RELU;
    private Init init = Init.HOULSBY;
    private double scaling = 1.0;
    private boolean learnedScaling;
    private List<Integer> layersToTransform;

    private Builder() {}

    public Builder placement(Placement value) { placement = value; return this; }
    public Builder insertion(Insertion value) { insertion = value; return this; }
    public Builder multiHead(boolean value) { multiHead = value; return this; }
    public Builder bottleneckSize(int m) { bottleneckSize = m; reductionFactor = null; return this; }
    public Builder reductionFactor(int r) { reductionFactor = r; bottleneckSize = null; return this; }
    public Builder layerReductionFactors(Map<Integer, Integer> value) { layerReductionFactors = new TreeMap<>(value); return this; }
    public Builder nonLinearity(NonLinearity value) { nonLinearity = value; return this; }
    public Builder init(Init value) { init = value; return this; }
    public Builder scaling(double s) { scaling = s; return this; }
    /** s becomes a trained scalar starting at the current {@link #scaling(double)}. */
    public Builder learnedScaling(boolean value) { learnedScaling = value; return this; }
    public Builder layersToTransform(Integer... layers) { layersToTransform = List.of(layers); return this; }
    public Builder layersToTransform(List<Integer> layers) { layersToTransform = layers; return this; }

    /** @throws IllegalArgumentException naming the field, for out-of-range or contradictory values */
    public BottleneckSpec build() {
      return new BottleneckSpec(placement, insertion, multiHead, bottleneckSize, reductionFactor,
          layerReductionFactors, nonLinearity, init, scaling, learnedScaling, layersToTransform);
    }
  }

  /** Lower-case JSON names of the enums above. */
  static final class Choices {
    private Choices() {}

    static String json(Enum<?> value) {
      return value.name().toLowerCase(Locale.ROOT);
    }

    static <E extends Enum<E>> E parse(Class<E> type, String field, String value) {
      for (E e : type.getEnumConstants()) {
        if (json(e).equals(value)) {
          return e;
        }
      }
      List<String> names = java.util.Arrays.stream(type.getEnumConstants()).map(Choices::json).toList();
      throw new IllegalArgumentException(field + " must be one of " + String.join(", ", names) + "; got '" + value + "'");
    }
  }
}
