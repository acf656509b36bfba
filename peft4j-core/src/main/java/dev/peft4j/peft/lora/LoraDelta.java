package dev.peft4j.peft.lora;

import dev.peft4j.nn.Module;
import dev.peft4j.nn.OutputDelta;
import dev.peft4j.nn.Parameter;
import dev.peft4j.nn.Projection;
import dev.peft4j.peft.Adapter;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.peft.Inits;
import dev.peft4j.peft.MergeableDelta;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.DerivedTensor;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;

/**
 * The LoRA update of one projection (Hu et al. 2022, eq. 3): {@code Δh = (α/r) · B A x} with
 * {@code lora_A} [r, in] and {@code lora_B} [out, r], computed as {@code ((x Aᵀ) Bᵀ)} so the
 * full [out, in] matrix is never formed in the forward pass.
 *
 * <p>On an {@link dev.peft4j.nn.Embedding} (in = vocabulary, out = dim) the input is token ids, so
 * {@code A x} is the columns of A the ids pick; as in PEFT, the matrices are named
 * {@code lora_embedding_A}/{@code _B}, A starts at zero and B random, and there is no dropout.
 *
 * <p>With DoRA (Liu et al. 2024) a trained magnitude m [out] ({@code lora_magnitude_vector})
 * rescales each output of the adapted weight: {@code W' = m · (W + ΔW) / ‖W + ΔW‖}, the norm taken
 * per output over the inputs and, in the forward pass, as a constant (their §4.3), as PEFT does.
 * That norm needs the full [out, in] matrix: formed in every forward pass under autograd, kept
 * between passes without ({@link #norms}).
 */
public final class LoraDelta extends Module implements OutputDelta, MergeableDelta {
  private final Projection host;
  private final Parameter loraA; // [r, in]
  private final Parameter loraB; // [out, r]
  private final double scaling;
  private final double dropout;
  private final AdapterControl control;
  private final Parameter magnitude; // DoRA's m [out]; null for plain LoRA
  private final Parameter loraBBias; // B's own bias [out] (lora_bias); null without
  private Tensor mergedNorms; // DoRA while merged: ‖W + ΔW‖ per output at merge time, for unmerge
  private final DerivedTensor cachedNorms = new DerivedTensor(); // DoRA without autograd: ‖W + ΔW‖
  private boolean merged;
  private boolean gathered; // computed by a GatheredLoraDelta while a mixed batch is open

  LoraDelta(Projection host, int rank, double scaling, double dropout, LoraConfig.LoraInit init, boolean dora,
      boolean loraBias, AdapterControl control) {
    this.host = host;
    this.scaling = scaling;
    this.dropout = dropout;
    this.control = control;
    this.loraA = parameter(parameterName('A'), rank, host.inFeatures());
    this.loraB = parameter(parameterName('B'), host.outFeatures(), rank);
    this.magnitude = dora ? parameter("lora_magnitude_vector", host.outFeatures()) : null;
    this.loraBBias = loraBias ? parameter("lora_B_bias", host.outFeatures()) : null;
    // float32 on a bf16/f16 model: the input is cast to it and the update added back in the model's dtype. On
    // CPUs with AMX this is also the faster path: skinny bf16 matmuls between the bf16 base projections cost
    // several times their f32 equivalents (docs/PERFORMANCE.md)
    DType dtype = Adapter.trainedDType(host.weight().value().dtype());
    try (Engine.GradGuard g = Engine.noGrad()) {
      Tensor[] ab = host.takesIds() ? initEmbedding(init, rank, host) : initLinear(init, rank, host);
      loraA.set(ab[0].to(dtype));
      loraB.set(ab[1].to(dtype));
      if (dora) {
        magnitude.set(adaptedNorms().to(dtype)); // m = ‖W + ΔW‖: W' = W + ΔW at the start, as PEFT
      }
      if (loraBias) { // zero, as B; with B random (init false) torch.nn.Linear's U(-1/√r, 1/√r), which PEFT leaves
        double bound = 1 / Math.sqrt(rank);
        Tensor b = Tensor.zeros(DType.F32, host.outFeatures());
        loraBBias.set((init == LoraConfig.LoraInit.RANDOM ? b.uniform_(-bound, bound) : b).to(dtype));
      }
    }
  }

