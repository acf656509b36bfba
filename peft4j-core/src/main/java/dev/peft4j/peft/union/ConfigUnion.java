package dev.peft4j.peft.union;

import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.TaskType;
import dev.peft4j.peft.bottleneck.BottleneckConfig;
import dev.peft4j.peft.bottleneck.BottleneckSpec;
import dev.peft4j.peft.prefix.PrefixTuningConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Several methods applied together as one adapter (AdapterHub's {@code ConfigUnion}): each part
 * attaches at its own hook site, they train and save together, and a batch row selects them all
 * at once. The MAM adapter of He et al. (2022, §4.4) is the union of prefix tuning on attention
 * and a scaled parallel adapter on the FFN ({@link #mam}).
 *
 * @param parts the methods, at least two; no two may attach at the same hook site with the same name
 * @param name {@code "MAM"} for He et al.'s combination, else {@code "UNION"}; saved as {@code peft_type}
 */
public record ConfigUnion(List<PeftConfig> parts, String name) implements PeftConfig {
  public static final String UNION = "UNION";
  public static final String MAM = "MAM";

  public ConfigUnion {
    parts = List.copyOf(parts);
    if (parts.size() < 2) {
      throw new IllegalArgumentException("a config union needs at least two methods, got " + parts.size());
    }
    for (PeftConfig p : parts) {
      if (p instanceof ConfigUnion) {
        throw new IllegalArgumentException("config unions do not nest; list the methods directly");
      }
    }
    if (!name.equals(UNION) && !name.equals(MAM)) {
      throw new IllegalArgumentException("a config union is named UNION or MAM, got '" + name + "'");
    }
  }

  public static ConfigUnion of(PeftConfig... parts) {
    return new ConfigUnion(List.of(parts), UNION);
  }

  /**
   * He et al.'s MAM adapter: prefix tuning with {@code prefixTokens} virtual tokens in every
   * layer's attention, plus a parallel adapter of width {@code ffnBottleneck} on every FFN whose
   * output is scaled by {@code scaling} (the paper: 30 prefix tokens, bottleneck 512, s = 4).
   */
  public static ConfigUnion mam(int prefixTokens, int ffnBottleneck, double scaling) {
    PrefixTuningConfig prefix = PrefixTuningConfig.builder().numVirtualTokens(prefixTokens).build();
    BottleneckConfig parallel = BottleneckConfig.of(BottleneckSpec.scaledParallel(scaling).bottleneckSize(ffnBottleneck).build());
    return new ConfigUnion(List.of(prefix, parallel), MAM);
  }

  /** This union with each part recording the base model. */
  public ConfigUnion withParts(List<PeftConfig> newParts) {
    return new ConfigUnion(newParts, name);
  }

  @Override
  public String peftType() {
    return name;
  }

  @Override
  public TaskType taskType() {
    return parts.get(0).taskType();
  }

  @Override
  public String baseModelNameOrPath() {
    return parts.get(0).baseModelNameOrPath();
  }

  /** The parts' virtual positions, one block after another. */
  @Override
  public int virtualPositions() {
    return parts.stream().mapToInt(PeftConfig::virtualPositions).sum();
  }

  /** The union of the parts' modules_to_save, or null if none has any. */
  @Override
  public List<String> modulesToSave() {
    List<String> all = new ArrayList<>();
    parts.forEach(p -> {
      if (p.modulesToSave() != null) {
        all.addAll(p.modulesToSave());
      }
    });
    return all.isEmpty() ? null : all;
  }

  /** {@code {"peft_type": "MAM"|"UNION", "configs": [each part's adapter_config], ...}} (peft4j's own format). */
  @Override
  public Map<String, Object> toJsonMap() {
    Map<String, Object> m = new TreeMap<>();
    m.put("peft_type", name);
    m.put("task_type", taskType() == null ? null : taskType().name());
    m.put("base_model_name_or_path", baseModelNameOrPath());
    m.put("configs", parts.stream().map(PeftConfig::toJsonMap).toList());
    return m;
  }
}
