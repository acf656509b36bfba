package dev.peft4j.peft.lora;

import dev.peft4j.nn.Projection;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The LoRA adapters of one mixed batch computed together: while open, every projection that
 * some row's LoRA adapts carries one {@link GatheredLoraDelta} for all rows, and the adapters'
 * own deltas stand aside. Closing restores them.
 */
public final class MixedLoraRows implements AutoCloseable {
  /** The child name of the gathered delta on each projection. */
  static final String DELTA_NAME = "lora_mixed_rows";

  private final Map<Projection, GatheredLoraDelta> gathered = new LinkedHashMap<>();
  private final List<LoraDelta> setAside = new ArrayList<>();

  private MixedLoraRows() {}

  /**
   * Whether gathering applies: at least two different LoRA adapters among the rows, all with the
   * same {@code lora_dropout} (the rows share one dropout draw) and none with {@code lora_bias}. Otherwise each adapter computes
   * its own rows ({@link dev.peft4j.peft.AdapterControl#forRows}).
   *
   * @param rowAdapters each row's adapter, null for rows without LoRA
   */
  public static boolean applies(List<LoraAdapter> rowAdapters) {
    List<LoraAdapter> distinct = rowAdapters.stream().filter(Objects::nonNull).distinct().toList();
    List<LoraDelta> deltas = distinct.stream().flatMap(a -> a.deltas().values().stream()).toList();
    return distinct.size() >= 2 && deltas.stream().mapToDouble(LoraDelta::dropout).distinct().count() <= 1
        && deltas.stream().allMatch(d -> d.loraBBias() == null);
  }

  /**
   * Installs the gathered deltas.
   *
   * @param rowAdapters each row's adapter, null for rows without LoRA
   */
  public static MixedLoraRows install(List<LoraAdapter> rowAdapters) {
    Map<Projection, List<LoraDelta>> byProjection = new LinkedHashMap<>();
    for (int row = 0; row < rowAdapters.size(); row++) {
      LoraAdapter adapter = rowAdapters.get(row);
      if (adapter == null) {
        continue;
      }
      for (LoraDelta d : adapter.deltas().values()) {
        byProjection.computeIfAbsent(d.host(), p -> new ArrayList<>(Collections.nCopies(rowAdapters.size(), null)))
            .set(row, d);
      }
    }
    MixedLoraRows mixed = new MixedLoraRows();
    byProjection.forEach((projection, rowDeltas) -> {
      mixed.gathered.put(projection, projection.attachDelta(DELTA_NAME, new GatheredLoraDelta(rowDeltas)));
      rowDeltas.stream().filter(Objects::nonNull).distinct().forEach(d -> {
        d.setGathered(true);
        mixed.setAside.add(d);
      });
    });
    return mixed;
  }

  @Override
  public void close() {
    gathered.forEach((projection, delta) -> {
      projection.detachDelta(DELTA_NAME);
      delta.release();
    });
    gathered.clear();
    setAside.forEach(d -> d.setGathered(false));
    setAside.clear();
  }
}
