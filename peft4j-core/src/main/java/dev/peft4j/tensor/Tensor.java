package dev.peft4j.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * An n-dimensional array on a {@link Device}, backed by a libtorch tensor.
 *
 * <p>Operations return new tensors and never modify their inputs, unless the name ends in an
 * underscore ({@link #copy_}). Native memory belongs to the innermost open {@link Scope}; a
 * tensor created outside any scope is freed by {@link #close()} or when garbage-collected.
 */
public final class Tensor implements AutoCloseable {
  private final org.bytedeco.pytorch.Tensor handle;

  Tensor(org.bytedeco.pytorch.Tensor handle) {
    this.handle = handle;
  }

  org.bytedeco.pytorch.Tensor handle() {
    return handle;
  }

  // ---------------------------------------------------------------- creation

  /** A float32 tensor holding a copy of {@code values}, laid out row-major in {@code shape}. */
  public static Tensor of(float[] values, long... shape) {
    checkNumel(values.length, shape);
    Engine.ensureLoaded();
    try (FloatPointer p = new FloatPointer(values)) {
      return new Tensor(torch.from_blob(p, shape, options(DType.F32)).clone());
    }
  }

  /** An int64 tensor holding a copy of {@code values}. */
  public static Tensor ofLongs(long[] values, long... shape) {
    checkNumel(values.length, shape);
    Engine.ensureLoaded();
    try (LongPointer p = new LongPointer(values)) {
      return new Tensor(torch.from_blob(p, shape, options(DType.I64)).clone());
    }
  }

  /**
   * A tensor holding a copy of little-endian raw bytes (e.g. a safetensors region) of type
   * {@code dtype}. The buffer's position and limit are not changed.
   */
  public static Tensor fromBytes(ByteBuffer bytes, DType dtype, long... shape) {
    long numel = checkedNumel(shape);
    if (bytes.remaining() != numel * dtype.byteSize()) {
      throw new IllegalArgumentException("expected " + numel * dtype.byteSize() + " bytes for "
          + dtype + Arrays.toString(shape) + ", got " + bytes.remaining());
    }
    Engine.ensureLoaded();
    ByteBuffer direct = bytes;
    if (!bytes.isDirect()) {
      direct = ByteBuffer.allocateDirect(bytes.remaining());
      direct.put(bytes.duplicate()).flip();
    }
    try (BytePointer p = new BytePointer(direct)) {
      return new Tensor(torch.from_blob(p, shape, options(dtype)).clone());
    }
  }

  public static Tensor zeros(DType dtype, long... shape) {
    Engine.ensureLoaded();
    return new Tensor(torch.zeros(shape, options(dtype)));
  }

  public static Tensor ones(DType dtype, long... shape) {
    Engine.ensureLoaded();
    return new Tensor(torch.ones(shape, options(dtype)));
  }

  public static Tensor full(DType dtype, double value, long... shape) {
    Engine.ensureLoaded();
    return new Tensor(torch.full(shape, new Scalar(value), options(dtype)));
  }

  /** Standard normal samples from libtorch's seeded generator. */
  public static Tensor randn(DType dtype, long... shape) {
    Engine.ensureLoaded();
    return new Tensor(torch.randn(shape, options(dtype)));
  }

  /** {@code [0, 1, ..., n-1]} as int64. */
  public static Tensor arange(long n) {
    Engine.ensureLoaded();
    return new Tensor(torch.arange(new Scalar(n), options(DType.I64)));
  }

  /** Concatenates along {@code dim}. */
  public static Tensor cat(long dim, Tensor... tensors) {
    return new Tensor(torch.cat(vector("cat", tensors), dim));
  }

  /** Stacks equally shaped tensors along a new dimension {@code dim}. */
  public static Tensor stack(long dim, Tensor... tensors) {
    return new Tensor(torch.stack(vector("stack", tensors), dim));
  }

  private static TensorVector vector(String op, Tensor... tensors) {
    if (tensors.length == 0) {
      throw new IllegalArgumentException(op + " needs at least one tensor");
    }
    TensorVector v = new TensorVector(tensors.length);
    for (int i = 0; i < tensors.length; i++) {
      v.put(i, tensors[i].handle);
    }
    return v;
  }

  /** {@code condition ? a : b}, elementwise with broadcasting. */
  public static Tensor where(Tensor condition, Tensor a, Tensor b) {
    return new Tensor(torch.where(condition.handle, a.handle, b.handle));
  }

  static TensorOptions options(DType dtype) {
    return new TensorOptions(ScalarTypes.of(dtype));
  }

  // ---------------------------------------------------------------- metadata

  public long[] shape() {
    int n = (int) handle.dim();
    long[] s = new long[n];
    for (int i = 0; i < n; i++) {
      s[i] = handle.size(i);
    }
    return s;
  }

  public int dim() {
    return (int) handle.dim();
  }

  /** Size of dimension {@code d}; negative counts from the end. */
  public long size(int d) {
    return handle.size(d);
  }

  public long numel() {
    return handle.numel();
  }

  public DType dtype() {
    return ScalarTypes.toDType(handle.scalar_type());
  }

  // ---------------------------------------------------------------- arithmetic

  public Tensor add(Tensor other) {
    return new Tensor(handle.add(other.handle));
  }

  public Tensor add(double value) {
    return new Tensor(handle.add(new Scalar(value)));
  }

  /** Adds an integer; integer tensors stay integer (a double would promote them to float). */
  public Tensor add(long value) {
    return new Tensor(handle.add(new Scalar(value)));
  }

  public Tensor sub(Tensor other) {
    return new Tensor(handle.sub(other.handle));
  }

  /** {@code this + a * b} in one kernel ({@code torch.addcmul}), broadcasting. */
  public Tensor addcmul(Tensor a, Tensor b) {
    return new Tensor(torch.addcmul(handle, a.handle, b.handle));
  }

  public Tensor mul(Tensor other) {
    return new Tensor(handle.mul(other.handle));
  }

  public Tensor mul(double value) {
    return new Tensor(handle.mul(new Scalar(value)));
  }

  public Tensor div(Tensor other) {
    return new Tensor(handle.div(other.handle));
  }

  public Tensor div(double value) {
    return new Tensor(handle.div(new Scalar(value)));
  }

  public Tensor neg() {
    return new Tensor(handle.neg());
  }

  public Tensor pow(double exponent) {
    return new Tensor(handle.pow(new Scalar(exponent)));
  }

  public Tensor sqrt() {
    return new Tensor(handle.sqrt());
  }

  public Tensor exp() {
    return new Tensor(handle.exp());
  }

  /** e^x of every element, in place. */
  public Tensor exp_() {
    handle.exp_();
    return this;
  }

  public Tensor tanh() {
    return new Tensor(handle.tanh());
  }

  public Tensor cos() {
    return new Tensor(handle.cos());
  }

  public Tensor sin() {
    return new Tensor(handle.sin());
  }

  public Tensor abs() {
    return new Tensor(handle.abs());
  }

  public Tensor matmul(Tensor other) {
    return new Tensor(handle.matmul(other.handle));
  }

  /** Outer product of two vectors. */
  public Tensor outer(Tensor other) {
    return new Tensor(handle.outer(other.handle));
  }

  public Tensor sum() {
    return new Tensor(handle.sum());
  }

  public Tensor mean() {
    return new Tensor(handle.mean());
  }

  /** Sum over {@code dim}, keeping it with size 1 if {@code keepDim}. */
  public Tensor sum(long dim, boolean keepDim) {
    return new Tensor(handle.sum(new long[] {dim}, keepDim, new org.bytedeco.pytorch.ScalarTypeOptional()));
  }

  public Tensor cumsum(long dim) {
    return new Tensor(handle.cumsum(dim));
  }

  public Tensor clampMin(double min) {
    return new Tensor(handle.clamp_min(new Scalar(min)));
  }

  /** Clamps from below by an integer; integer tensors stay integer. */
  public Tensor clampMin(long min) {
    return new Tensor(handle.clamp_min(new Scalar(min)));
  }

  public Tensor max() {
    return new Tensor(handle.max());
  }

  public Tensor min() {
    return new Tensor(handle.min());
  }

  /** Index of the maximum along {@code dim}. */
  public Tensor argmax(long dim) {
    return new Tensor(handle.argmax(new LongOptional(dim), false));
  }

  // ---------------------------------------------------------------- comparison and masks

  public Tensor eq(double value) {
    return new Tensor(handle.eq(new Scalar(value)));
  }

  public Tensor ne(double value) {
    return new Tensor(handle.ne(new Scalar(value)));
  }

  public Tensor le(Tensor other) {
    return new Tensor(handle.le(other.handle));
  }

  public Tensor eq(Tensor other) {
    return new Tensor(handle.eq(other.handle));
  }

  public Tensor logicalAnd(Tensor other) {
    return new Tensor(handle.logical_and(other.handle));
  }

  public Tensor logicalOr(Tensor other) {
    return new Tensor(handle.logical_or(other.handle));
  }

  public Tensor maskedFill(Tensor mask, double value) {
    return new Tensor(handle.masked_fill(mask.handle, new Scalar(value)));
  }

  /** True if every element is finite (no NaN or infinity). */
  public boolean allFinite() {
    return handle.isfinite().all().item_bool();
  }

  // ---------------------------------------------------------------- shape

  public Tensor reshape(long... shape) {
    return new Tensor(handle.reshape(shape));
  }

  public Tensor view(long... shape) {
    return new Tensor(handle.view(shape));
  }

  public Tensor transpose(long dim0, long dim1) {
    return new Tensor(handle.transpose(dim0, dim1));
  }

  public Tensor permute(long... dims) {
    return new Tensor(handle.permute(dims));
  }

  /** Shifts elements {@code shift} places along {@code dim}, those pushed off the end coming back at the start. */
  public Tensor roll(long shift, long dim) {
    return new Tensor(handle.roll(new long[] {shift}, dim));
  }

  public Tensor unsqueeze(long dim) {
    return new Tensor(handle.unsqueeze(dim));
  }

  public Tensor squeeze(long dim) {
    return new Tensor(handle.squeeze(dim));
  }

  /** A view of {@code length} entries along {@code dim}, starting at {@code start}. */
  public Tensor narrow(long dim, long start, long length) {
    return new Tensor(handle.narrow(dim, start, length));
  }

  /** The slice at {@code index} of {@code dim}, which is removed. */
  public Tensor select(long dim, long index) {
    return new Tensor(handle.select(dim, index));
  }

  public Tensor expand(long... shape) {
    return new Tensor(handle.expand(shape));
  }

  /** Repeats each slice along {@code dim} {@code repeats} times ({@code torch.repeat_interleave}). */
  public Tensor repeatInterleave(long repeats, long dim) {
    return new Tensor(handle.repeat_interleave(repeats, new LongOptional(dim), new LongOptional()));
  }

  /** A copy with {@code source}'s slices added at {@code index} along {@code dim} ({@code torch.index_add}). */
  public Tensor indexAdd(long dim, Tensor index, Tensor source) {
    return new Tensor(handle.index_add(dim, index.handle, source.handle));
  }

  /** Writes {@code source}'s slices over this tensor's at {@code index} along {@code dim}, in place ({@code index_copy_}). */
  public Tensor indexCopy_(long dim, Tensor index, Tensor source) {
    handle.index_copy_(dim, index.handle, source.handle);
    return this;
  }

  public Tensor indexSelect(long dim, Tensor index) {
    return new Tensor(handle.index_select(dim, index.handle));
  }

  public Tensor contiguous() {
    return new Tensor(handle.contiguous());
  }

  /** Lower triangle (entries above the {@code diagonal}-th diagonal zeroed). */
  public Tensor tril(long diagonal) {
    return new Tensor(handle.tril(diagonal));
  }

  // ---------------------------------------------------------------- type, copies, autograd

  public Tensor to(DType dtype) {
    return new Tensor(handle.to(ScalarTypes.of(dtype)));
  }

  public Tensor to(Device device) {
    return new Tensor(handle.to(device.toNative(), handle.scalar_type()));
  }

  /** A copy that owns its memory and is detached from any autograd graph. */
  public Tensor copy() {
    return new Tensor(handle.detach().clone());
  }

  /** Copies {@code source} into this tensor in place (shapes must broadcast). */
  public Tensor copy_(Tensor source) {
    handle.copy_(source.handle);
    return this;
  }

  public Tensor detach() {
    return new Tensor(handle.detach());
  }

  public Tensor requiresGrad(boolean requiresGrad) {
    handle.requires_grad_(requiresGrad);
    return this;
  }

  public boolean requiresGrad() {
    return handle.requires_grad();
  }

  /** The accumulated gradient, or null if there is none. */
  public Tensor grad() {
    org.bytedeco.pytorch.Tensor g = handle.grad();
    return g.defined() ? new Tensor(g) : null;
  }

  /** Back-propagates from this scalar. */
  public void backward() {
    handle.backward();
  }

  /**
   * Back-propagates {@code gradient}, the gradient of some scalar with respect to this tensor
   * (same shape): the vector-Jacobian product, accumulated into the leaves' gradients.
   */
  public void backward(Tensor gradient) {
    handle.backward(gradient.handle, new BoolOptional(), false, new TensorArrayRefOptional());
  }

  // ---------------------------------------------------------------- in place (optimizer updates, init)

  /** {@code this += alpha * other}, in place. */
  public Tensor add_(Tensor other, double alpha) {
    handle.add_(other.handle, new Scalar(alpha));
    return this;
  }

  /** {@code this *= value}, in place. */
  public Tensor mul_(double value) {
    handle.mul_(new Scalar(value));
    return this;
  }

  public Tensor mul_(Tensor other) {
    handle.mul_(other.handle);
    return this;
  }

  /** {@code this += value * t1 * t2}, in place. */
  public Tensor addcmul_(Tensor t1, Tensor t2, double value) {
    handle.addcmul_(t1.handle, t2.handle, new Scalar(value));
    return this;
  }

  /** {@code this += value * t1 / t2}, in place. */
  public Tensor addcdiv_(Tensor t1, Tensor t2, double value) {
    handle.addcdiv_(t1.handle, t2.handle, new Scalar(value));
    return this;
  }

  public Tensor zero_() {
    handle.zero_();
    return this;
  }

  /** Fills with samples of U(low, high) from libtorch's seeded generator, in place. */
  public Tensor uniform_(double low, double high) {
    handle.uniform_(low, high, new org.bytedeco.pytorch.GeneratorOptional());
    return this;
  }

  /** Fills with samples of N(mean, std²), in place. */
  public Tensor normal_(double mean, double std) {
    handle.normal_(mean, std, new org.bytedeco.pytorch.GeneratorOptional());
    return this;
  }

  /** Drops the accumulated gradient (the next backward starts from none). */
  public void clearGrad() {
    handle.mutable_grad().reset();
  }

  /** Euclidean norm of all elements, as a scalar tensor. */
  public Tensor norm() {
    return new Tensor(torch.norm(handle));
  }

  /** Euclidean norms along {@code dim}, which is dropped. */
  public Tensor norm(long dim) {
    return new Tensor(torch.linalg_vector_norm(handle, new Scalar(2.0), new long[] {dim}, false, new ScalarTypeOptional()));
  }

  /** Values gathered along {@code dim} at {@code index} ({@code torch.gather}). */
  public Tensor gather(long dim, Tensor index) {
    return new Tensor(handle.gather(dim, index.handle));
  }

  /** The inverse of {@link #gather}, adding: {@code this[i][index[i][j]] += source[i][j]} for dim 1, in place. */
  public Tensor scatterAdd_(long dim, Tensor index, Tensor source) {
    handle.scatter_add_(dim, index.handle, source.handle);
    return this;
  }

  /** Sorted values and their original indices along {@code dim}: {values, indices}. */
  public Tensor[] sort(long dim, boolean descending) {
    org.bytedeco.pytorch.T_TensorTensor_T r = handle.sort(dim, descending);
    return new Tensor[] {new Tensor(r.get0()), new Tensor(r.get1())};
  }

  /**
   * Reduced singular value decomposition of this [m, n] matrix: {U [m, k], S [k], Vh [k, n]} with
   * k = min(m, n) and {@code this = U diag(S) Vh} ({@code torch.linalg.svd(full_matrices=False)}).
   */
  public Tensor[] svd() {
    org.bytedeco.pytorch.T_TensorTensorTensor_T r =
        torch.linalg_svd(handle, false, new org.bytedeco.pytorch.StringViewOptional());
    return new Tensor[] {new Tensor(r.get0()), new Tensor(r.get1()), new Tensor(r.get2())};
  }

  /** A diagonal matrix with this vector on its diagonal. */
  public Tensor diag() {
    return new Tensor(torch.diag(handle));
  }

  /** {@code n} samples per row of this [B, V] probability matrix ({@code torch.multinomial}). */
  public Tensor multinomial(long n) {
    return new Tensor(torch.multinomial(handle, n));
  }

  // ---------------------------------------------------------------- reading values

  /** All elements as float32, row-major. */
  public float[] toFloatArray() {
    org.bytedeco.pytorch.Tensor t = handle.detach().to(torch.ScalarType.Float).contiguous();
    float[] out = new float[(int) t.numel()];
    t.data_ptr_float().get(out);
    return out;
  }

  /** All elements as int64, row-major. */
  public long[] toLongArray() {
    org.bytedeco.pytorch.Tensor t = handle.detach().to(torch.ScalarType.Long).contiguous();
    long[] out = new long[(int) t.numel()];
    t.data_ptr_long().get(out);
    return out;
  }

  /** The raw little-endian bytes of this tensor in its own dtype (for writing files). */
  public ByteBuffer toBytes() {
    org.bytedeco.pytorch.Tensor t = handle.detach().contiguous();
    long n = t.nbytes();
    ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(n)).order(ByteOrder.LITTLE_ENDIAN);
    new BytePointer(t.data_ptr()).capacity(n).asBuffer().order(ByteOrder.LITTLE_ENDIAN).get(out.array());
    return out;
  }

  /** The single value of a one-element tensor. */
  public double item() {
    return handle.item_double();
  }

  /**
   * How many times this tensor's data has been changed in place (libtorch's version counter, shared
   * with its views): equal versions of the same tensor mean equal contents.
   */
  public long version() {
    return handle._version();
  }

  /**
   * Makes this tensor outlive every {@link Scope} open now: it is freed by {@link #close()} or
   * when garbage-collected. For long-lived state such as weights and caches.
   */
  public Tensor retain() {
    handle.retainReference();
    return this;
  }

  /**
   * Releases this tensor's reference to its native storage now (views of it keep the storage
   * alive). The tensor must not be used afterwards. Safe inside a scope.
   */
  @Override
  public void close() {
    handle.deallocate();
  }

  @Override
  public String toString() {
    return "Tensor" + Arrays.toString(shape()) + " " + dtype();
  }

  // ---------------------------------------------------------------- helpers

  private static void checkNumel(int length, long[] shape) {
    if (checkedNumel(shape) != length) {
      throw new IllegalArgumentException(
          "shape " + Arrays.toString(shape) + " needs " + checkedNumel(shape) + " values, got " + length);
    }
  }

  static long checkedNumel(long[] shape) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
      }
      n = Math.multiplyExact(n, d);
    }
    return n;
  }
}
