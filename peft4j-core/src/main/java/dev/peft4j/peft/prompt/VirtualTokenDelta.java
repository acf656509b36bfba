package dev.peft4j.peft.prompt;

import dev.peft4j.nn.InputDelta;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;

/**
 * Prompt tuning's and P-tuning's delta at the input-embedding site: the prompt [V, hidden]
 * prepended to every row ({@code [P_e; X_e]}, Lester et al. 2021 §2), or — with a pseudo-token id
 * (P-tuning templates) — written over the embeddings of the positions holding that id, the k-th
 * such position of a row taking prompt row k.
 */
final class VirtualTokenDelta implements InputDelta {
  private final PromptEncoder encoder;
  private final AdapterControl control;
  private final Integer pseudoTokenId; // null: prepend

  VirtualTokenDelta(PromptEncoder encoder, AdapterControl control, Integer pseudoTokenId) {
    this.encoder = encoder;
    this.control = control;
    this.pseudoTokenId = pseudoTokenId;
  }

  @Override
  public boolean active() {
    return control.enabled();
  }

  @Override
  public long virtualLength() {
    return pseudoTokenId == null ? encoder.tokens() : 0;
  }

  @Override
  public Tensor virtualTokens(long batch) {
    return pseudoTokenId == null ? encoder.table().unsqueeze(0) : null; // [1, V, hidden]
  }

  @Override
  public Tensor rows(long batch) {
    return control.rowMask(batch);
  }

  /**
   * @throws IllegalArgumentException if a row (that uses the adapter) holds the pseudo-token id a
   *     number of times other than V
   */
  @Override
  public Tensor substitute(Tensor ids, Tensor embeddings) {
    if (pseudoTokenId == null) {
      return embeddings;
    }
    long b = ids.size(0);
    Tensor marked = ids.eq((double) pseudoTokenId);                    // bool [B, T]
    Tensor rows = control.rowMask(b);
    if (rows != null) {
      marked = marked.logicalAnd(rows.view(b, 1));
    }
    long[] counts = marked.to(DType.I64).sum(1, false).toLongArray(); // [B]
    for (int r = 0; r < counts.length; r++) {
      if (counts[r] != encoder.tokens() && (rows == null || counts[r] != 0 || rowSelected(rows, r))) {
        throw new IllegalArgumentException("row " + r + " holds pseudo token id " + pseudoTokenId + " " + counts[r]
            + " times but the template places " + encoder.tokens() + " (apply the PromptTemplate to the input)");
      }
    }
    Tensor index = marked.to(DType.I64).cumsum(1).add(-1L).clampMin(0L);         // k-th pseudo token, [B, T]
    Tensor prompt = Functional.embedding(encoder.table(), index).to(embeddings.dtype()); // [B, T, hidden]
    return Tensor.where(marked.unsqueeze(-1), prompt, embeddings);
  }

  private static boolean rowSelected(Tensor rows, int r) {
    return rows.select(0, r).item() != 0;
  }
}
