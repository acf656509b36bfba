package dev.peft4j.model.llama;

import dev.peft4j.model.DecoderLm;
import dev.peft4j.model.Stages;
import dev.peft4j.nn.Embedding;
import dev.peft4j.nn.InputEmbeddingSite;
import dev.peft4j.nn.KvCache;
import dev.peft4j.nn.KvSite;
import dev.peft4j.nn.Linear;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.ModuleList;
import dev.peft4j.nn.RmsNorm;
import dev.peft4j.nn.RopeScaling;
import dev.peft4j.nn.RotaryEmbedding;
import dev.peft4j.nn.VirtualInputs;
import dev.peft4j.tensor.Tensor;
import java.util.List;
import java.util.Optional;

/**
 * LLaMA (and Mistral, Qwen2, Qwen3, Gemma 3) decoder with its language-model head: Hugging Face's
 * {@code LlamaForCausalLM} (and {@code Gemma3ForCausalLM}: scaled token embeddings, sliding-window
 * layers with their own rope θ, logits optionally soft-capped).
 */
public final class LlamaForCausalLM extends DecoderLm {
  private final LlamaConfig config;
  private final Backbone model;
  private final Linear lmHead; // null when tied to the input embeddings

  public LlamaForCausalLM(LlamaConfig config) {
    super(config.numLayers(), config.vocabSize(), config.maxPositions());
    this.config = config;
    this.model = child("model", new Backbone(config));
    this.lmHead = config.tieWordEmbeddings()
        ? null
        : child("lm_head", new Linear(config.hiddenSize(), config.vocabSize(), false));
  }

  public LlamaConfig config() {
    return config;
  }

  @Override
  protected Stages<Tensor> backbonePass(Tensor inputIds, Tensor attentionMask, KvCache cache) {
    return model.pass(inputIds, attentionMask, cache);
  }

  @Override
  public Tensor logits(Tensor hidden) {
    Tensor logits = lmHead == null ? model.embedTokens.asOutputHead(hidden) : lmHead.forward(hidden);
    Double cap = config.gemma3() == null ? null : config.gemma3().finalLogitSoftcap();
    return cap == null ? logits : logits.div(cap).tanh().mul(cap); // Gemma: cap · tanh(logits / cap)
  }

  @Override
  public Embedding tiedEmbedding() {
    return lmHead == null ? model.embedTokens : null;
  }

  @Override
  public String architecture() {
    return config.gemma3() != null ? "Gemma3ForCausalLM" : "LlamaForCausalLM";
  }

  @Override
  public String modelType() {
    return config.modelType();
  }

  @Override
  public Optional<String> parameterPath(String checkpointName) {
    if (checkpointName.equals("lm_head.weight") && lmHead == null) {
      return Optional.empty(); // some tied checkpoints also store the shared matrix
    }
    if (checkpointName.endsWith(".rotary_emb.inv_freq")) {
      return Optional.empty(); // a buffer older checkpoints saved
    }
    return Optional.of(checkpointName);
  }

  /** {@code model}: embeddings, decoder layers and the final norm. */
  static final class Backbone extends Module implements InputEmbeddingSite.Owner {
    final Embedding embedTokens;
    final ModuleList<LlamaDecoderLayer> layers;
    final RmsNorm norm;
    final RotaryEmbedding rope;
    private final RotaryEmbedding localRope; // Gemma 3's sliding layers; null otherwise
    private final LlamaConfig.Gemma3 gemma3;
    private final long maxPositions;
    private final InputEmbeddingSite inputSite;
    private final List<KvSite> kvSites;

    Backbone(LlamaConfig c) {
      embedTokens = child("embed_tokens", new Embedding(c.vocabSize(), c.hiddenSize()));
      layers = child("layers", new ModuleList<>());
      for (int i = 0; i < c.numLayers(); i++) {
        layers.add(new LlamaDecoderLayer(c, i));
      }
      norm = child("norm", new RmsNorm(c.hiddenSize(), c.rmsNormEps(), c.normOffset()));
      rope = new RotaryEmbedding(
          c.ropeScaling().inverseFrequencies(c.ropeTheta(), c.headDim()), c.maxPositions());
      gemma3 = c.gemma3();
      localRope = gemma3 == null ? null : new RotaryEmbedding(
          new RopeScaling.None().inverseFrequencies(gemma3.localRopeTheta(), c.headDim()), c.maxPositions());
      maxPositions = c.maxPositions();
      inputSite = new InputEmbeddingSite(embedTokens);
      kvSites = layers.asList().stream().map(l -> l.selfAttn.kvSite()).toList();
    }

    @Override
    public InputEmbeddingSite inputEmbeddingSite() {
      return inputSite;
    }

    /** A pass whose head returns the final hidden states of the caller's tokens, [B, T, hidden]. */
    Stages<Tensor> pass(Tensor ids, Tensor attentionMask, KvCache cache) {
      return new Stages<>() {
        private VirtualInputs in;
        private RotaryEmbedding.Rotation rotation;
        private Tensor mask;
        private RotaryEmbedding.Rotation slidingRotation; // Gemma 3's sliding layers
        private Tensor slidingMask;

        @Override
        public Tensor embed() {
          in = VirtualInputs.prepare(inputSite, kvSites, ids, tokenEmbeddings(ids), attentionMask, cache,
              maxPositions);
          Tensor positions = in.positions();
          rotation = rope.at(positions, in.embeddings().dtype());
          mask = in.attentionMask(true);
          if (gemma3 != null) {
            slidingRotation = localRope.at(positions, in.embeddings().dtype());
            slidingMask = in.slidingAttentionMask(gemma3.slidingWindow());
          }
          return in.embeddings();
        }

        @Override
        public int layers() {
          return layers.size();
        }

        @Override
        public Tensor layer(int i, Tensor h) {
          boolean sliding = gemma3 != null && gemma3.slidingLayers().get(i);
          return layers.get(i).forward(h, sliding ? slidingRotation : rotation, cache, sliding ? slidingMask : mask);
        }

        @Override
        public Tensor head(Tensor h) {
          return norm.forward(in.strip(h));
        }
      };
    }

    /**
     * The table's rows for {@code ids}, with every delta on it; Gemma 3 multiplies them by √hidden
     * rounded to the table's dtype, as its scaled embedding (and PEFT's adapters on it) do.
     */
    private Tensor tokenEmbeddings(Tensor ids) {
      Tensor e = embedTokens.forward(ids);
      return gemma3 == null ? e : e.mul(Tensor.full(embedTokens.weight().value().dtype(), gemma3.embedScale()).to(e.dtype()));
    }
  }
}
