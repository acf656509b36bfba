package dev.peft4j.io;

import dev.peft4j.tensor.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code data.pkl} of a {@code torch.save} archive, read by a restricted unpickler that knows
 * exactly what a state dict needs: dicts ({@code collections.OrderedDict}), lists, tuples, strings,
 * numbers, and tensors rebuilt by {@code torch._utils._rebuild_tensor_v2} (or
 * {@code _rebuild_parameter}) from storages named by persistent ids
 * {@code ('storage', torch.<Type>Storage, key, location, numel)}. No other Python global is
 * accepted, so a pickle cannot make the reader run anything: a pickle "runs code" by naming a global
 * (such as {@code builtins.eval}) and calling it. The tensors are descriptions — storage key, offset,
 * shape and stride — whose bytes {@link TorchSaveFile} finds in the archive.
 *
 * <p>Opcodes of pickle protocols 2 to 4, as {@code torch.save} writes them; anything else is an
 * error naming the opcode and its position.
 */
final class StateDictPickle {
  /** A tensor's storage: the archive entry {@code data/<key>} holding {@code numel} elements of {@code dtype}. */
  record Storage(String key, DType dtype, long numel) {}

  /** A tensor as {@code _rebuild_tensor_v2} describes it: a strided view of a storage, offsets in elements. */
  record StoredTensor(Storage storage, long offset, long[] shape, long[] stride) {}

  /** A Python tuple. */
  private record Tuple(List<Object> items) {}

  /** A Python global the pickle named (a class or function), allowed by {@link #ALLOWED}. */
  private record Global(String module, String name) {
    @Override
    public String toString() {
      return module + "." + name;
    }
  }

  private static final Global ORDERED_DICT = new Global("collections", "OrderedDict");
  private static final Global REBUILD_TENSOR = new Global("torch._utils", "_rebuild_tensor_v2");
  private static final Global REBUILD_PARAMETER = new Global("torch._utils", "_rebuild_parameter");
  /** torch's typed storage classes, which name the dtype of a persistent id's storage. */
  private static final Map<String, DType> STORAGE_TYPES = Map.of(
      "FloatStorage", DType.F32, "HalfStorage", DType.F16, "BFloat16Storage", DType.BF16,
      "DoubleStorage", DType.F64, "LongStorage", DType.I64, "IntStorage", DType.I32,
      "CharStorage", DType.I8, "ByteStorage", DType.U8, "BoolStorage", DType.BOOL);

  /** What the Python values unpickled here are called in messages. */
  private static final Map<Class<?>, String> KINDS = Map.of(LinkedHashMap.class, "a dict", ArrayList.class, "a list",
      Tuple.class, "a tuple", String.class, "a string", Long.class, "an int", Double.class, "a float",
      Boolean.class, "a bool");

  private final ByteBuffer in;
  private final List<Object> stack = new ArrayList<>();
  private final List<Integer> marks = new ArrayList<>();
  private final Map<Long, Object> memo = new HashMap<>();

  private StateDictPickle(ByteBuffer in) {
    this.in = in.order(ByteOrder.LITTLE_ENDIAN);
  }

