package dev.peft4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** The row operations of {@link KvCache} used by continuous batching: keep, append (left-padded), drop leading. */
class KvCacheRowsTest {

  /** A one-layer cache of {@code rows} rows and {@code length} positions; entry = 100·row + position + 1. */
  private static KvCache cache(int rows, int length, int base) {
    float[] values = new float[rows * length];
    for (int r = 0; r < rows; r++) {
      for (int t = 0; t < length; t++) {
        values[r * length + t] = base + 100 * r + t + 1;
      }
    }
    KvCache cache = new KvCache(1);
    try (Scope scope = Scope.open()) {
      Tensor kv = Tensor.of(values, rows, 1, length, 1); // [B, Hkv, T, D]
      cache.append(0, kv, kv.mul(-1.0));
    }
    return cache;
  }

  /** The keys as [rows][length], and a check that the values are their negation. */
  private static float[][] keys(KvCache cache) {
    try (Scope scope = Scope.open()) {
      Tensor[] kv = cache.append(0, Tensor.zeros(dev.peft4j.tensor.DType.F32, cache.rows(), 1, 0, 1),
          Tensor.zeros(dev.peft4j.tensor.DType.F32, cache.rows(), 1, 0, 1));
      float[] k = kv[0].toFloatArray();
      float[] v = kv[1].toFloatArray();
      int rows = (int) cache.rows();
      int length = (int) cache.length();
      float[][] out = new float[rows][length];
      for (int r = 0; r < rows; r++) {
        for (int t = 0; t < length; t++) {
          out[r][t] = k[r * length + t];
          assertThat(v[r * length + t]).isEqualTo(-out[r][t]);
        }
      }
      return out;
    }
  }

  @Test
  void appendRowsPadsTheShorterOnTheLeftAndKeepAndDropLeadingRemoveRowsAndColumns() {
    try (KvCache running = cache(2, 3, 0); KvCache joining = cache(1, 5, 1000)) {
      running.appendRows(joining);
      assertThat(joining.length()).as("emptied").isZero();
      assertThat(keys(running)).isDeepEqualTo(new float[][] {
          {0, 0, 1, 2, 3}, {0, 0, 101, 102, 103}, {1001, 1002, 1003, 1004, 1005}});
      running.keepRows(new long[] {1, 0});
      assertThat(keys(running)).isDeepEqualTo(new float[][] {{0, 0, 101, 102, 103}, {0, 0, 1, 2, 3}});
      running.dropLeading(2);
      assertThat(keys(running)).isDeepEqualTo(new float[][] {{101, 102, 103}, {1, 2, 3}});
      running.dropLeading(0);
      assertThat(running.length()).isEqualTo(3);
    }
  }

  /**
   * Virtual positions (prefix, virtual tokens) lead each row; appending aligns the virtual and the
   * real blocks separately, each padded on its left, and the row mask of the virtual block follows
   * the rows through append and keep; dropLeading cuts real positions only.
   */
  @Test
  void virtualPositionsStayAlignedThroughAppendKeepAndDropLeading() {
    try (KvCache running = cache(2, 3, 0); KvCache joining = cache(1, 5, 1000)) {
      running.setVirtual(1, Tensor.ofLongs(new long[] {1, 0}, 2, 1).ne(0)); // row 1 uses no virtual position
      joining.setVirtual(2, null);                                          // every row uses both
      running.appendRows(joining);
      assertThat(running.virtualLength()).isEqualTo(2);
      assertThat(running.realLength()).isEqualTo(3);
      assertThat(joining.length()).as("emptied").isZero();
      assertThat(joining.virtualLength()).isZero();
      // [virtual padding, virtual | real padding, real]
      assertThat(keys(running)).isDeepEqualTo(new float[][] {
          {0, 1, 0, 2, 3}, {0, 101, 0, 102, 103}, {1001, 1002, 1003, 1004, 1005}});
      assertThat(virtualMask(running)).isDeepEqualTo(new boolean[][] {{false, true}, {false, false}, {true, true}});

      running.keepRows(new long[] {2, 0});
      assertThat(keys(running)).isDeepEqualTo(new float[][] {{1001, 1002, 1003, 1004, 1005}, {0, 1, 0, 2, 3}});
      assertThat(virtualMask(running)).isDeepEqualTo(new boolean[][] {{true, true}, {false, true}});

      running.dropLeading(1);
      assertThat(keys(running)).isDeepEqualTo(new float[][] {{1001, 1002, 1004, 1005}, {0, 1, 2, 3}});
      assertThat(running.virtualLength()).isEqualTo(2);
      assertThat(running.realLength()).isEqualTo(2);
      assertThatThrownBy(() -> running.dropLeading(2)).hasMessageContaining("can drop 0 to 1 leading positions, not 2");
    }
  }

  @Test
  void rowsThatAllUseEqualVirtualPositionsNeedNoMask() {
    try (KvCache running = cache(1, 3, 0); KvCache joining = cache(1, 2, 1000); KvCache empty = new KvCache(1)) {
      running.setVirtual(1, null);
      joining.setVirtual(1, null);
      running.appendRows(joining);
      assertThat(keys(running)).isDeepEqualTo(new float[][] {{1, 2, 3}, {1001, 0, 1002}});
      assertThat(running.virtualMask()).isNull();

      empty.appendRows(running);
      assertThat(empty.virtualLength()).isEqualTo(1);
      assertThat(keys(empty)).isDeepEqualTo(new float[][] {{1, 2, 3}, {1001, 0, 1002}});
      assertThat(running.virtualLength()).isZero();
    }
  }

  /** The virtual block's row mask as [rows][virtualLength]. */
  private static boolean[][] virtualMask(KvCache cache) {
    long[] flat = cache.virtualMask().to(dev.peft4j.tensor.DType.I64).toLongArray();
    int v = (int) cache.virtualLength();
    boolean[][] out = new boolean[(int) cache.rows()][v];
    for (int i = 0; i < flat.length; i++) {
      out[i / v][i % v] = flat[i] != 0;
    }
    return out;
  }

  @Test
  void appendingToAnEmptyCacheTakesTheOthersTensors() {
    try (KvCache empty = new KvCache(1); KvCache other = cache(2, 2, 0)) {
      empty.appendRows(other);
      assertThat(keys(empty)).isDeepEqualTo(new float[][] {{1, 2}, {101, 102}});
      assertThat(other.rows()).isZero();
    }
  }

  @Test
  void badArgumentsAreRejectedAndLeaveTheCacheUnchanged() {
    try (KvCache c = cache(2, 3, 0); KvCache twoLayers = new KvCache(2)) {
      assertThatThrownBy(() -> c.keepRows(new long[0])).hasMessageContaining("at least one row");
      assertThatThrownBy(() -> c.keepRows(new long[] {0, 2})).hasMessageContaining("row 2 is outside [0, 2)");
      assertThatThrownBy(() -> c.dropLeading(3)).hasMessageContaining("can drop 0 to 2 leading positions, not 3");
      assertThatThrownBy(() -> c.appendRows(twoLayers)).hasMessageContaining("2 layers to one of 1");
      assertThatThrownBy(() -> c.appendRows(c)).hasMessageContaining("to itself");
      assertThat(keys(c)).isDeepEqualTo(new float[][] {{1, 2, 3}, {101, 102, 103}});
    }
  }
}
