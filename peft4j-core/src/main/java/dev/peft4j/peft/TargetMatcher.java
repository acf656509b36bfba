package dev.peft4j.peft;

import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Decides which modules a method targets, with Hugging Face PEFT's rules
 * ({@code BaseTuner.check_target_module_exists}): a string is a regular expression that must
 * match the whole module name; a list entry matches the exact name or a {@code .suffix} of it.
 * {@code layers_to_transform} keeps only modules inside the listed layer indices.
 */
public final class TargetMatcher {
  /** PEFT's {@code COMMON_LAYERS_PATTERN}: where layer indices sit in module names. */
  private static final List<String> LAYER_CONTAINERS = List.of("layers", "h", "block", "blocks", "layer");

  private TargetMatcher() {}

  /** Whether {@code moduleName} is named by {@code targets} (a list of names or a regex). */
  public static boolean matches(ModuleSelector targets, String moduleName) {
    if (targets instanceof ModuleSelector.Regex) {
      return ((ModuleSelector.Regex) targets).pattern().matcher(moduleName).matches();
    }
    if (targets instanceof ModuleSelector.Names) {
      for (String t : ((ModuleSelector.Names) targets).names()) {
        if (moduleName.equals(t) || moduleName.endsWith("." + t)) {
          return true;
        }
      }
    }
    return false;
  }

  /** The layer index in a name such as {@code model.layers.3.self_attn.q_proj}, if any. */
  public static OptionalInt layerIndex(String moduleName, List<String> layersPattern) {
    List<String> containers = layersPattern == null || layersPattern.isEmpty() ? LAYER_CONTAINERS : layersPattern;
    for (String container : containers) {
      Matcher m = Pattern.compile("(?:^|.*\\.)" + Pattern.quote(container) + "\\.(\\d+)(?:\\.|$).*").matcher(moduleName);
      if (m.matches()) {
        return OptionalInt.of(Integer.parseInt(m.group(1)));
      }
    }
    return OptionalInt.empty();
  }

  /**
   * Whether {@code moduleName} lies in one of {@code layersToTransform} (PEFT's
   * {@code layers_to_transform}, found by {@link #layerIndex}); every module does when it is null.
   */
  public static boolean inLayers(String moduleName, List<Integer> layersToTransform, List<String> layersPattern) {
    if (layersToTransform == null) {
      return true;
    }
    OptionalInt layer = layerIndex(moduleName, layersPattern);
    return layer.isPresent() && layersToTransform.contains(layer.getAsInt());
  }

  /** {@code key} of a rank/alpha pattern matches like PEFT: regex {@code (.*\.)?key$} against the name. */
  public static boolean patternKeyMatches(String key, String moduleName) {
    return Pattern.compile("(.*\\.)?" + key + "$").matcher(moduleName).matches();
  }

  /** The first of {@code keys} (in order) that matches, as PEFT's {@code get_pattern_key}. */
  public static Optional<String> firstMatchingKey(Iterable<String> keys, String moduleName) {
    for (String key : keys) {
      if (patternKeyMatches(key, moduleName)) {
        return Optional.of(key);
      }
    }
    return Optional.empty();
  }
}