  /** A and B of a linear layer, float32: A Kaiming-uniform or N(0, 1/r), B zero unless {@code RANDOM}. */
  private static Tensor[] initLinear(LoraConfig.LoraInit init, int rank, Projection host) {
    Tensor a = init == LoraConfig.LoraInit.GAUSSIAN
        ? Tensor.zeros(DType.F32, rank, host.inFeatures()).normal_(0, 1.0 / rank)
        : Inits.kaimingUniform(rank, host.inFeatures());
    Tensor b = init == LoraConfig.LoraInit.RANDOM
        ? Inits.kaimingUniform(host.outFeatures(), rank)
        : Tensor.zeros(DType.F32, host.outFeatures(), rank);
    return new Tensor[] {a, b};
  }

  /**
   * A and B of an embedding, float32, as PEFT (after loralib) draws them: A zero and B ~ N(0, 1)
   * (nn.Embedding's default), both N(0, 1) for {@code RANDOM}.
   */
  private static Tensor[] initEmbedding(LoraConfig.LoraInit init, int rank, Projection host) {
    Tensor a = Tensor.zeros(DType.F32, rank, host.inFeatures());
    if (init == LoraConfig.LoraInit.RANDOM) {
      a.normal_(0, 1);
    }
    return new Tensor[] {a, Tensor.zeros(DType.F32, host.outFeatures(), rank).normal_(0, 1)};
  }

  public Parameter loraA() {
    return loraA;
  }

  public Parameter loraB() {
    return loraB;
  }

  public double scaling() {
    return scaling;
  }

  /** The parameter name of A or B ({@code matrix} 'A' or 'B'): {@code lora_A}, or {@code lora_embedding_A} on an embedding. */
  String parameterName(char matrix) {
    return (host.takesIds() ? "lora_embedding_" : "lora_") + matrix;
  }

  /** The name PEFT saves A or B under after the module's path: {@code lora_A.weight}, or {@code lora_embedding_A} on an embedding. */
  String savedName(char matrix) {
    return parameterName(matrix) + (host.takesIds() ? "" : ".weight");
  }

  /** B's own bias [out] ({@code lora_bias}), or null. */
  public Parameter loraBBias() {
    return loraBBias;
  }

  /** DoRA's magnitude m [out] ({@code lora_magnitude_vector}), or null for plain LoRA. */
  public Parameter magnitude() {
    return magnitude;
  }

  public boolean merged() {
    return merged;
  }

  Projection host() {
    return host;
  }

  int rank() {
    return (int) loraA.value().size(0);
  }

  double dropout() {
    return dropout;
  }

  void setGathered(boolean value) {
    gathered = value;
  }

  @Override
  public boolean active() {
    return control.enabled() && !merged && !gathered;
  }

  /**
   * @param x [..., in]
   * @return (α/r) · (B A dropout(x) + b_B), [..., out] (b_B with {@code lora_bias} only)
   * @throws UnsupportedOperationException for DoRA, whose change depends on the output too ({@link #applyTo})
   */
  public Tensor apply(Tensor x) {
    if (magnitude != null) {
      throw new UnsupportedOperationException("a DoRA change depends on the projection's output; use applyTo");
    }
    return control.forRows(x, rows -> scaled(rows).to(outputDType(x)));
  }

  /**
   * {@code y += (α/r) · B A dropout(x)}. Without autograd the scale rides on the addition
   * (PyTorch's {@code add_} with alpha, which also rounds a float32 update into a bf16 {@code y}):
   * three ops per adapted projection, the fewest of the forms measured (docs/PERFORMANCE.md). When
   * autograd records, the backward of that addition would multiply the whole [..., out] gradient
   * by the scale, so the scale goes on the rank side instead, [..., r].
   */
  @Override
  public Tensor applyTo(Tensor y, Tensor x) {
    if (control.rows() != null) {
      return y.add(apply(x));
    }
    if (magnitude != null) {
      return dora(y, x);
    }
    if (Engine.records(x, loraA.value(), loraB.value())) {
      return y.add_(scaled(x), 1);
    }
    return y.add_(up(down(x), 1), scaling);
  }

