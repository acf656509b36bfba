package dev.peft4j.peft.prefix;

import dev.peft4j.nn.KvDelta;
import dev.peft4j.nn.KvSite;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.tensor.Tensor;

/** One layer's prefix at its attention K/V site: keys and values [1, Hkv, P, D] from the shared {@link PrefixEncoder}. */
final class PrefixDelta implements KvDelta {
  private final PrefixEncoder encoder;
  private final int layer;
  private final AdapterControl control;

  PrefixDelta(PrefixEncoder encoder, int layer, AdapterControl control) {
    this.encoder = encoder;
    this.layer = layer;
    this.control = control;
  }

  @Override
  public boolean active() {
    return control.enabled();
  }

  @Override
  public long prefixLength() {
    return encoder.length();
  }

  @Override
  public Tensor rows(long batch) {
    return control.rowMask(batch);
  }

  @Override
  public Tensor[] prefix(KvSite site, long batch) {
    long p = encoder.length();
    long kvDim = encoder.kvDim();
    Tensor kv = encoder.layer(layer); // [P, 2·kvDim]: keys | values
    return new Tensor[] {heads(kv.narrow(1, 0, kvDim), site, p), heads(kv.narrow(1, kvDim, kvDim), site, p)};
  }

  /** [P, Hkv·D] → [1, Hkv, P, D]. */
  private static Tensor heads(Tensor x, KvSite site, long p) {
    return x.reshape(p, site.kvHeads(), site.headDim()).permute(1, 0, 2).unsqueeze(0);
  }
}
