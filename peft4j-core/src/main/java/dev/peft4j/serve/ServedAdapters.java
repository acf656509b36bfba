package dev.peft4j.serve;

import dev.peft4j.io.ModelFormatException;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.peft.AdapterFormat;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.peft.lora.LoraConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;

/**
 * The adapters a server offers, on one frozen base. Loading, unloading and running a batch
 * happen on the scheduler thread; {@link #resolve} and {@link #modelIds} read an immutable
 * snapshot and may be called from any thread.
 *
 * <p>An unloaded adapter disappears from the snapshot at once (new requests for it get 404);
 * it is detached from the model only when no running row uses it any more.
 */
final class ServedAdapters {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");

  private final PretrainedModel base;
  private final String baseName;
  private PeftModel peft; // null until the first adapter is loaded
  private volatile Map<String, Integer> served = Map.of(); // name → virtual positions, in load order
  private final Map<String, CompletableFuture<Void>> removing = new LinkedHashMap<>();

  ServedAdapters(PretrainedModel base, String baseName) {
    this.base = base;
    this.baseName = baseName;
  }

  String baseName() {
    return baseName;
  }

  /** The model ids clients may ask for: the base model's name, then the adapters. */
  List<String> modelIds() {
    List<String> ids = new ArrayList<>();
    ids.add(baseName);
    ids.addAll(served.keySet());
    return ids;
  }

  /** Adapters served now. */
  List<String> adapterNames() {
    return List.copyOf(served.keySet());
  }

  /**
   * The positions {@code adapter} (as from {@link #resolve}) puts in front of a request's tokens
   * (prefix, virtual tokens), which count against the context length; 0 for the base.
   */
  int virtualPositions(String adapter) {
    return served.getOrDefault(adapter, 0);
  }

  /**
   * The adapter a request's {@code model} selects: {@link PeftModel#BASE} for the base model's
   * name or "base".
   *
   * @throws ApiException 404 if it is not served
   */
  String resolve(String model) {
    if (model.equals(baseName) || model.equals(PeftModel.BASE)) {
      return PeftModel.BASE;
    }
    if (!served.containsKey(model)) {
      throw ApiException.modelNotFound(model, modelIds());
    }
    return model;
  }

  /** Whether {@code adapter} (as from {@link #resolve}) can still be run. */
  boolean runnable(String adapter) {
    return adapter.equals(PeftModel.BASE) || served.containsKey(adapter);
  }

  /**
   * Loads the adapter in {@code dir} as {@code name}. Scheduler thread only.
   *
   * @throws ApiException 400 for an invalid name or an adapter that cannot be mixed per row
   *     (modules_to_save, DoRA), 409 for a name already in use
   * @throws IOException if the files are missing, malformed or do not fit the base model
   */
  void load(String name, Path dir) throws IOException {
    if (!NAME.matcher(name).matches()) {
      throw ApiException.badRequest("The adapter name '" + name
          + "' must be 1-64 letters, digits, '_' or '-', starting with a letter or digit", "name");
    }
    if (name.equals(baseName) || name.equals(PeftModel.BASE) || served.containsKey(name) || removing.containsKey(name)) {
      throw new ApiException(409, "invalid_request_error", "The name '" + name + "' is already in use", "name",
          "name_taken");
    }
    AdapterFormat.Saved saved = AdapterFormat.read(dir);
    List<String> modulesToSave = saved.config().modulesToSave(); // may be null
    if (modulesToSave != null && !modulesToSave.isEmpty()) {
      throw ApiException.badRequest("The adapter in " + dir + " has modules_to_save "
          + modulesToSave + ", which cannot be mixed per row in a batch", "path");
    }
    if (saved.config() instanceof LoraConfig lora && lora.useDora()) {
      throw ApiException.badRequest("The adapter in " + dir + " is a DoRA adapter, which cannot be mixed per row"
          + " in a batch (merge it into the base model to serve it)", "path");
    }
    if (peft == null) {
      peft = firstAdapter(name, dir, saved);
    } else {
      peft.loadAdapter(dir, name);
    }
    Map<String, Integer> names = new LinkedHashMap<>(served);
    names.put(name, saved.config().virtualPositions());
    served = Collections.unmodifiableMap(names);
  }

  /**
   * The first adapter creates the PeftModel. {@link PeftModel#load} would leave a half-attached
   * adapter on the base if its tensors do not fit; wrapping with the config and then loading
   * (which cleans up after itself) does not.
   */
  private PeftModel firstAdapter(String name, Path dir, AdapterFormat.Saved saved) throws IOException {
    if (name.equals(PeftModel.DEFAULT_ADAPTER)) {
      return PeftModel.load(base, dir);
    }
    PeftModel model;
    try {
      model = Peft.wrap(base, saved.config());
    } catch (IllegalArgumentException e) {
      throw new ModelFormatException("adapter in " + dir + " does not fit " + base.architecture()
          + ": " + e.getMessage(), e);
    }
    try {
      model.loadAdapter(dir, name);
    } finally {
      model.deleteAdapter(PeftModel.DEFAULT_ADAPTER);
    }
    return model;
  }

  /**
   * Stops serving {@code name}; the returned future completes once it is detached
   * ({@link #detachUnused}). Scheduler thread only.
   *
   * @throws ApiException 404 if it is not served
   */
  CompletableFuture<Void> unload(String name) {
    if (!served.containsKey(name)) {
      throw ApiException.notFound("no adapter named '" + name + "' is served; served: " + served.keySet());
    }
    Map<String, Integer> names = new LinkedHashMap<>(served);
    names.remove(name);
    served = Collections.unmodifiableMap(names);
    CompletableFuture<Void> done = new CompletableFuture<>();
    removing.put(name, done);
    return done;
  }

  /** Detaches unloaded adapters that no row in {@code inUse} needs any more. Scheduler thread only. */
  void detachUnused(Set<String> inUse) {
    removing.entrySet().removeIf(e -> {
      if (inUse.contains(e.getKey())) {
        return false;
      }
      try {
        peft.deleteAdapter(e.getKey());
        e.getValue().complete(null);
      } catch (RuntimeException failure) {
        e.getValue().completeExceptionally(failure);
      }
      return true;
    });
  }

  /**
   * Runs each row of the next forward passes with its own adapter until closed; scheduler thread
   * only. Without any adapter loaded there is nothing to switch.
   */
  RowAdapters perRow(List<String> rowAdapters) {
    if (peft == null) {
      return () -> {};
    }
    return peft.perRowAdapters(rowAdapters)::close;
  }

  /** Restores the adapters' previous state when closed. */
  interface RowAdapters extends AutoCloseable {
    @Override
    void close();
  }

  /** Completes pending unloads exceptionally (the server stopped). */
  void abandonUnloads() {
    removing.values().forEach(f -> f.completeExceptionally(ApiException.shuttingDown()));
    removing.clear();
  }
}
