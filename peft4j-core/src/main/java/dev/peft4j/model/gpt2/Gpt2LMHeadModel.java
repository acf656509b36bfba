package dev.peft4j.model.gpt2;

import dev.peft4j.model.DecoderLm;
import dev.peft4j.model.Stages;
import dev.peft4j.nn.Embedding;
import dev.peft4j.nn.InputEmbeddingSite;
import dev.peft4j.nn.KvCache;
import dev.peft4j.nn.KvSite;
import dev.peft4j.nn.LayerNorm;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.ModuleList;
import dev.peft4j.nn.VirtualInputs;
import dev.peft4j.tensor.Tensor;
import java.util.List;
import java.util.Optional;

/** GPT-2 with its tied language-model head: Hugging Face's {@code GPT2LMHeadModel}. */
public final class Gpt2LMHeadModel extends DecoderLm {
  private static final String PREFIX = "transformer.";

  private final Gpt2Config config;
  private final Transformer transformer;

  public Gpt2LMHeadModel(Gpt2Config config) {
    super(config.numLayers(), config.vocabSize(), config.maxPositions());
    this.config = config;
    this.transformer = child("transformer", new Transformer(config));
  }

  public Gpt2Config config() {
    return config;
  }

  @Override
  protected Stages<Tensor> backbonePass(Tensor inputIds, Tensor attentionMask, KvCache cache) {
    return transformer.pass(inputIds, attentionMask, cache);
  }

  @Override
  public Tensor logits(Tensor hidden) {
    return transformer.wte.asOutputHead(hidden); // lm_head tied to wte
  }

  @Override
  public Embedding tiedEmbedding() {
    return transformer.wte;
  }

  @Override
  public String architecture() {
    return "GPT2LMHeadModel";
  }

  @Override
  public String modelType() {
    return "gpt2";
  }

  /** Accepts names with or without {@code transformer.} (the original GPT-2 files have none). */
  @Override
  public Optional<String> parameterPath(String name) {
    if (name.equals("lm_head.weight") || name.endsWith(".attn.bias") || name.endsWith(".attn.masked_bias")) {
      return Optional.empty(); // tied head and causal-mask buffers
    }
    return Optional.of(name.startsWith(PREFIX) ? name : PREFIX + name);
  }

  /** {@code transformer}: token and position embeddings, blocks, final LayerNorm. */
  static final class Transformer extends Module implements InputEmbeddingSite.Owner {
    final Embedding wte;
    final Embedding wpe;
    final ModuleList<Gpt2Block> h;
    final LayerNorm lnF;
    private final long maxPositions;
    private final InputEmbeddingSite inputSite;
    private final List<KvSite> kvSites;

    Transformer(Gpt2Config c) {
      wte = child("wte", new Embedding(c.vocabSize(), c.hiddenSize()));
      wpe = child("wpe", new Embedding(c.maxPositions(), c.hiddenSize()));
      h = child("h", new ModuleList<>());
      for (int i = 0; i < c.numLayers(); i++) {
        h.add(new Gpt2Block(c, i));
      }
      lnF = child("ln_f", new LayerNorm(c.hiddenSize(), c.layerNormEps()));
      maxPositions = c.maxPositions();
      inputSite = new InputEmbeddingSite(wte);
      kvSites = h.asList().stream().map(b -> b.attn.kvSite()).toList();
    }

    @Override
    public InputEmbeddingSite inputEmbeddingSite() {
      return inputSite;
    }

    /** A pass whose head returns the final hidden states of the caller's tokens, [B, T, hidden]. */
    Stages<Tensor> pass(Tensor ids, Tensor attentionMask, KvCache cache) {
      return new Stages<>() {
        private VirtualInputs in;
        private Tensor mask;

        @Override
        public Tensor embed() {
          in = VirtualInputs.prepare(inputSite, kvSites, ids, wte.forward(ids), attentionMask, cache, maxPositions);
          mask = in.attentionMask(true);
          return in.embeddings().add(wpe.forward(in.positions()));
        }

        @Override
        public int layers() {
          return h.size();
        }

        @Override
        public Tensor layer(int i, Tensor x) {
          return h.get(i).forward(x, cache, mask);
        }

        @Override
        public Tensor head(Tensor x) {
          return lnF.forward(in.strip(x));
        }
      };
    }
  }
}
