package dev.peft4j.generate;

import dev.peft4j.model.CausalLm;
import dev.peft4j.nn.KvCache;
import dev.peft4j.tensor.Tensor;

/**
 * A fake language model whose row {@code r} produces {@code scripts[r][0], scripts[r][1], ...}
 * (then the last id forever): the logits at the last position are 10 for the scripted id and 0
 * elsewhere. Steps are counted by calls; the first call with a new cache is the prefill.
 */
final class ScriptedLm implements CausalLm {
  private final long[][] scripts;
  private final int vocab;
  private final long context;
  private int step;
  private KvCache current;

  ScriptedLm(int vocab, long context, long[]... scripts) {
    this.scripts = scripts;
    this.vocab = vocab;
    this.context = context;
  }

  @Override
  public Tensor forward(Tensor inputIds, Tensor attentionMask, KvCache cache) {
    int batch = (int) inputIds.size(0);
    int length = (int) inputIds.size(1);
    step = cache != current ? 0 : step + 1;
    current = cache;
    float[] logits = new float[batch * length * vocab];
    for (int r = 0; r < batch; r++) {
      long[] script = scripts[r];
      long id = script[Math.min(step, script.length - 1)];
      logits[(r * length + length - 1) * vocab + (int) id] = 10f;
    }
    return Tensor.of(logits, batch, length, vocab);
  }

  @Override
  public KvCache newCache() {
    return new KvCache(1);
  }

  @Override
  public int vocabSize() {
    return vocab;
  }

  @Override
  public long contextLength() {
    return context;
  }
}
