package dev.peft4j.tensor;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;

/**
 * Frees every native object created while it is open, deterministically, when it closes.
 * Every forward pass, training step and request runs inside one:
 *
 * <pre>{@code
 * try (Scope scope = Scope.open()) {
 *   Tensor logits = model.forward(ids);
 *   return scope.keep(logits);   // survives; everything else is freed now
 * }
 * }</pre>
 *
 * <p>A kept tensor moves to the enclosing scope if there is one, otherwise it is owned by
 * its Java object (freed when closed or garbage-collected). Scopes are per thread and nest.
 * Long-lived tensors (weights, caches) use {@link Tensor#retain()} instead.
 */
public final class Scope implements AutoCloseable {
  private final PointerScope pointers = new PointerScope();
  private final List<Pointer> kept = new ArrayList<>();

  private Scope() {}

  public static Scope open() {
    Engine.ensureLoaded();
    return new Scope();
  }

  /** Keeps {@code tensor} alive past this scope; returns it for chaining. */
  public Tensor keep(Tensor tensor) {
    kept.add(tensor.handle());
    return tensor;
  }

  @Override
  public void close() {
    for (Pointer p : kept) {
      p.retainReference();
    }
    pointers.close();
    PointerScope outer = PointerScope.getInnerScope();
    if (outer != null) {
      for (Pointer p : kept) {
        outer.attach(p);      // the outer scope takes its own reference ...
        p.releaseReference(); // ... and ours, taken above, is returned
      }
    } // else the reference taken above is the tensor's own, released by close() or the GC
  }
}
