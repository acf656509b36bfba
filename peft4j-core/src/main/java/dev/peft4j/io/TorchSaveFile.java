package dev.peft4j.io;

import java.io.EOFException;
import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A state dict written by {@code torch.save} (the zip format of PyTorch 1.6 and later), such as a
 * model's {@code pytorch_model.bin} or an adapter's {@code adapter_model.bin}, read without running
 * anything and without copying: the archive's {@code data.pkl} is read by a restricted unpickler
 * ({@link StateDictPickle}, which accepts no Python global but torch's tensor rebuilders and
 * OrderedDict), and each tensor's bytes are a range of its storage's archive entry, which
 * {@code torch.save} writes uncompressed — so tensors map like a safetensors file's.
 *
 * <p>Layout: a zip archive (zip64 records as PyTorch writes them) with {@code <name>/data.pkl}
 * and one entry {@code <name>/data/<key>} per storage. Tensors must be contiguous views of their
 * storage (what {@code state_dict()} holds; views such as a row of a matrix are fine). Anything else
 * — the legacy pre-1.6 format, a compressed or missing entry, a truncated or damaged archive, a
 * refused global, a storage peft4j has no dtype for, a value that is not a tensor — is a
 * {@link ModelFormatException} naming the file.
 */
public final class TorchSaveFile extends TensorFile {
  private static final long MAX_PICKLE_BYTES = 100L << 20;
  private static final int EOCD = 0x06054b50;
  private static final int ZIP64_LOCATOR = 0x07064b50;
  private static final int ZIP64_EOCD = 0x06064b50;
  private static final int CENTRAL_ENTRY = 0x02014b50;
  private static final int LOCAL_HEADER = 0x04034b50;
  private static final long UNSET32 = 0xffffffffL;

  private TorchSaveFile(Path path, FileChannel channel, long fileSize, List<TensorInfo> tensors) {
    super(path, channel, 0, fileSize, tensors);
  }

  /** An archive entry's stored bytes: [offset, offset + size) of the file. */
  private record Entry(long offset, long size) {}

  /**
   * Opens {@code path} and checks the archive, the pickle and every tensor's place before mapping
   * anything.
   *
   * @throws ModelFormatException {@code "<path> is not a state dict written by torch.save: <why>"}
   * @throws IOException if the file cannot be read
   */
  public static TorchSaveFile open(Path path) throws IOException {
    FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
    try {
      long size = channel.size();
      Map<String, Entry> entries = readDirectory(channel, size);
      String pickleName = entries.keySet().stream().filter(n -> n.endsWith("/data.pkl") || n.equals("data.pkl"))
          .findFirst().orElseThrow(() -> new IllegalArgumentException("the archive has no data.pkl"));
      String prefix = pickleName.substring(0, pickleName.length() - "data.pkl".length());
      Entry pickle = entries.get(pickleName);
      if (pickle.size() > MAX_PICKLE_BYTES) {
        throw new IllegalArgumentException("data.pkl is " + pickle.size() + " bytes, over the limit of " + MAX_PICKLE_BYTES);
      }
      List<TensorInfo> tensors = new ArrayList<>();
      StateDictPickle.stateDict(readFully(channel, pickle.offset(), (int) pickle.size())).forEach((name, t) ->
          tensors.add(place(name, t, entries.get(prefix + "data/" + t.storage().key()))));
      return new TorchSaveFile(path, channel, size, tensors);
    } catch (IllegalArgumentException | BufferUnderflowException | IndexOutOfBoundsException | EOFException e) {
      closeAfter(channel, e);
      throw new ModelFormatException(path + " is not a state dict written by torch.save: " + e.getMessage(), e);
    } catch (IOException | RuntimeException | Error e) {
      closeAfter(channel, e);
      throw e;
    }
  }

  /** Where tensor {@code name}'s bytes are in the file, checked against its storage's entry. */
  private static TensorInfo place(String name, StateDictPickle.StoredTensor t, Entry storage) {
    StateDictPickle.Storage s = t.storage();
    if (storage == null) {
      throw new IllegalArgumentException("'" + name + "': its storage data/" + s.key() + " is not in the archive");
    }
    int bytes = s.dtype().byteSize();
    if (storage.size() != s.numel() * bytes) {
      throw new IllegalArgumentException("'" + name + "': storage data/" + s.key() + " has " + storage.size()
          + " bytes, not the " + s.numel() + " × " + bytes + " its pickle states");
    }
    if (!contiguous(t.shape(), t.stride())) {
      throw new IllegalArgumentException("'" + name + "' is not contiguous (shape " + Arrays.toString(t.shape())
          + ", stride " + Arrays.toString(t.stride()) + "); save the .contiguous() tensors");
    }
    long begin = storage.offset() + t.offset() * bytes;
    long end = begin + TensorInfo.numelOf(t.shape()) * bytes;
    if (t.offset() < 0 || end > storage.offset() + storage.size()) {
      throw new IllegalArgumentException("'" + name + "' reaches past its storage data/" + s.key());
    }
    return new TensorInfo(name, s.dtype(), t.shape(), begin, end);
  }

