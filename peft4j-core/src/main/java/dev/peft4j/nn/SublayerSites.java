package dev.peft4j.nn;

import java.util.List;

/**
 * A transformer layer that exposes the outputs of its sublayers as hook sites; a tuner finds them
 * by the layer's path ({@code model.layers.3} → its attention and FFN sites).
 */
public interface SublayerSites {

  /** This layer's sites, each with a distinct {@link SublayerSite#name()}. */
  List<SublayerSite> sublayerSites();
}
