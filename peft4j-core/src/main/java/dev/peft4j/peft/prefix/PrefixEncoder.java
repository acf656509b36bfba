package dev.peft4j.peft.prefix;

import dev.peft4j.nn.Embedding;
import dev.peft4j.nn.Linear;
import dev.peft4j.nn.Module;
import dev.peft4j.peft.PromptSource;
import dev.peft4j.peft.Inits;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;

/**
 * All layers' prefixes, PEFT's {@code PrefixEncoder}: either a plain table {@code embedding}
 * [P, L·2·kvDim], or the reparameterisation {@code transform(embedding)} with {@code embedding}
 * [P, kvDim] and {@code transform} = Linear(kvDim, hidden) → tanh → Linear(hidden, L·2·kvDim).
 * Column {@code (2l + s)·kvDim + h·D + d} is layer l's key (s = 0) or value (s = 1), head h, dim d —
 * the layout of PEFT's {@code get_prompt} ({@code view(B, P, L·2, H, D)}).
 */
final class PrefixEncoder extends PromptSource {
  private final long length;
  private final int layers;
  private final long kvDim;
  private Embedding embedding;
  private Transform transform; // null when plain

  PrefixEncoder(long length, int layers, long kvDim, int hidden, boolean projection, boolean zeroInit) {
    this.length = length;
    this.layers = layers;
    this.kvDim = kvDim;
    long width = layers * 2 * kvDim;
    if (projection) {
      embedding = child("embedding", Inits.embedding(length, kvDim));
      transform = child("transform", new Transform(kvDim, hidden, width, zeroInit));
    } else {
      embedding = child("embedding", zeroInit ? Inits.embedding(Tensor.zeros(DType.F32, length, width))
          : Inits.embedding(length, width));
    }
  }

  /** {@code transform}: children {@code 0} and {@code 2} as in PEFT's {@code Sequential} (1 is the tanh). */
  private static final class Transform extends Module {
    final Linear first;
    final Linear second;

    Transform(long in, int hidden, long out, boolean zeroInit) {
      first = child("0", Inits.linear(in, hidden, true));
      second = child("2", Inits.linear(hidden, out, true));
      if (zeroInit) {
        try (Engine.GradGuard g = Engine.noGrad()) {
          second.weight().value().zero_();
          second.bias().value().zero_();
        }
      }
    }
  }

  @Override
  public boolean reparameterised() {
    return transform != null;
  }

  /** Layer {@code l}'s keys and values, [P, 2·kvDim]: only that layer's slice of the MLP's output layer is computed. */
  Tensor layer(int l) {
    long width = 2 * kvDim;
    if (transform == null) {
      return embedding.weight().value().narrow(1, l * width, width);
    }
    Tensor h = hidden();                                                  // [P, hidden]
    Tensor w = transform.second.weight().value().narrow(0, l * width, width); // [2·kvDim, hidden]
    Tensor b = transform.second.bias().value().narrow(0, l * width, width);
    return Functional.linear(h, w, b);
  }

  /** Every layer's prefix, [P, L·2·kvDim] — what PEFT saves as {@code prompt_embeddings}. */
  @Override
  public Tensor table() {
    if (transform == null) {
      return embedding.weight().value();
    }
    return transform.second.forward(hidden());
  }

  /** tanh(embedding · W₁ᵀ + b₁), [P, hidden]. */
  private Tensor hidden() {
    return transform.first.forward(embedding.weight().value()).tanh();
  }

  /** Replaces the reparameterisation (if any) by the plain prefix {@code table} [P, L·2·kvDim]. */
  @Override
  public void fold(Tensor table) {
    removeChild("embedding");
    if (transform != null) {
      removeChild("transform");
      transform = null;
    }
    embedding = child("embedding", Inits.embedding(table));
  }

  long length() {
    return length;
  }

  int layers() {
    return layers;
  }

  long kvDim() {
    return kvDim;
  }
}
