package dev.peft4j.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads NumPy {@code .npy} files holding float32 arrays (format versions 1–3: the magic
 * {@code \x93NUMPY}, a version, a little-endian header length, a Python-literal header dict with
 * {@code descr}, {@code fortran_order} and {@code shape}, then the data).
 */
public final class Npy {
  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
  private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
  private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
  private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

  private Npy() {}

  /**
   * An array read from a file.
   *
   * @param shape the dimensions (empty for a scalar)
   * @param data the values in row-major order
   */
  public record FloatArray(long[] shape, float[] data) {}

  /**
   * @throws ModelFormatException if the file is not a .npy file, or holds anything but a
   *     C-ordered little-endian float32 array (the message names the dtype found)
   */
  public static FloatArray readFloat32(Path file) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < MAGIC.length; i++) {
      if (bytes.length <= i || bytes[i] != MAGIC[i]) {
        throw new ModelFormatException(file + " is not a .npy file (no \\x93NUMPY magic)");
      }
    }
    if (bytes.length < 10) {
      throw new ModelFormatException(file + ": truncated .npy header");
    }
    int major = bytes[6];
    long headerLength;
    int offset;
    if (major == 1) {
      headerLength = Short.toUnsignedInt(buf.getShort(8));
      offset = 10;
    } else if (major == 2 || major == 3) {
      if (bytes.length < 12) {
        throw new ModelFormatException(file + ": truncated .npy header");
      }
      headerLength = Integer.toUnsignedLong(buf.getInt(8));
      offset = 12;
    } else {
      throw new ModelFormatException(file + ": unsupported .npy version " + major);
    }
    if (offset + headerLength > bytes.length) {
      throw new ModelFormatException(file + ": header length " + headerLength + " runs past the end of the file");
    }
    String header = new String(bytes, offset, (int) headerLength, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    String descr = group(DESCR, header, file, "descr");
    if (!descr.equals("<f4") && !descr.equals("|f4")) {
      throw new ModelFormatException(file + " holds dtype '" + descr + "'; peft4j reads float32 ('<f4') .npy arrays"
          + " (save with array.astype(numpy.float32))");
    }
    if (group(FORTRAN, header, file, "fortran_order").equals("True")) {
      throw new ModelFormatException(file + " is in Fortran order; save a C-ordered array (numpy.ascontiguousarray)");
    }
    List<Long> dims = new ArrayList<>();
    for (String d : group(SHAPE, header, file, "shape").split(",")) {
      if (!d.isBlank()) {
        dims.add(Long.parseLong(d.trim()));
      }
    }
    long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
    long numel = 1;
    for (long d : shape) {
      numel = Math.multiplyExact(numel, d);
    }
    int dataStart = (int) (offset + headerLength);
    if (bytes.length - dataStart != numel * 4) {
      throw new ModelFormatException(file + ": shape " + java.util.Arrays.toString(shape) + " needs " + numel * 4
          + " data bytes but the file has " + (bytes.length - dataStart));
    }
    float[] data = new float[(int) numel];
    buf.position(dataStart);
    buf.asFloatBuffer().get(data);
    return new FloatArray(shape, data);
  }

  private static String group(Pattern p, String header, Path file, String key) throws ModelFormatException {
    Matcher m = p.matcher(header);
    if (!m.find()) {
      throw new ModelFormatException(file + ": the .npy header has no readable '" + key + "': " + header.trim());
    }
    return m.group(1);
  }
}