  /**
   * DoRA's output as PEFT computes it: with c = m / ‖W + ΔW‖ per output (the norm a constant),
   * {@code c ⊙ (y − b + (α/r)·B A x) + b} for the projection's output y and bias b — in place when
   * autograd does not record, y being the projection's fresh output. While dropout is active PEFT
   * adds {@code (c − 1)·x' Wᵀ + c·(α/r)·B A x'} instead, x' the dropped-out input (y keeps the full one);
   * an embedding has no dropout.
   */
  private Tensor dora(Tensor y, Tensor x) {
    boolean recording = Engine.records(x, loraA.value(), loraB.value(), magnitude.value());
    Tensor c = magnitude.value().div(norms(recording).to(magnitude.value().dtype())); // [out]; its gradient reaches m
    if (dropout > 0 && control.training() && !host.takesIds()) {
      Tensor in = dropped(x);
      Tensor base = Functional.linear(in, asAdapterDType(hostRows()), null);
      Tensor lora = up(Functional.linear(in, loraA.value(), null).mul_(scaling), scaling);
      return y.add(base.mul(c.add(-1.0)).add(lora.mul(c)).to(y.dtype()));
    }
    Tensor bias = host.bias() == null ? null : host.bias().value();
    Tensor lora = scaled(x);
    if (!recording) {
      if (bias != null) {
        y.add_(bias, -1);
      }
      y.add_(lora, 1).mul_(c);
      return bias == null ? y : y.add_(bias, 1);
    }
    Tensor out = asAdapterDType(bias == null ? y : y.sub(bias)).add(lora).mul(c);
    return (bias == null ? out : out.add(bias)).to(y.dtype());
  }

  /**
   * ‖W + ΔW‖ per output, outside the graph. Without autograd (inference) it is kept and reused
   * while W, A and B are the same tensors at the same versions: forming W + ΔW costs a pass over
   * the weight at every token otherwise (PEFT's optional {@code DoraCaching}, here always on).
   */
  private Tensor norms(boolean recording) {
    if (recording) {
      try (Engine.GradGuard g = Engine.noGrad()) {
        return adaptedNorms();
      }
    }
    return cachedNorms.get(this::adaptedNorms, host.weight().value(), loraA.value(), loraB.value());
  }

  /** ‖W + ΔW‖ per output (over the inputs), in float32: [out]. */
  private Tensor adaptedNorms() {
    return hostRows().to(DType.F32).add(deltaRows()).norm(1);
  }

  /** The host weight as [out, in] (a view of Conv1D's [in, out]). */
  private Tensor hostRows() {
    Tensor w = host.weight().value();
    return host.weightTransposed() ? w.transpose(0, 1) : w;
  }

  /** {@code (α/r) · B A}, float32 [out, in]. */
  private Tensor deltaRows() {
    return loraB.value().to(DType.F32).matmul(loraA.value().to(DType.F32)).mul(scaling);
  }

  /** {@code (α/r) · (B A dropout(x) + b_B)} with the scale on the rank side, in the adapter's dtype: [..., out]. */
  private Tensor scaled(Tensor x) {
    return up(down(x).mul_(scaling), scaling);
  }

  /** {@code A dropout(x)} = {@code dropout(x) Aᵀ} in the adapter's dtype: [..., r]. */
  private Tensor down(Tensor x) {
    return host.mapInput(dropped(x), loraA.value());
  }

  /**
   * {@code x} in the adapter's dtype, dropped out while training (the same tensor when nothing
   * drops); token ids as they are.
   */
  Tensor dropped(Tensor x) {
    return host.takesIds() ? x : Functional.dropout(asAdapterDType(x), dropout, control.training());
  }

  /** The dtype of the host's output for input {@code x}: the input's, or the table's for token ids. */
  DType outputDType(Tensor x) {
    return host.takesIds() ? host.weight().value().dtype() : x.dtype();
  }

