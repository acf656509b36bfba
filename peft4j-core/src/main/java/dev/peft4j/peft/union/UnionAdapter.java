package dev.peft4j.peft.union;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.TensorData;
import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.Adapter;
import dev.peft4j.peft.PeftConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/** The parts of a {@link ConfigUnion}, attached under one adapter name and acting as one adapter. */
public final class UnionAdapter implements Adapter {
  private final ConfigUnion config;
  private final List<Adapter> parts;

  /**
   * @throws IllegalArgumentException if two parts save a tensor under the same name
   */
  public UnionAdapter(ConfigUnion config, List<Adapter> parts) {
    this.config = config;
    this.parts = List.copyOf(parts);
    Map<String, Integer> owner = new LinkedHashMap<>();
    for (int i = 0; i < parts.size(); i++) {
      for (String name : parts.get(i).savedTensors().keySet()) {
        Integer previous = owner.put(name, i);
        if (previous != null) {
          throw new IllegalArgumentException("parts " + previous + " and " + i + " of the union both save '" + name + "'");
        }
      }
    }
  }

  public List<Adapter> parts() {
    return parts;
  }

  @Override
  public PeftConfig config() {
    return config;
  }

  @Override
  public List<String> targetedModules() {
    List<String> out = new ArrayList<>();
    parts.forEach(p -> out.addAll(p.targetedModules()));
    return out;
  }

  @Override
  public Map<String, Parameter> trainableParameters() {
    Map<String, Parameter> out = new LinkedHashMap<>();
    parts.forEach(p -> out.putAll(p.trainableParameters()));
    return out;
  }

  @Override
  public Map<String, Parameter> savedTensors() {
    Map<String, Parameter> out = new LinkedHashMap<>();
    parts.forEach(p -> out.putAll(p.savedTensors()));
    return out;
  }

  /** Hands each part its own tensors; names no part expects are an error listing them. */
  @Override
  public void load(Map<String, TensorData> tensors, String source) throws java.io.IOException {
    TreeSet<String> unexpected = new TreeSet<>(tensors.keySet());
    unexpected.removeAll(savedTensors().keySet());
    if (!unexpected.isEmpty()) {
      throw new ModelFormatException(source + " does not fit this " + config.name() + " adapter: unexpected " + unexpected);
    }
    for (Adapter part : parts) {
      Map<String, TensorData> own = new LinkedHashMap<>();
      part.savedTensors().keySet().forEach(k -> {
        if (tensors.containsKey(k)) {
          own.put(k, tensors.get(k));
        }
      });
      part.load(own, source);
    }
  }

  @Override
  public boolean mergeable() {
    return parts.stream().allMatch(Adapter::mergeable);
  }

  @Override
  public String whyNotMergeable() {
    return parts.stream().filter(p -> !p.mergeable()).findFirst()
        .map(p -> config.name() + " has a part that cannot be merged into the weights: " + p.whyNotMergeable())
        .orElse(config.name() + " can be merged");
  }

  @Override
  public void merge() {
    if (!mergeable()) {
      throw new UnsupportedOperationException(whyNotMergeable());
    }
    parts.forEach(Adapter::merge);
  }

  @Override
  public void unmerge() {
    for (int i = parts.size() - 1; i >= 0; i--) {
      parts.get(i).unmerge();
    }
  }

  @Override
  public boolean merged() {
    return parts.stream().anyMatch(Adapter::merged);
  }

  @Override
  public List<String> modulesTrainedInFull() {
    List<String> out = new ArrayList<>();
    parts.forEach(p -> out.addAll(p.modulesTrainedInFull()));
    return out;
  }

  @Override
  public void unload() {
    parts.forEach(Adapter::unload);
  }
}
