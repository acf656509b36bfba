package dev.peft4j.peft.prompt;

import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Embedding;
import dev.peft4j.nn.InputEmbeddingSite;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.peft.HookSites;
import dev.peft4j.peft.PromptLearningAdapter;
import dev.peft4j.peft.PeftConfig;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;
import java.util.List;

/**
 * Prompt tuning or P-tuning attached to a model: a {@link PromptEncoder} (plain table, or
 * P-tuning's encoder) and a {@link VirtualTokenDelta} at the input-embedding site.
 */
public final class PromptAdapter extends PromptLearningAdapter {
  private final PromptEncoder encoder;
  private final InputEmbeddingSite site;
  private final VirtualTokenDelta delta;
  private final long tokenDim;

  private PromptAdapter(PeftConfig config, String name, String architecture, PromptEncoder encoder,
      InputEmbeddingSite site, AdapterControl control, Integer pseudoTokenId) {
    super(config, name, architecture, encoder);
    this.encoder = encoder;
    this.site = site;
    this.tokenDim = site.wordEmbeddings().weight().shape()[1];
    this.delta = new VirtualTokenDelta(encoder, control, pseudoTokenId);
    site.attach(delta);
  }

  /**
   * Attaches prompt tuning, its prompt initialised as {@code config.init()} says (unless loading).
   *
   * @throws IllegalArgumentException if the model has no input-embedding site, the config's
   *     dimensions are not the model's, or TEXT init lacks token ids or has one outside the vocabulary
   */
  public static PromptAdapter attach(PretrainedModel model, PromptTuningConfig config, String name,
      AdapterControl control) {
    HookSites hooks = HookSites.of(model);
    InputEmbeddingSite site = hooks.requireInput(model, "prompt tuning");
    int[] d = dims(model, hooks, config.tokenDim(), config.numAttentionHeads(), config.numLayers());
    PromptTuningConfig applied = config.applied(d[0], d[1], hooks.layers().size());
    Tensor init;
    try (Engine.GradGuard g = Engine.noGrad()) {
      init = initialPrompt(applied, site.wordEmbeddings());
    }
    return new PromptAdapter(applied, name, model.architecture(), PromptEncoder.table(init, control), site, control, null);
  }

  /**
   * Attaches P-tuning: its encoder, or (when loading) a plain table for the saved embeddings.
   *
   * @throws IllegalArgumentException if the model has no input-embedding site, the config's
   *     dimensions are not the model's, or the pseudo-token id is outside the vocabulary
   */
  public static PromptAdapter attach(PretrainedModel model, PTuningConfig config, String name, AdapterControl control) {
    HookSites hooks = HookSites.of(model);
    InputEmbeddingSite site = hooks.requireInput(model, "P-tuning");
    int[] d = dims(model, hooks, config.tokenDim(), config.numAttentionHeads(), config.numLayers());
    PTuningConfig applied = config.applied(d[0], d[1], hooks.layers().size());
    long vocab = site.wordEmbeddings().numEmbeddings();
    if (applied.pseudoTokenId() != null && applied.pseudoTokenId() >= vocab) {
      throw new IllegalArgumentException("pseudo_token_id " + applied.pseudoTokenId()
          + " is outside the vocabulary [0, " + vocab + ")");
    }
    PromptEncoder encoder = applied.inferenceMode()
        ? PromptEncoder.table(Tensor.zeros(DType.F32, applied.numVirtualTokens(), d[0]), control)
        : PromptEncoder.encoder(applied.numVirtualTokens(), d[0], applied.encoderType(), applied.hiddenSize(),
            applied.encoderNumLayers(), applied.encoderDropout(), control);
    return new PromptAdapter(applied, name, model.architecture(), encoder, site, control,
        applied.template() == null ? null : applied.pseudoTokenId());
  }

  /** {tokenDim, heads}: the model's, checked against a loaded config's. */
  private static int[] dims(PretrainedModel model, HookSites hooks, Integer tokenDim, Integer heads, Integer layers) {
    int width = (int) hooks.input().wordEmbeddings().weight().shape()[1];
    int h = hooks.layers().isEmpty() ? 0 : hooks.layers().get(0).heads();
    check("token_dim", tokenDim, width, model);
    check("num_attention_heads", heads, h, model);
    check("num_layers", layers, hooks.layers().size(), model);
    return new int[] {width, h};
  }

  private static void check(String key, Integer configured, int actual, PretrainedModel model) {
    if (configured != null && configured != actual) {
      throw new IllegalArgumentException(key + " is " + configured + " in the config but " + actual + " for "
          + model.architecture());
    }
  }

  /** The starting prompt [V, hidden] (float32), as PEFT's {@code PromptEmbedding.__init__}. */
  private static Tensor initialPrompt(PromptTuningConfig c, Embedding words) {
    int v = c.numVirtualTokens();
    long vocab = words.numEmbeddings();
    if (c.inferenceMode() || c.init() == PromptTuningConfig.PromptInit.RANDOM) {
      return Tensor.randn(DType.F32, v, words.weight().shape()[1]); // torch.nn.Embedding's N(0, 1)
    }
    long[] ids = new long[v];
    if (c.init() == PromptTuningConfig.PromptInit.SAMPLE_VOCAB) {
      float[] u = Tensor.zeros(DType.F32, v).uniform_(0, vocab).toFloatArray();
      for (int i = 0; i < v; i++) {
        ids[i] = Math.min(vocab - 1, (long) u[i]);
      }
    } else {
      List<Integer> text = c.initTokenIds();
      if (text == null) {
        throw new IllegalArgumentException("prompt_tuning_init=TEXT needs the token ids of '" + c.initText()
            + "' (PromptTuningConfig.Builder.initFromText)");
      }
      for (int i = 0; i < v; i++) {
        ids[i] = text.get(i % text.size()); // repeated, then cut to V (PEFT: ids * ceil(V / n), [:V])
        if (ids[i] < 0 || ids[i] >= vocab) {
          throw new IllegalArgumentException("init token id " + ids[i] + " is outside the vocabulary [0, " + vocab + ")");
        }
      }
    }
    return Functional.embedding(words.weight().value(), Tensor.ofLongs(ids, v)).to(DType.F32);
  }

  @Override
  public List<String> targetedModules() {
    return List.of();
  }

  /** The virtual-token embeddings [V, hidden] as they are now (computed by the encoder for P-tuning). */
  public Tensor prompt() {
    return encoder.table();
  }

  /** [V, hidden]. */
  @Override
  protected long[] savedShape() {
    return new long[] {encoder.tokens(), tokenDim};
  }

  @Override
  public void unload() {
    site.detach(delta);
  }

}
