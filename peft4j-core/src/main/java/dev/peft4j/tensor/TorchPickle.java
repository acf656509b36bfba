package dev.peft4j.tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.ByteVector;
import org.bytedeco.pytorch.GenericDict;
import org.bytedeco.pytorch.GenericDictEntryRef;
import org.bytedeco.pytorch.GenericDictIterator;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.global.torch;

/**
 * A state dict written by PyTorch's {@code torch.save} (the zip format, PyTorch 1.6 and later), read
 * with libtorch's own unpickler ({@code torch::pickle_load}). That unpickler knows only PyTorch's
 * types (tensors, storages, dicts, lists, strings, numbers): a pickle that names any other Python
 * global — the way a pickle runs code — is refused, so reading an untrusted file executes nothing.
 */
public final class TorchPickle {
  private TorchPickle() {}

  /**
   * The tensors of a {@code torch.save}d dict from names to tensors, in the file's order, each a
   * contiguous copy owned by the current {@link Scope}.
   *
   * @throws IllegalArgumentException naming what is wrong: not a zip-format {@code torch.save}
   *     file, truncated, a global the unpickler refuses, not a dict of names to tensors, or a dtype
   *     peft4j does not have
   */
  public static Map<String, Tensor> stateDict(byte[] bytes) {
    Engine.ensureLoaded();
    IValue loaded;
    try {
      loaded = torch.pickle_load(new ByteVector(bytes));
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(firstLine(e.getMessage()), e);
    }
    if (!loaded.isGenericDict()) {
      throw new IllegalArgumentException("holds a " + loaded.tagKind().getString() + ", not a dict of tensors");
    }
    GenericDict dict = loaded.toGenericDict();
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    for (GenericDictIterator it = dict.begin(); !it.equals(dict.end()); it.increment()) {
      GenericDictEntryRef entry = it.access();
      if (!entry.key().isString()) {
        throw new IllegalArgumentException("has a key that is not a string (" + entry.key().tagKind().getString() + ")");
      }
      String name = entry.key().toStringRef().getString();
      if (!entry.value().isTensor()) {
        throw new IllegalArgumentException("'" + name + "' is a " + entry.value().tagKind().getString() + ", not a tensor");
      }
      org.bytedeco.pytorch.Tensor value = entry.value().toTensor();
      try {
        ScalarTypes.toDType(value.scalar_type());
      } catch (EngineException e) {
        throw new IllegalArgumentException("'" + name + "': " + e.getMessage(), e);
      }
      tensors.put(name, new Tensor(value.detach().contiguous().clone()));
    }
    return tensors;
  }

  /** libtorch's messages go on with a C++ stack trace after the first line. */
  private static String firstLine(String message) {
    if (message == null) {
      return "unreadable";
    }
    int end = message.indexOf('\n');
    return end < 0 ? message : message.substring(0, end);
  }
}
