package dev.peft4j.model.bert;

import dev.peft4j.model.Encoder;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.model.Stages;
import dev.peft4j.nn.Embedding;
import dev.peft4j.nn.InputEmbeddingSite;
import dev.peft4j.nn.KvSite;
import dev.peft4j.nn.LayerNorm;
import dev.peft4j.nn.Linear;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.ModuleList;
import dev.peft4j.nn.VirtualInputs;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Tensor;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/** BERT's encoder with an optional pooler: Hugging Face's {@code BertModel}. */
public final class BertModel extends PretrainedModel implements Encoder, InputEmbeddingSite.Owner {
  private final BertConfig config;
  private final Embeddings embeddings;
  private final ModuleList<BertLayer> layers;
  private final Pooler pooler; // null for exports without pooler weights
  private final InputEmbeddingSite inputSite;
  private final List<KvSite> kvSites;

  /** @param withPooler whether the model has {@code pooler.dense} ({@code add_pooling_layer}) */
  public BertModel(BertConfig config, boolean withPooler) {
    this.config = config;
    embeddings = child("embeddings", new Embeddings(config));
    layers = child("encoder", new LayerStack(config)).layer;
    pooler = withPooler ? child("pooler", new Pooler(config)) : null;
    inputSite = new InputEmbeddingSite(embeddings.wordEmbeddings);
    kvSites = layers.asList().stream().map(l -> l.attention.self.kvSite()).toList();
  }

  /** The word-embedding output is the input-embedding site, as Hugging Face PEFT's {@code inputs_embeds}. */
  @Override
  public InputEmbeddingSite inputEmbeddingSite() {
    return inputSite;
  }

  public BertConfig config() {
    return config;
  }

  public boolean hasPooler() {
    return pooler != null;
  }

  @Override
  public EncoderOutput encode(Tensor inputIds, Tensor tokenTypeIds, Tensor attentionMask) {
    return stages(inputIds, tokenTypeIds, attentionMask).run();
  }

  @Override
  public Stages<EncoderOutput> stages(Tensor inputIds, Tensor tokenTypeIds, Tensor attentionMask) {
    if (inputIds.dim() != 2 || inputIds.dtype() != DType.I64) {
      throw new IllegalArgumentException("input ids must be int64 [batch, length], got " + inputIds);
    }
    long length = inputIds.size(1);
    if (length > config.maxPositions()) {
      throw new IllegalArgumentException("sequence of " + length
          + " tokens is longer than the model's context length " + config.maxPositions());
    }
    if (attentionMask != null && !Arrays.equals(attentionMask.shape(), inputIds.shape())) {
      throw new IllegalArgumentException("attention mask must have the shape of the input ids "
          + Arrays.toString(inputIds.shape()) + ", got " + Arrays.toString(attentionMask.shape()));
    }
    return new Stages<>() {
      private VirtualInputs in;
      private Tensor mask;

      @Override
      public Tensor embed() {
        in = VirtualInputs.prepare(inputSite, kvSites, inputIds, embeddings.wordEmbeddings.forward(inputIds),
            attentionMask, null, config.maxPositions());
        mask = in.attentionMask(false);
        Tensor types = tokenTypeIds == null ? Tensor.zeros(DType.I64, inputIds.shape()) : tokenTypeIds;
        // without virtual positions 0..T-1 (Hugging Face); with them, counted over the extended mask
        Tensor positions = in.hasVirtual() ? in.positions() : Tensor.arange(length).view(1, length);
        return embeddings.forward(in.embeddings(), in.extendFront(types, 0), positions);
      }

      @Override
      public int layers() {
        return layers.size();
      }

      @Override
      public Tensor layer(int i, Tensor h) {
        return layers.get(i).forward(h, mask);
      }

      @Override
      public EncoderOutput head(Tensor h) {
        // the pooler reads the first position, virtual or not, as transformers' BertModel does when
        // PEFT's prompt tuning or P-tuning puts the prompt in front (PEFT-trained heads rely on it)
        return new EncoderOutput(in.strip(h), pooler == null ? null : pooler.forward(h));
      }
    };
  }

  @Override
  public int hiddenSize() {
    return config.hiddenSize();
  }

  @Override
  public String architecture() {
    return "BertModel";
  }

  @Override
  public String modelType() {
    return "bert";
  }

  @Override
  public Optional<String> parameterPath(String checkpointName) {
    return BertNames.normalise(checkpointName, "");
  }

  /** {@code embeddings}: word + position + token type, then LayerNorm. */
  static final class Embeddings extends Module {
    final Embedding wordEmbeddings;
    private final Embedding positionEmbeddings;
    private final Embedding tokenTypeEmbeddings;
    private final LayerNorm layerNorm;

    Embeddings(BertConfig c) {
      wordEmbeddings = child("word_embeddings", new Embedding(c.vocabSize(), c.hiddenSize()));
      positionEmbeddings = child("position_embeddings", new Embedding(c.maxPositions(), c.hiddenSize()));
      tokenTypeEmbeddings = child("token_type_embeddings", new Embedding(c.typeVocabSize(), c.hiddenSize()));
      layerNorm = child("LayerNorm", new LayerNorm(c.hiddenSize(), c.layerNormEps()));
    }

    /** @param words word embeddings [B, T, H]; @param types, positions int64 [B or 1, T] */
    Tensor forward(Tensor words, Tensor types, Tensor positions) {
      Tensor sum = words
          .add(tokenTypeEmbeddings.forward(types))
          .add(positionEmbeddings.forward(positions));
      return layerNorm.forward(sum);
    }
  }

  /** {@code encoder}: holds {@code layer.0 ... layer.N-1}. */
  static final class LayerStack extends Module {
    final ModuleList<BertLayer> layer;

    LayerStack(BertConfig c) {
      layer = child("layer", new ModuleList<>());
      for (int i = 0; i < c.numLayers(); i++) {
        layer.add(new BertLayer(c, i));
      }
    }
  }

  /** {@code pooler}: {@code tanh(dense(h[:, 0]))}, the [CLS] summary. */
  static final class Pooler extends Module {
    private final Linear dense;

    Pooler(BertConfig c) {
      dense = child("dense", new Linear(c.hiddenSize(), c.hiddenSize(), true));
    }

    Tensor forward(Tensor h) {
      return dense.forward(h.select(1, 0)).tanh();
    }
  }
}
