package dev.peft4j.testing.reference;

/**
 * A test's change inside a reference layer, applied position by position: the reference calls it
 * with the sublayer's input and output and uses what it returns. Sites: {@code "attention"} (the
 * attention output after its projection, before the residual), {@code "attention.context"} (the
 * concatenated heads before the output projection), {@code "ffn"} (the FFN output before the
 * residual). Input: the normalised x in pre-norm blocks, the layer/attention output in BERT.
 */
@FunctionalInterface
public interface SublayerHook {
  SublayerHook NONE = (layer, site, input, output) -> output;

  float[] apply(int layer, String site, float[] input, float[] output);
}
