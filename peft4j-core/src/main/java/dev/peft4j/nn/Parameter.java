package dev.peft4j.nn;

import dev.peft4j.tensor.Tensor;
import java.util.Arrays;

/**
 * A named slot for a learned tensor of a fixed shape. The value is set when weights are
 * loaded (or initialised); until then reading it is an error.
 */
public final class Parameter {
  private final long[] shape;
  private Tensor value;
  private boolean trainable = true;

  Parameter(long[] shape) {
    this.shape = shape.clone();
  }

  /** The shape every value of this parameter must have. */
  public long[] shape() {
    return shape.clone();
  }

  public long numel() {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }

  public boolean isSet() {
    return value != null;
  }

  /** The current value. */
  public Tensor value() {
    if (value == null) {
      throw new IllegalStateException("parameter of shape " + Arrays.toString(shape) + " has no value yet");
    }
    return value;
  }

  /**
   * Replaces the value; its shape must equal {@link #shape()}. The value outlives any open
   * {@link dev.peft4j.tensor.Scope}. Gradient recording follows {@link #trainable()}.
   */
  public void set(Tensor newValue) {
    if (!Arrays.equals(newValue.shape(), shape)) {
      throw new IllegalArgumentException("expected shape " + Arrays.toString(shape)
          + ", got " + Arrays.toString(newValue.shape()));
    }
    value = newValue.retain();
    value.requiresGrad(trainable && newValue.dtype().isFloatingPoint());
  }

  public boolean trainable() {
    return trainable;
  }

  /** Marks the parameter (not) trainable: frozen parameters record no gradient. */
  public void setTrainable(boolean trainable) {
    this.trainable = trainable;
    if (value != null) {
      value.requiresGrad(trainable);
    }
  }
}
