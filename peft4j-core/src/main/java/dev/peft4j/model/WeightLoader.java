package dev.peft4j.model;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.ModelWeights;
import dev.peft4j.io.TensorInfo;
import dev.peft4j.nn.Parameter;
import dev.peft4j.tensor.Device;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Fills a model's parameters from checkpoint tensors. Every name and shape is checked before
 * any tensor is read, so a bad checkpoint fails without leaving a half-loaded model. Weights
 * share the checkpoint's copy-on-write mapping unless {@link LoadOptions#mapWeights()} is off
 * or they need a conversion; the mapping then belongs to the weight tensors themselves (libtorch
 * reference-counts it), so it outlives the loader and is unmapped with the last weight.
 */
final class WeightLoader {
  private static final System.Logger LOG = System.getLogger(WeightLoader.class.getName());
  private static final int MAX_NAMES_IN_MESSAGE = 12;

  private WeightLoader() {}

  static void load(PretrainedModel model, ModelWeights weights, LoadOptions options)
      throws IOException {
    Map<String, Parameter> parameters = model.namedParameters();
    Map<String, TensorInfo> sources = new LinkedHashMap<>();
    List<String> unexpected = new ArrayList<>();
    for (String name : new TreeSet<>(weights.names())) {
      Optional<String> path = model.parameterPath(name);
      if (path.isEmpty()) {
        continue;
      }
      Parameter p = parameters.get(path.get());
      if (p == null) {
        unexpected.add(name);
        continue;
      }
      TensorInfo info = weights.info(name).orElseThrow();
      if (!Arrays.equals(info.shape(), p.shape())) {
        throw new ModelFormatException("tensor '" + name + "' in " + weights.fileOf(name) + " has shape "
            + Arrays.toString(info.shape()) + " but the config (" + model.architecture() + ") expects "
            + Arrays.toString(p.shape()));
      }
      if (!info.dtype().isFloatingPoint()) {
        throw new ModelFormatException("tensor '" + name + "' in " + weights.fileOf(name)
            + " has dtype " + info.dtype() + "; weights must be floating point");
      }
      if (sources.put(path.get(), info) != null) {
        throw new ModelFormatException("the checkpoint holds two tensors for parameter '" + path.get() + "'");
      }
    }
    List<String> missing = new ArrayList<>(parameters.keySet());
    missing.removeAll(sources.keySet());
    if (!missing.isEmpty()) {
      throw new ModelFormatException("checkpoint is missing " + missing.size() + " weight(s) of "
          + model.architecture() + ": " + firstNames(missing));
    }
    if (!unexpected.isEmpty()) {
      String message = "checkpoint has " + unexpected.size() + " tensor(s) " + model.architecture()
          + " does not use: " + firstNames(unexpected);
      if (options.strict()) {
        throw new ModelFormatException(message);
      }
      LOG.log(System.Logger.Level.WARNING, message);
    }
    for (Map.Entry<String, TensorInfo> e : sources.entrySet()) {
      TensorInfo info = e.getValue();
      boolean converts = info.dtype() != options.dtype() || options.device().kind() != Device.Kind.CPU;
      try (Scope scope = Scope.open()) { // frees the stored tensor when a conversion copied it
        // shared: the parameter uses the mapped bytes; a conversion reads them once and keeps
        // nothing mapped, so only an unconverted weight needs its own copy to drop the mapping
        Tensor stored = options.mapWeights() || converts
            ? weights.share(info.name()) : weights.copy(info.name());
        parameters.get(e.getKey()).set(stored.to(options.dtype()).to(options.device()));
      }
    }
  }

  private static String firstNames(List<String> names) {
    List<String> shown = names.subList(0, Math.min(names.size(), MAX_NAMES_IN_MESSAGE));
    return String.join(", ", shown) + (names.size() > shown.size() ? ", ..." : "");
  }
}
