package dev.peft4j.peft;

/**
 * Switches shared by every delta of one {@link PeftModel}: whether adapters contribute at all
 * ({@link PeftModel#disableAdapters()}) and whether the model is training (dropout on).
 */
public final class AdapterControl {
  private boolean enabled = true;
  private boolean training;

  public boolean enabled() {
    return enabled;
  }

  public boolean training() {
    return training;
  }

  void setEnabled(boolean value) {
    enabled = value;
  }

  void setTraining(boolean value) {
    training = value;
  }
}
