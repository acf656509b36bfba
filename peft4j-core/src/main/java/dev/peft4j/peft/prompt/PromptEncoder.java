package dev.peft4j.peft.prompt;

import dev.peft4j.nn.Embedding;
import dev.peft4j.nn.Linear;
import dev.peft4j.nn.Module;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.peft.PromptSource;
import dev.peft4j.peft.Inits;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;

/**
 * The V virtual-token embeddings [V, hidden] of prompt tuning and P-tuning, with PEFT's module
 * names: a plain table {@code embedding} (PEFT's {@code PromptEmbedding}), or P-tuning's
 * {@code PromptEncoder}: {@code mlp_head(embedding)} or {@code mlp_head(lstm_head(embedding))}.
 * {@link #fold} replaces an encoder by its output.
 */
final class PromptEncoder extends PromptSource {
  private Embedding embedding;      // [V, hidden]
  private Head mlpHead;             // null for a plain table
  private Lstm lstmHead;            // only for the LSTM encoder
  private final double dropout;
  private final AdapterControl control;

  private PromptEncoder(Embedding embedding, double dropout, AdapterControl control) {
    this.embedding = child("embedding", embedding);
    this.dropout = dropout;
    this.control = control;
  }

  /** A plain trainable table holding {@code init} [V, hidden]. */
  static PromptEncoder table(Tensor init, AdapterControl control) {
    return new PromptEncoder(Inits.embedding(init), 0, control);
  }

  /** P-tuning's encoder over a N(0, 1) table [V, tokenDim] (PEFT's {@code PromptEncoder}). */
  static PromptEncoder encoder(long tokens, long tokenDim, PTuningConfig.EncoderType type, int hidden, int layers,
      double dropout, AdapterControl control) {
    PromptEncoder e = new PromptEncoder(Inits.embedding(tokens, tokenDim), dropout, control);
    if (type == PTuningConfig.EncoderType.LSTM) {
      e.lstmHead = e.child("lstm_head", new Lstm(tokenDim, hidden, layers));
      e.mlpHead = e.child("mlp_head", new Head(2L * hidden, 2L * hidden, tokenDim, false));
    } else {
      e.mlpHead = e.child("mlp_head", new Head(tokenDim, hidden, tokenDim, true));
    }
    return e;
  }

  /** {@code mlp_head}: Linear → ReLU → Linear (→ ReLU → Linear), children named by their index in PEFT's Sequential. */
  private static final class Head extends Module {
    private final Linear[] linears;

    Head(long in, long hidden, long out, boolean threeLayers) {
      linears = threeLayers
          ? new Linear[] {child("0", Inits.linear(in, hidden, true)), child("2", Inits.linear(hidden, hidden, true)),
              child("4", Inits.linear(hidden, out, true))}
          : new Linear[] {child("0", Inits.linear(in, hidden, true)), child("2", Inits.linear(hidden, out, true))};
    }

    Tensor forward(Tensor x) {
      for (int i = 0; i < linears.length; i++) {
        x = linears[i].forward(x);
        if (i < linears.length - 1) {
          x = Functional.relu(x);
        }
      }
      return x;
    }
  }

  /** Whether the embeddings are computed by an encoder (false for a plain or folded table). */
  @Override
  public boolean reparameterised() {
    return mlpHead != null;
  }

  long tokens() {
    return embedding.numEmbeddings();
  }

  /** The virtual-token embeddings [V, hidden] (float32). */
  @Override
  public Tensor table() {
    Tensor e = embedding.weight().value();
    if (mlpHead == null) {
      return e;
    }
    Tensor x = lstmHead == null ? e : lstmHead.forward(e, dropout, control.training());
    return mlpHead.forward(x);
  }

  /** Replaces the encoder (if any) and table by a plain table holding {@code table} [V, hidden]. */
  @Override
  public void fold(Tensor table) {
    removeChild("embedding");
    if (lstmHead != null) {
      removeChild("lstm_head");
      lstmHead = null;
    }
    if (mlpHead != null) {
      removeChild("mlp_head");
      mlpHead = null;
    }
    embedding = child("embedding", Inits.embedding(table));
  }
}