  /**
   * The tensors of a pickled dict from names to tensors, in the pickle's order.
   *
   * @throws IllegalArgumentException naming what is wrong: a truncated or malformed pickle, a global
   *     this reader refuses, a storage type peft4j has no dtype for, or a value that is not a dict of
   *     names to tensors
   */
  static Map<String, StoredTensor> stateDict(ByteBuffer pickle) {
    Object loaded = new StateDictPickle(pickle).load();
    if (!(loaded instanceof Map<?, ?> dict)) {
      throw new IllegalArgumentException("holds " + describe(loaded) + ", not a dict of tensors");
    }
    Map<String, StoredTensor> tensors = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : dict.entrySet()) {
      if (!(e.getKey() instanceof String name)) {
        throw new IllegalArgumentException("has a key that is not a string (" + describe(e.getKey()) + ")");
      }
      if (!(e.getValue() instanceof StoredTensor tensor)) {
        throw new IllegalArgumentException("'" + name + "' is " + describe(e.getValue()) + ", not a tensor");
      }
      tensors.put(name, tensor);
    }
    return tensors;
  }

  private Object load() {
    try {
      while (true) {
        int position = in.position();
        int op = in.get() & 0xff;
        switch (op) {
          case 0x80 -> in.get(); // PROTO n
          case 0x95 -> in.getLong(); // FRAME: the frame's length
          case '.' -> { // STOP
            return pop();
          }
          case '(' -> marks.add(stack.size()); // MARK
          case '}' -> push(new LinkedHashMap<>()); // EMPTY_DICT
          case ']' -> push(new ArrayList<>()); // EMPTY_LIST
          case ')' -> push(new Tuple(List.of())); // EMPTY_TUPLE
          case 'd' -> push(dict(popMark())); // DICT
          case 'l' -> push(new ArrayList<>(popMark())); // LIST
          case 't' -> push(new Tuple(popMark())); // TUPLE
          case 0x85, 0x86, 0x87 -> push(new Tuple(popLast(op - 0x84))); // TUPLE1, TUPLE2, TUPLE3
          case 'q' -> memo.put((long) (in.get() & 0xff), peek()); // BINPUT
          case 'r' -> memo.put(in.getInt() & 0xffffffffL, peek()); // LONG_BINPUT
          case 0x94 -> memo.put((long) memo.size(), peek()); // MEMOIZE
          case 'h' -> push(memoized(in.get() & 0xff, position)); // BINGET
          case 'j' -> push(memoized(in.getInt() & 0xffffffffL, position)); // LONG_BINGET
          case 'X' -> push(string(in.getInt() & 0xffffffffL)); // BINUNICODE
          case 0x8c -> push(string(in.get() & 0xff)); // SHORT_BINUNICODE
          case 0x8d -> push(string(in.getLong())); // BINUNICODE8
          case 'J' -> push((long) in.getInt()); // BININT
          case 'K' -> push((long) (in.get() & 0xff)); // BININT1
          case 'M' -> push((long) (in.getShort() & 0xffff)); // BININT2
          case 0x8a -> push(long1(in.get() & 0xff, position)); // LONG1
          case 'G' -> push(in.order(ByteOrder.BIG_ENDIAN).getDouble()); // BINFLOAT
          case 'N' -> push(null); // NONE
          case 0x88 -> push(Boolean.TRUE); // NEWTRUE
          case 0x89 -> push(Boolean.FALSE); // NEWFALSE
          case 'a' -> { // APPEND
            Object item = pop();
            list(peek(), position).add(item);
          }
          case 'e' -> { // APPENDS
            List<Object> items = popMark();
            list(peek(), position).addAll(items);
          }
          case 's' -> { // SETITEM
            Object value = pop();
            Object key = pop();
            map(peek(), position).put(key, value);
          }
          case 'u' -> { // SETITEMS
            List<Object> items = popMark();
            map(peek(), position).putAll(dict(items));
          }
          case 'c' -> push(global(line(), line())); // GLOBAL
          case 0x93 -> { // STACK_GLOBAL
            Object name = pop();
            Object module = pop();
            push(global(String.valueOf(module), String.valueOf(name)));
          }
          case 'R' -> { // REDUCE
            Object args = pop();
            push(call(pop(), args, position));
          }
          case 'b' -> { // BUILD: a dict's attributes (a state dict's _metadata), which nothing reads
            pop();
            if (!(peek() instanceof Map)) {
              throw new IllegalArgumentException("sets the state of " + describe(peek()) + " at byte " + position);
            }
          }
          case 'Q' -> push(storage(pop(), position)); // BINPERSID
          default -> throw new IllegalArgumentException(String.format(
              "has pickle opcode 0x%02x at byte %d, which a torch state dict does not use", op, position));
        }
        in.order(ByteOrder.LITTLE_ENDIAN);
      }
    } catch (java.nio.BufferUnderflowException e) {
      throw new IllegalArgumentException("pickle is truncated: it ends before its STOP opcode", e);
    }
  }

  private static Global global(String module, String name) {
    Global g = new Global(module, name);
    if (g.equals(ORDERED_DICT) || g.equals(REBUILD_TENSOR) || g.equals(REBUILD_PARAMETER)
        || module.equals("torch") && STORAGE_TYPES.containsKey(name)) {
      return g;
    }
    throw new IllegalArgumentException("names the Python global " + g + ", which peft4j refuses (a pickle calls"
        + " the globals it names; a torch state dict needs only torch's tensors and OrderedDict)"
        + (module.equals("torch") && name.endsWith("Storage") ? ": peft4j has no dtype for " + name : ""));
  }

  /** {@code callable(*args)} for the callables a state dict uses. */
  private static Object call(Object callable, Object args, int position) {
    List<Object> a = args instanceof Tuple t ? t.items() : null;
    if (a == null) {
      throw new IllegalArgumentException("REDUCE at byte " + position + " has arguments that are not a tuple");
    }
    if (ORDERED_DICT.equals(callable) && a.isEmpty()) {
      return new LinkedHashMap<>();
    }
    if (REBUILD_TENSOR.equals(callable) && a.size() >= 4 && a.get(0) instanceof Storage storage) {
      // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      return new StoredTensor(storage, integer(a.get(1), position), integers(a.get(2), position),
          integers(a.get(3), position));
    }
    if (REBUILD_PARAMETER.equals(callable) && !a.isEmpty() && a.get(0) instanceof StoredTensor data) {
      return data; // _rebuild_parameter(data, requires_grad, backward_hooks)
    }
    throw new IllegalArgumentException("REDUCE at byte " + position + " calls " + callable + " with arguments "
        + "a torch state dict does not use");
  }

  /** A persistent id {@code ('storage', torch.<Type>Storage, key, location, numel)}. */
  private static Storage storage(Object pid, int position) {
    if (pid instanceof Tuple t && t.items().size() == 5 && "storage".equals(t.items().get(0))
        && t.items().get(1) instanceof Global type && t.items().get(2) instanceof String key) {
      DType dtype = STORAGE_TYPES.get(type.name());
      if (dtype != null && type.module().equals("torch")) {
        return new Storage(key, dtype, integer(t.items().get(4), position));
      }
    }
    throw new IllegalArgumentException("has a persistent id at byte " + position + " that is not a torch storage");
  }

  private static long integer(Object value, int position) {
    if (value instanceof Long l) {
      return l;
    }
    throw new IllegalArgumentException("expected an integer at byte " + position + ", found " + describe(value));
  }

  private static long[] integers(Object value, int position) {
    if (!(value instanceof Tuple t)) {
      throw new IllegalArgumentException("expected a tuple of integers at byte " + position + ", found "
          + describe(value));
    }
    return t.items().stream().mapToLong(v -> integer(v, position)).toArray();
  }

  private static Map<Object, Object> dict(List<Object> keysAndValues) {
    Map<Object, Object> out = new LinkedHashMap<>();
    for (int i = 0; i + 1 < keysAndValues.size(); i += 2) {
      out.put(keysAndValues.get(i), keysAndValues.get(i + 1));
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  private static Map<Object, Object> map(Object target, int position) {
    if (target instanceof Map<?, ?> m) {
      return (Map<Object, Object>) m;
    }
    throw new IllegalArgumentException("sets an item of " + describe(target) + " at byte " + position);
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Object target, int position) {
    if (target instanceof ArrayList<?> l) {
      return (List<Object>) l;
    }
    throw new IllegalArgumentException("appends to " + describe(target) + " at byte " + position);
  }

  /** LONG1: a little-endian two's-complement integer of {@code n} bytes (n ≤ 8 here). */
  private long long1(int n, int position) {
    if (n > 8) {
      throw new IllegalArgumentException("has an integer of " + n + " bytes at byte " + position);
    }
    long value = 0;
    for (int i = 0; i < n; i++) {
      value |= (in.get() & 0xffL) << (8 * i);
    }
    return n == 0 || n == 8 ? value : value << (64 - 8 * n) >> (64 - 8 * n);
  }

  private String string(long length) {
    if (length < 0 || length > in.remaining()) {
      throw new java.nio.BufferUnderflowException();
    }
    byte[] bytes = new byte[(int) length];
    in.get(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  /** A GLOBAL argument: ASCII up to a newline. */
  private String line() {
    StringBuilder s = new StringBuilder();
    for (byte b = in.get(); b != '\n'; b = in.get()) {
      s.append((char) b);
    }
    return s.toString();
  }

  private Object memoized(long key, int position) {
    if (!memo.containsKey(key)) {
      throw new IllegalArgumentException("reads memo entry " + key + " at byte " + position + ", which was never stored");
    }
    return memo.get(key);
  }

  private void push(Object value) {
    stack.add(value);
  }

  private Object pop() {
    if (stack.size() <= (marks.isEmpty() ? 0 : marks.get(marks.size() - 1))) {
      throw new IllegalArgumentException("pickle pops an empty stack at byte " + in.position());
    }
    return stack.remove(stack.size() - 1);
  }

  private Object peek() {
    if (stack.isEmpty()) {
      throw new IllegalArgumentException("pickle reads an empty stack at byte " + in.position());
    }
    return stack.get(stack.size() - 1);
  }

  private List<Object> popLast(int n) {
    if (stack.size() < n) {
      throw new IllegalArgumentException("pickle pops an empty stack at byte " + in.position());
    }
    List<Object> items = new ArrayList<>(stack.subList(stack.size() - n, stack.size()));
    stack.subList(stack.size() - n, stack.size()).clear();
    return items;
  }

  private List<Object> popMark() {
    if (marks.isEmpty()) {
      throw new IllegalArgumentException("pickle has no MARK before byte " + in.position());
    }
    int mark = marks.remove(marks.size() - 1);
    if (mark > stack.size()) {
      throw new IllegalArgumentException("pickle's MARK lies beyond its stack at byte " + in.position());
    }
    return popLast(stack.size() - mark);
  }

  private static String describe(Object value) {
    if (value == null) {
      return "None";
    }
    if (value instanceof StoredTensor t) {
      return "a tensor of shape " + Arrays.toString(t.shape());
    }
    return KINDS.getOrDefault(value.getClass(), "a " + value);
  }

}
