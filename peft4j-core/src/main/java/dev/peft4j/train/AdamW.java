package dev.peft4j.train;

import dev.peft4j.nn.Parameter;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Adam with decoupled weight decay (Loshchilov &amp; Hutter, ICLR 2019), step for step as
 * {@code torch.optim.AdamW} (single-tensor path, {@code amsgrad=False}). For each parameter
 * {@code p} with gradient {@code g}, at its {@code t}-th update:
 *
 * <pre>
 *   p  ← p − lr·λ·p                       (decoupled decay; λ = 0 in the no-decay group)
 *   m  ← β1·m + (1−β1)·g
 *   v  ← β2·v + (1−β2)·g²
 *   p  ← p − (lr / (1−β1ᵗ)) · m / (sqrt(v) / sqrt(1−β2ᵗ) + eps)
 * </pre>
 *
 * <p>Two parameter groups: weight decay applies to every parameter except biases and
 * normalisation weights ({@link #isNoDecay}). Parameters that are not
 * {@link Parameter#trainable()} never enter the optimizer. A parameter without a gradient at
 * a step is skipped, its state untouched, as PyTorch does.
 *
 * <p>The moment estimates are native tensors retained outside any scope; {@link #close()}
 * frees them. Not thread-safe.
 */
public final class AdamW implements AutoCloseable {
  /** State-dict name prefixes; a state tensor is named {@code prefix + parameterName}. */
  public static final String STEP = "step.";
  public static final String EXP_AVG = "exp_avg.";
  public static final String EXP_AVG_SQ = "exp_avg_sq.";

  private final AdamWConfig config;
  private final Map<String, Parameter> parameters = new LinkedHashMap<>();
  private final List<String> decay = new ArrayList<>();
  private final List<String> noDecay = new ArrayList<>();
  private final Map<String, State> state = new LinkedHashMap<>();

  /** Per-parameter state: update count and the two moment estimates (same shape and dtype). */
  private static final class State {
    long step;
    final Tensor expAvg;   // m, shape of the parameter
    final Tensor expAvgSq; // v, shape of the parameter

    State(long step, Tensor expAvg, Tensor expAvgSq) {
      this.step = step;
      this.expAvg = expAvg;
      this.expAvgSq = expAvgSq;
    }

    void close() {
      expAvg.close();
      expAvgSq.close();
    }
  }

  /**
   * An optimizer over the trainable entries of {@code parameters} (frozen ones are dropped).
   *
   * @throws IllegalArgumentException if no parameter is trainable
   */
  public AdamW(Map<String, Parameter> parameters, AdamWConfig config) {
    this.config = java.util.Objects.requireNonNull(config, "config");
    parameters.forEach((name, p) -> {
      if (p.trainable()) {
        this.parameters.put(name, p);
        (isNoDecay(name) ? noDecay : decay).add(name);
      }
    });
    if (this.parameters.isEmpty()) {
      throw new IllegalArgumentException(
          "no trainable parameter among " + parameters.size() + " given: " + parameters.keySet());
    }
  }

  /**
   * True if {@code name} belongs to the no-weight-decay group: it ends in {@code .bias} (or is
   * {@code bias}), contains {@code norm} in any case (LayerNorm, RMSNorm, {@code input_layernorm},
   * {@code model.norm}), or has a path segment starting with {@code ln_} (GPT-2's
   * {@code ln_1}, {@code ln_f}).
   */
  public static boolean isNoDecay(String name) {
    if (name.equals("bias") || name.endsWith(".bias")) {
      return true;
    }
    if (name.toLowerCase(Locale.ROOT).contains("norm")) {
      return true;
    }
    return name.startsWith("ln_") || name.contains(".ln_");
  }

  public AdamWConfig config() {
    return config;
  }

  /** Names of the optimized parameters with weight decay, in the given order. */
  public List<String> decayParameterNames() {
    return Collections.unmodifiableList(decay);
  }

  /** Names of the optimized parameters without weight decay, in the given order. */
  public List<String> noDecayParameterNames() {
    return Collections.unmodifiableList(noDecay);
  }

  /** The optimized (trainable) parameters, by name. */
  public Map<String, Parameter> parameters() {
    return Collections.unmodifiableMap(parameters);
  }

  /** Number of updates applied to parameter {@code name} so far (0 before its first). */
  public long stepCount(String name) {
    State s = state.get(name);
    return s == null ? 0 : s.step;
  }

  /**
   * Applies one update with learning rate {@code lr} to every optimized parameter that has a
   * gradient. Gradients are left in place; see {@link #zeroGrad()}.
   */
  public void step(double lr) {
    double b1 = config.beta1();
    double b2 = config.beta2();
    try (Scope scope = Scope.open(); Engine.GradGuard noGrad = Engine.noGrad()) {
      for (Map.Entry<String, Parameter> e : parameters.entrySet()) {
        Tensor p = e.getValue().value();
        Tensor g = p.grad();
        if (g == null) {
          continue;
        }
        State s = state.computeIfAbsent(e.getKey(), n -> new State(0,
            Tensor.zeros(p.dtype(), p.shape()).retain(), Tensor.zeros(p.dtype(), p.shape()).retain()));
        s.step++;
        double wd = isNoDecay(e.getKey()) ? 0 : config.weightDecay();
        if (wd != 0) {
          p.mul_(1 - lr * wd);
        }
        s.expAvg.mul_(b1).add_(g, 1 - b1);
        s.expAvgSq.mul_(b2).addcmul_(g, g, 1 - b2);
        double biasCorrection1 = 1 - Math.pow(b1, s.step);
        double biasCorrection2 = 1 - Math.pow(b2, s.step);
        Tensor denom = s.expAvgSq.sqrt().div(Math.sqrt(biasCorrection2)).add(config.eps());
        p.addcdiv_(s.expAvg, denom, -lr / biasCorrection1);
      }
    }
  }

  /** Drops every optimized parameter's gradient ({@code zero_grad(set_to_none=True)}). */
  public void zeroGrad() {
    for (Parameter p : parameters.values()) {
      p.value().clearGrad();
    }
  }

  /**
   * A copy of the optimizer state: for each parameter updated at least once,
   * {@code step.NAME} (int64 scalar), {@code exp_avg.NAME} and {@code exp_avg_sq.NAME} (the
   * parameter's shape and dtype). The tensors belong to the caller's scope.
   */
  public Map<String, Tensor> stateDict() {
    Map<String, Tensor> out = new LinkedHashMap<>();
    state.forEach((name, s) -> {
      out.put(STEP + name, Tensor.ofLongs(new long[] {s.step}));
      out.put(EXP_AVG + name, s.expAvg.copy());
      out.put(EXP_AVG_SQ + name, s.expAvgSq.copy());
    });
    return out;
  }

  /**
   * Replaces the whole optimizer state by a copy of one from {@link #stateDict()}.
   *
   * @throws IllegalArgumentException if a name is unknown, one of a parameter's three entries
   *     is missing, or a shape or dtype differs from the parameter's; checked before anything
   *     changes
   */
  public void loadStateDict(Map<String, Tensor> stateDict) {
    Map<String, Tensor[]> byParameter = new LinkedHashMap<>();
    for (Map.Entry<String, Tensor> e : stateDict.entrySet()) {
      String key = e.getKey();
      int slot = key.startsWith(EXP_AVG_SQ) ? 2 : key.startsWith(EXP_AVG) ? 1 : key.startsWith(STEP) ? 0 : -1;
      String prefix = slot == 2 ? EXP_AVG_SQ : slot == 1 ? EXP_AVG : STEP;
      String name = slot < 0 ? null : key.substring(prefix.length());
      if (name == null || !parameters.containsKey(name)) {
        throw new IllegalArgumentException("optimizer state '" + key
            + "' matches no optimized parameter; parameters: " + parameters.keySet());
      }
      byParameter.computeIfAbsent(name, n -> new Tensor[3])[slot] = e.getValue();
    }
    byParameter.forEach((name, t) -> {
      if (t[0] == null || t[1] == null || t[2] == null) {
        throw new IllegalArgumentException("optimizer state of '" + name
            + "' needs " + STEP + ", " + EXP_AVG + " and " + EXP_AVG_SQ + " entries");
      }
      Tensor p = parameters.get(name).value();
      for (int i = 1; i < 3; i++) {
        if (!Arrays.equals(t[i].shape(), p.shape()) || t[i].dtype() != p.dtype()) {
          throw new IllegalArgumentException("optimizer state of '" + name + "' is " + t[i]
              + ", the parameter is " + p);
        }
      }
      if (t[0].numel() != 1 || t[0].dtype() != DType.I64) {
        throw new IllegalArgumentException("step of '" + name + "' must be an int64 scalar: " + t[0]);
      }
    });
    close();
    try (Scope scope = Scope.open()) {
      byParameter.forEach((name, t) -> state.put(name,
          new State(t[0].toLongArray()[0], t[1].copy().retain(), t[2].copy().retain())));
    }
  }

  /** Frees the optimizer state; the optimizer starts afresh if stepped again. */
  @Override
  public void close() {
    state.values().forEach(State::close);
    state.clear();
  }
}
