package dev.peft4j.peft;

import dev.peft4j.peft.lora.LoraAdapter;
import dev.peft4j.peft.lora.LoraDelta;
import java.util.Map;
import java.util.function.BiConsumer;

/** Test access to a PeftModel's LoRA deltas. */
final class LoraDeltas {
  private LoraDeltas() {}

  static Map<String, LoraDelta> of(PeftModel peft) {
    return ((LoraAdapter) peft.adapter()).deltas();
  }

  static LoraDelta first(PeftModel peft) {
    return of(peft).values().iterator().next();
  }

  static void forEach(PeftModel peft, BiConsumer<String, LoraDelta> action) {
    of(peft).forEach(action);
  }
}
