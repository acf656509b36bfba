package dev.peft4j.peft;

import dev.peft4j.model.PretrainedModel;

/** Entry point, as Hugging Face PEFT's {@code get_peft_model}: {@code Peft.wrap(model, config)}. */
public final class Peft {
  private Peft() {}

  /** Freezes {@code model} and attaches the method {@code config} describes. */
  public static PeftModel wrap(PretrainedModel model, PeftConfig config) {
    return PeftModel.wrap(model, config);
  }
}
