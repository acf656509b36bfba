package dev.peft4j.peft.lora;

import dev.peft4j.nn.Module;
import dev.peft4j.nn.OutputDelta;
import dev.peft4j.nn.Parameter;
import dev.peft4j.nn.Projection;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Functional;
import dev.peft4j.tensor.Tensor;

/**
 * The LoRA update of one projection (Hu et al. 2022, eq. 3): {@code Δh = (α/r) · B A x} with
 * {@code lora_A} [r, in] and {@code lora_B} [out, r], computed as {@code ((x Aᵀ) Bᵀ)} so the
 * full [out, in] matrix is never formed in the forward pass.
 */
public final class LoraDelta extends Module implements OutputDelta {
  private final Projection host;
  private final Parameter loraA; // [r, in]
  private final Parameter loraB; // [out, r]
  private final double scaling;
  private final double dropout;
  private final AdapterControl control;
  private boolean merged;
  private boolean gathered; // computed by a GatheredLoraDelta while a mixed batch is open

  LoraDelta(Projection host, int rank, double scaling, double dropout, LoraConfig.LoraInit init, AdapterControl control) {
    this.host = host;
    this.scaling = scaling;
    this.dropout = dropout;
    this.control = control;
    this.loraA = parameter("lora_A", rank, host.inFeatures());
    this.loraB = parameter("lora_B", host.outFeatures(), rank);
    DType dtype = adapterDType(host.weight().value().dtype());
    try (Engine.GradGuard g = Engine.noGrad()) {
      loraA.set(initA(init, rank, host.inFeatures()).to(dtype));
      loraB.set(init == LoraConfig.LoraInit.RANDOM
          ? kaimingUniform(host.outFeatures(), rank).to(dtype)
          : Tensor.zeros(dtype, host.outFeatures(), rank));
    }
  }

  /**
   * The dtype of the LoRA matrices: float32 on a bf16/f16 model, as PEFT's default
   * {@code autocast_adapter_dtype=True} keeps them (stable training), else the model's. The input
   * is cast to it and the update is added back in the model's dtype. On CPUs with AMX this is also
   * the faster path: skinny bf16 matmuls between the bf16 base projections cost several times
   * their f32 equivalents (docs/PERFORMANCE.md).
   */
  static DType adapterDType(DType model) {
    return model == DType.BF16 || model == DType.F16 ? DType.F32 : model;
  }

  private static Tensor initA(LoraConfig.LoraInit init, int rank, long in) {
    if (init == LoraConfig.LoraInit.GAUSSIAN) {
      return Tensor.zeros(DType.F32, rank, in).normal_(0, 1.0 / rank);
    }
    return kaimingUniform(rank, in);
  }

  /**
   * PyTorch's default Linear init, {@code kaiming_uniform_(a=√5)}: U(-b, b) with
   * b = gain·√(3/fan_in) = √(1/3)·√(3/fan_in) = 1/√fan_in.
   */
  private static Tensor kaimingUniform(long rows, long fanIn) {
    double bound = 1.0 / Math.sqrt(fanIn);
    return Tensor.zeros(DType.F32, rows, fanIn).uniform_(-bound, bound);
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

  boolean training() {
    return control.training();
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
   * @return (α/r) · B A dropout(x), [..., out]
   */
  @Override
  public Tensor apply(Tensor x) {
    return control.forRows(x, rows -> scaled(rows).to(x.dtype()));
  }

  /**
   * {@code y += (α/r) · B A dropout(x)}. Without autograd the scale rides on the addition
   * (PyTorch's {@code add_} with alpha, which also rounds a float32 update into a bf16 {@code y}):
   * three ops per adapted projection, the fewest of the forms measured (docs/PERFORMANCE.md). When
   * autograd records, the backward of that addition would multiply the whole [..., out] gradient
   * by the scale, so the scale goes on the rank side instead, [..., r].
   */
  @Override
  public Tensor addTo(Tensor y, Tensor x) {
    if (control.rows() != null) {
      return y.add(apply(x));
    }
    if (Engine.records(x, loraA.value(), loraB.value())) {
      return y.add_(scaled(x), 1);
    }
    return y.add_(up(down(x)), scaling);
  }

  /** {@code (α/r) · B A dropout(x)} with the scale on the rank side, in the adapter's dtype: [..., out]. */
  private Tensor scaled(Tensor x) {
    return up(down(x).mul_(scaling));
  }

  /** {@code A dropout(x)} = {@code dropout(x) Aᵀ} in the adapter's dtype: [..., r]. */
  private Tensor down(Tensor x) {
    Tensor in = Functional.dropout(asAdapterDType(x), dropout, control.training());
    return Functional.linear(in, loraA.value(), null);
  }

  /** {@code B h} = {@code h Bᵀ} of a rank-side {@code h} [..., r]: [..., out]. */
  private Tensor up(Tensor h) {
    return Functional.linear(h, loraB.value(), null);
  }

  /** Converts A and B to {@code dtype}; the forward follows their dtype. */
  void castTo(DType dtype) {
    try (Engine.GradGuard g = Engine.noGrad()) {
      loraA.set(loraA.value().to(dtype));
      loraB.set(loraB.value().to(dtype));
    }
  }

  /** {@code x} in the dtype of the LoRA matrices ({@link #adapterDType}). */
  Tensor asAdapterDType(Tensor x) {
    DType dtype = loraA.value().dtype();
    return x.dtype() == dtype ? x : x.to(dtype);
  }

  /** {@code (α/r) · B A} in the host weight's layout: [out, in], or [in, out] for Conv1D. */
  public Tensor deltaWeight() {
    Tensor delta = loraB.value().to(DType.F32).matmul(loraA.value().to(DType.F32)).mul(scaling);
    return host.weightTransposed() ? delta.transpose(0, 1) : delta;
  }

  /** Adds {@code delta} (from {@link #deltaWeight()}) to the host weight; the delta stops contributing. */
  void mergeInto(Tensor delta) {
    Tensor w = host.weight().value();
    w.copy_(w.to(DType.F32).add(delta));
    merged = true;
  }

  /** Subtracts this adapter's delta from the host weight; the delta contributes again. */
  void unmerge() {
    Tensor w = host.weight().value();
    w.copy_(w.to(DType.F32).sub(deltaWeight()));
    merged = false;
  }
}
