package dev.peft4j.peft;

import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.InputEmbeddingSite;
import dev.peft4j.nn.KvSite;
import dev.peft4j.nn.Module;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * The hook sites a model exposes to the prompt family: its input-embedding site and the attention
 * K/V site of every layer, with the module path of each attention (Hugging Face's name, e.g.
 * {@code model.layers.3.self_attn}).
 *
 * @param input the input-embedding site, or null if the model has none
 * @param layers the K/V sites, in layer order
 * @param attentionPaths the module path of each layer's attention, aligned with {@code layers}
 */
public record HookSites(InputEmbeddingSite input, List<KvSite> layers, List<String> attentionPaths) {

  public static HookSites of(PretrainedModel model) {
    InputEmbeddingSite input = null;
    List<Map.Entry<String, KvSite>> found = new ArrayList<>();
    for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
      if (input == null && e.getValue() instanceof InputEmbeddingSite.Owner) {
        input = ((InputEmbeddingSite.Owner) e.getValue()).inputEmbeddingSite();
      }
      if (e.getValue() instanceof KvSite.Owner) {
        found.add(Map.entry(e.getKey(), ((KvSite.Owner) e.getValue()).kvSite()));
      }
    }
    found.sort(Comparator.comparingInt(e -> e.getValue().layer()));
    return new HookSites(input, found.stream().map(Map.Entry::getValue).toList(),
        found.stream().map(Map.Entry::getKey).toList());
  }

  /** The input-embedding site. @throws IllegalArgumentException naming {@code method} if there is none */
  public InputEmbeddingSite requireInput(PretrainedModel model, String method) {
    if (input == null) {
      throw new IllegalArgumentException(method + " needs an input-embedding site; " + model.architecture() + " has none");
    }
    return input;
  }

  /** The K/V sites. @throws IllegalArgumentException naming {@code method} if there are none */
  public List<KvSite> requireLayers(PretrainedModel model, String method) {
    if (layers.isEmpty()) {
      throw new IllegalArgumentException(method + " needs attention layers; " + model.architecture() + " has none");
    }
    return layers;
  }
}