  /** {@code B h + s·b_B} = {@code h Bᵀ + s·b_B} of a rank-side {@code h} [..., r]: [..., out]; without {@code lora_bias} just {@code B h}. */
  private Tensor up(Tensor h, double biasScale) {
    Tensor bias = loraBBias == null ? null : biasScale == 1 ? loraBBias.value() : loraBBias.value().mul(biasScale);
    return Functional.linear(h, loraB.value(), bias);
  }

  /** Converts A and B to {@code dtype}; the forward follows their dtype. */
  void castTo(DType dtype) {
    try (Engine.GradGuard g = Engine.noGrad()) {
      loraA.set(loraA.value().to(dtype));
      loraB.set(loraB.value().to(dtype));
      if (magnitude != null) {
        magnitude.set(magnitude.value().to(dtype));
      }
      if (loraBBias != null) {
        loraBBias.set(loraBBias.value().to(dtype));
      }
    }
  }

  /** {@code x} in the dtype of the LoRA matrices ({@link Adapter#trainedDType}). */
  private Tensor asAdapterDType(Tensor x) {
    DType dtype = loraA.value().dtype();
    return x.dtype() == dtype ? x : x.to(dtype);
  }

  /** {@code (α/r) · B A} in the host weight's layout: [out, in], or [in, out] for Conv1D. */
  public Tensor deltaWeight() {
    Tensor delta = deltaRows();
    return host.weightTransposed() ? delta.transpose(0, 1) : delta;
  }

  /**
   * The host weight with this delta merged, float32 as [out, in], for DoRA the norms ‖W + ΔW‖ it
   * divided by, and with {@code lora_bias} the host bias plus (α/r)·b_B; nothing changes until
   * {@link #mergeInto}. With {@code lora_bias} the host must have a bias ({@link #mergesBias}).
   */
  Merge prepareMerge() {
    Tensor sum = hostRows().to(DType.F32).add(deltaRows());
    Tensor bias = loraBBias == null ? null
        : host.bias().value().to(DType.F32).add(loraBBias.value().to(DType.F32).mul(scaling));
    if (magnitude == null) {
      return new Merge(sum, null, bias);
    }
    Tensor norms = sum.norm(1);
    return new Merge(sum.mul(magnitude.value().to(DType.F32).div(norms).unsqueeze(1)), norms, null);
  }

  /** A merged host weight as [out, in], for DoRA the norms it divided by, and the merged bias or null. */
  record Merge(Tensor weight, Tensor norms, Tensor bias) {
    boolean finite() {
      return weight.allFinite() && (bias == null || bias.allFinite());
    }
  }

  /** Whether merging is possible: without {@code lora_bias}, or onto a layer that has a bias to add b_B to. */
  boolean mergesBias() {
    return loraBBias == null || host.bias() != null;
  }

  /**
   * {@link #prepareMerge()} checked: what writes it in.
   *
   * @throws IllegalStateException naming {@code module} if the merged weight or bias would not be finite
   */
  @Override
  public Runnable prepareMerge(String module) {
    Merge merge = prepareMerge();
    if (!merge.finite()) {
      throw new IllegalStateException("LoRA update of '" + module + "' has NaN or infinite values; nothing merged");
    }
    return () -> mergeInto(merge);
  }

  /** Writes {@code merge} (from {@link #prepareMerge()}) into the host weight; the delta stops contributing. */
  private void mergeInto(Merge merge) {
    hostRows().copy_(merge.weight());
    if (merge.bias() != null) {
      host.bias().value().copy_(merge.bias());
    }
    mergedNorms = merge.norms() == null ? null : merge.norms().retain();
    merged = true;
  }

  /** Takes this adapter's delta out of the host weight again; the delta contributes again. */
  @Override
  public void unmerge() {
    Tensor w = hostRows().to(DType.F32);
    if (magnitude != null) { // W + ΔW = W' / c, c = m / (the norms at merge time)
      w = w.div(magnitude.value().to(DType.F32).div(mergedNorms).unsqueeze(1));
      mergedNorms.close();
      mergedNorms = null;
    }
    hostRows().copy_(w.sub(deltaRows()));
    if (loraBBias != null) {
      Tensor b = host.bias().value();
      b.copy_(b.to(DType.F32).sub(loraBBias.value().to(DType.F32).mul(scaling)));
    }
    merged = false;
  }
}