  /** Whether {@code stride} is the row-major stride of {@code shape} (dimensions of size 1 may have any). */
  private static boolean contiguous(long[] shape, long[] stride) {
    if (shape.length != stride.length) {
      return false;
    }
    long expected = 1;
    for (int i = shape.length - 1; i >= 0; i--) {
      if (shape[i] != 1 && stride[i] != expected) {
        return false;
      }
      expected *= shape[i];
    }
    return true;
  }

  /** The archive's entries by name, from its central directory (zip64 when PyTorch wrote it so). */
  private static Map<String, Entry> readDirectory(FileChannel channel, long size) throws IOException {
    long eocd = findEndOfDirectory(channel, size);
    ByteBuffer end = readFully(channel, eocd, 22);
    long count = end.getShort(10) & 0xffff;
    long directorySize = end.getInt(12) & UNSET32;
    long directoryOffset = end.getInt(16) & UNSET32;
    if (eocd >= 20 && readFully(channel, eocd - 20, 4).getInt(0) == ZIP64_LOCATOR) {
      long zip64 = readFully(channel, eocd - 20, 20).getLong(8);
      ByteBuffer record = readFully(channel, zip64, 56);
      if (record.getInt(0) != ZIP64_EOCD) {
        throw new IllegalArgumentException("its zip64 end-of-directory record is damaged");
      }
      count = record.getLong(32);
      directorySize = record.getLong(40);
      directoryOffset = record.getLong(48);
    }
    if (directoryOffset < 0 || directorySize < 0 || directoryOffset > size - directorySize
        || directorySize > Integer.MAX_VALUE || count > directorySize / 46) {
      throw new IllegalArgumentException("its zip central directory lies outside the file (truncated?)");
    }
    ByteBuffer directory = readFully(channel, directoryOffset, (int) directorySize);
    Map<String, Entry> entries = new HashMap<>();
    for (long i = 0; i < count; i++) {
      int at = directory.position();
      if (directory.getInt(at) != CENTRAL_ENTRY) {
        throw new IllegalArgumentException("its zip central directory is damaged at entry " + i);
      }
      int method = directory.getShort(at + 10) & 0xffff;
      long compressed = directory.getInt(at + 20) & UNSET32;
      long uncompressed = directory.getInt(at + 24) & UNSET32;
      int nameLength = directory.getShort(at + 28) & 0xffff;
      int extraLength = directory.getShort(at + 30) & 0xffff;
      int commentLength = directory.getShort(at + 32) & 0xffff;
      long localHeader = directory.getInt(at + 42) & UNSET32;
      byte[] nameBytes = new byte[nameLength];
      directory.position(at + 46);
      directory.get(nameBytes);
      String name = new String(nameBytes, StandardCharsets.UTF_8);
      // zip64 extended information: the 64-bit values of the fields set to 0xffffffff, in this order
      ByteBuffer extra = directory.slice(at + 46 + nameLength, extraLength).order(ByteOrder.LITTLE_ENDIAN);
      while (extra.remaining() >= 4) {
        int id = extra.getShort() & 0xffff;
        int length = extra.getShort() & 0xffff;
        ByteBuffer field = extra.slice(extra.position(), length).order(ByteOrder.LITTLE_ENDIAN);
        extra.position(extra.position() + length);
        if (id == 0x0001) {
          uncompressed = uncompressed == UNSET32 ? field.getLong() : uncompressed;
          compressed = compressed == UNSET32 ? field.getLong() : compressed;
          localHeader = localHeader == UNSET32 ? field.getLong() : localHeader;
        }
      }
      directory.position(at + 46 + nameLength + extraLength + commentLength);
      if (method != 0 || compressed != uncompressed) {
        throw new IllegalArgumentException("its entry " + name + " is compressed; torch.save stores entries as they are");
      }
      entries.put(name, new Entry(dataOffset(channel, size, name, localHeader), uncompressed));
    }
    return entries;
  }

  /** Where entry {@code name}'s bytes start: after its local header, whose name and extra field lengths differ from the directory's. */
  private static long dataOffset(FileChannel channel, long size, String name, long localHeader) throws IOException {
    if (localHeader < 0 || localHeader > size - 30) {
      throw new IllegalArgumentException("its entry " + name + " lies outside the file (truncated?)");
    }
    ByteBuffer header = readFully(channel, localHeader, 30);
    if (header.getInt(0) != LOCAL_HEADER) {
      throw new IllegalArgumentException("its entry " + name + " is damaged (no local header at byte " + localHeader + ")");
    }
    return localHeader + 30 + (header.getShort(26) & 0xffff) + (header.getShort(28) & 0xffff);
  }

  /** The end-of-central-directory record: the last 22 bytes, or earlier when the archive has a comment. */
  private static long findEndOfDirectory(FileChannel channel, long size) throws IOException {
    int tail = (int) Math.min(size, 22 + 0xffff);
    if (tail >= 22) {
      ByteBuffer end = readFully(channel, size - tail, tail);
      for (int i = tail - 22; i >= 0; i--) {
        if (end.getInt(i) == EOCD) {
          return size - tail + i;
        }
      }
    }
    throw new IllegalArgumentException("it is not a zip archive (torch.save's format since PyTorch 1.6; the legacy"
        + " format is not read) or it is truncated");
  }

}
