package dev.peft4j.io;

import dev.peft4j.tensor.MappedFile;
import dev.peft4j.tensor.Tensor;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A weights file opened for reading whose tensors are byte ranges of the file — a safetensors file
 * ({@link SafeTensorsFile}) or a {@code torch.save} archive ({@link TorchSaveFile}) — read without
 * copying: as a Java buffer ({@link #data}) or as a libtorch tensor sharing a copy-on-write mapping
 * of the file ({@link #share}; {@link #copy} gives one that owns its memory).
 *
 * <p>Instances are thread-safe. Buffers returned by {@link #data} stay valid after {@link #close}
 * (the mapping lives until the buffer is garbage-collected), and so do tensors returned by
 * {@link #share} (the mapping lives until the last of them is freed); new calls after close
 * fail.
 */
public abstract sealed class TensorFile implements AutoCloseable permits SafeTensorsFile, TorchSaveFile {
  private final Path path;
  private final FileChannel channel;
  private final long dataStart;
  private final long fileSize;
  private final List<TensorInfo> tensors;
  private final Map<String, TensorInfo> byName;
  private volatile boolean closed;
  private MappedFile mapping; // the whole file for share/copy, mapped on first use; guarded by this

  /**
   * @param dataStart the file offset that the entries' {@link TensorInfo#begin()} and {@code end()} count from
   * @param tensors the entries, in the order {@link #tensors()} gives them
   */
  TensorFile(Path path, FileChannel channel, long dataStart, long fileSize, List<TensorInfo> tensors) {
    this.path = path;
    this.channel = channel;
    this.dataStart = dataStart;
    this.fileSize = fileSize;
    this.tensors = List.copyOf(tensors);
    Map<String, TensorInfo> index = new HashMap<>();
    for (TensorInfo t : tensors) {
      index.put(t.name(), t);
    }
    this.byName = index;
  }

  /** The file this was opened from. */
  public final Path path() {
    return path;
  }

  /** Every tensor's entry. */
  public final List<TensorInfo> tensors() {
    return tensors;
  }

  /** The entry of {@code name}, if the file has such a tensor. */
  public final Optional<TensorInfo> info(String name) {
    return Optional.ofNullable(byName.get(name));
  }

  /**
   * The bytes of tensor {@code name}: a read-only little-endian buffer memory-mapped from the
   * file (one mapping per call, no copy; files larger than 2 GiB work).
   *
   * @throws IllegalArgumentException if there is no such tensor
   * @throws IllegalStateException if this file is closed
   * @throws UnsupportedOperationException if the tensor alone exceeds 2 GiB, the limit of a
   *     {@link ByteBuffer}
   * @throws UncheckedIOException if mapping fails
   */
  public final ByteBuffer data(String name) {
    TensorInfo t = require(name);
    if (closed) {
      throw new IllegalStateException(path + ": closed");
    }
    long length = t.byteLength();
    if (length > Integer.MAX_VALUE) {
      throw new UnsupportedOperationException(path + ": tensor '" + name + "' is " + length
          + " bytes; a single ByteBuffer holds at most " + Integer.MAX_VALUE);
    }
    if (length == 0) {
      return ByteBuffer.allocate(0).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }
    try {
      return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + t.begin(), length)
          .order(ByteOrder.LITTLE_ENDIAN);
    } catch (ClosedChannelException e) {
      throw new IllegalStateException(path + ": closed", e);
    } catch (IOException e) {
      throw new UncheckedIOException(path + ": cannot map tensor '" + name + "'", e);
    }
  }

  /** Every tensor's dtype, shape and mapped bytes, by name in the order of {@link #tensors()}. */
  public final Map<String, TensorData> readAll() {
    Map<String, TensorData> out = new LinkedHashMap<>();
    tensors.forEach(t -> out.put(t.name(), read(t.name())));
    return out;
  }

  /**
   * Tensor {@code name}'s dtype, shape and mapped bytes together; same failures as
   * {@link #data}.
   */
  public final TensorData read(String name) {
    TensorInfo t = require(name);
    return new TensorData(t.dtype(), t.shape(), data(name));
  }

  /**
   * Tensor {@code name} in its stored dtype, sharing the file's copy-on-write mapping: no copy,
   * and the pages are read when first used (see {@link MappedFile}: in-place writes copy the
   * page and never reach the file; the mapping lives as long as the tensor). A tensor whose
   * bytes are not aligned to its element size in the file is copied instead, as by {@link #copy}.
   *
   * @throws IllegalArgumentException if there is no such tensor
   * @throws IllegalStateException if this file is closed
   * @throws dev.peft4j.tensor.EngineException if the file cannot be mapped (e.g. it was
   *     truncated after it was opened)
   */
  public final Tensor share(String name) {
    TensorInfo t = require(name);
    long offset = dataStart + t.begin();
    return MappedFile.aligned(offset, t.dtype())
        ? mapping().share(offset, t.dtype(), t.shape())
        : mapping().copy(offset, t.dtype(), t.shape());
  }

  /**
   * Tensor {@code name} in its stored dtype, copied out of the file's mapping into memory it
   * owns (one {@code memcpy}; no mapping stays behind). Same failures as {@link #share}.
   */
  public final Tensor copy(String name) {
    TensorInfo t = require(name);
    return mapping().copy(dataStart + t.begin(), t.dtype(), t.shape());
  }

  /** Closes the file; idempotent. Buffers and shared tensors already returned stay readable. */
  @Override
  public final void close() {
    closed = true;
    synchronized (this) {
      if (mapping != null) {
        mapping.close();
        mapping = null;
      }
    }
    try {
      channel.close();
    } catch (IOException e) {
      throw new UncheckedIOException(path + ": close failed", e);
    }
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "[" + path + ", " + tensors.size() + " tensors]";
  }

  private synchronized MappedFile mapping() {
    if (closed) {
      throw new IllegalStateException(path + ": closed");
    }
    if (mapping == null) {
      mapping = MappedFile.map(path, fileSize);
    }
    return mapping;
  }

  private TensorInfo require(String name) {
    TensorInfo t = byName.get(name);
    if (t == null) {
      throw new IllegalArgumentException(path + ": no tensor named '" + name + "'");
    }
    return t;
  }

  /**
   * {@code length} bytes of the file at {@code position}, little-endian, for parsing headers.
   *
   * @throws EOFException if the file ends first
   */
  static ByteBuffer readFully(FileChannel channel, long position, int length) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
    while (buffer.hasRemaining()) {
      if (channel.read(buffer, position + buffer.position()) < 0) {
        throw new EOFException("the file ends inside the " + length + " bytes at byte " + position + " (truncated?)");
      }
    }
    return buffer.flip();
  }

  /** Closes {@code channel} after {@code failure}, which keeps any error of the close as suppressed. */
  static void closeAfter(FileChannel channel, Throwable failure) {
    try {
      channel.close();
    } catch (IOException suppressed) {
      failure.addSuppressed(suppressed);
    }
  }
}
