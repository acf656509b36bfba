package dev.peft4j.io.hub;

import java.nio.file.Path;
import java.util.List;

/**
 * A model argument names neither a local directory nor a model that is cached (offline) or on
 * the Hub (HTTP 404). The message lists the repo id and every place looked at.
 */
public class ModelNotFoundException extends HubException {
  private static final long serialVersionUID = 1L;

  private final String model;
  private final transient List<Path> searched;

  public ModelNotFoundException(String model, List<Path> searched, String message) {
    super(message);
    this.model = model;
    this.searched = List.copyOf(searched);
  }

  /** The model argument or repo id that was not found. */
  public String model() {
    return model;
  }

  /** The local paths that were checked, in order (empty when the Hub answered 404). */
  public List<Path> searched() {
    return searched;
  }
}
