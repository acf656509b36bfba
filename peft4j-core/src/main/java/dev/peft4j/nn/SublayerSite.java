package dev.peft4j.nn;

import dev.peft4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The output of one sublayer (attention or feed-forward) of a transformer layer, as a hook site:
 * {@link SublayerDelta}s attached here rewrite the output before the residual connection, in
 * attachment order, so a second sequential delta reads the first one's output. Pre-norm blocks
 * (LLaMA, GPT-2) compute {@code x + site.apply(n, sublayer(n))} with {@code n = norm(x)};
 * post-norm BERT computes {@code LN(x + site.apply(x, dense(...)))} (after the output projection,
 * before residual and LayerNorm, where Houlsby et al. 2019 put their adapters).
 *
 * <p>The site is owned by its layer module: deltas become child modules of that layer, so their
 * parameters are part of the module tree ({@code model.layers.3.attention_adapter.down.weight}).
 */
public final class SublayerSite {
  /** The name of the attention sublayer's site. */
  public static final String ATTENTION = "attention";
  /** The name of the feed-forward sublayer's site. */
  public static final String FFN = "ffn";

  private final Module owner;
  private final String name;
  private final Projection outputProjection;
  private final int heads;
  private final List<SublayerDelta> deltas = new ArrayList<>();

  private SublayerSite(Module owner, String name, Projection outputProjection, int heads) {
    this.owner = owner;
    this.name = name;
    this.outputProjection = outputProjection;
    this.heads = heads;
  }

  /**
   * The attention output of {@code layer}.
   *
   * @param outputProjection the projection that produces it from the concatenated heads
   *     ({@code o_proj}, {@code c_proj}, {@code attention.output.dense})
   * @param heads query heads; the projection's input is {@code heads} equal slices, one per head
   */
  public static SublayerSite attention(Module layer, Projection outputProjection, int heads) {
    if (heads <= 0 || outputProjection.inFeatures() % heads != 0) {
      throw new IllegalArgumentException(outputProjection.inFeatures() + " inputs do not split into " + heads + " heads");
    }
    return new SublayerSite(layer, ATTENTION, outputProjection, heads);
  }

  /** The feed-forward output of {@code layer}, produced by {@code outputProjection}. */
  public static SublayerSite ffn(Module layer, Projection outputProjection) {
    return new SublayerSite(layer, FFN, outputProjection, 0);
  }

  /** {@value #ATTENTION} or {@value #FFN}. */
  public String name() {
    return name;
  }

  /** Width d of the sublayer output (the model's hidden size). */
  public long width() {
    return outputProjection.outFeatures();
  }

  /** The projection whose output this site rewrites (its weight, not its deltas, is what a delta may reuse). */
  public Projection outputProjection() {
    return outputProjection;
  }

  /** Attention heads feeding {@link #outputProjection()}; 0 for a feed-forward site. */
  public int heads() {
    return heads;
  }

  /**
   * @param input the sublayer's input [B, T, d_in]
   * @param output the sublayer's output [B, T, d]
   * @return the output after every active delta, in attachment order ({@code output} itself if none)
   */
  public Tensor apply(Tensor input, Tensor output) {
    Tensor out = output;
    for (SublayerDelta d : deltas) {
      if (d.active()) {
        out = d.apply(input, out);
      }
    }
    return out;
  }

  /** Registers {@code delta} as child module {@code childName} of the owning layer and applies it after the others. */
  public <D extends Module & SublayerDelta> D attach(String childName, D delta) {
    owner.child(childName, delta);
    deltas.add(delta);
    return delta;
  }

  /** Removes the delta registered as {@code childName} at this site; returns it, or null if there is none. */
  public Module detach(String childName) {
    Module child = owner.children().get(childName);
    if (child == null || !deltas.contains(child)) {
      return null;
    }
    deltas.remove(child);
    return owner.removeChild(childName);
  }

  /** The attached deltas in application order. */
  public List<SublayerDelta> deltas() {
    return Collections.unmodifiableList(deltas);
  }
}
