package dev.peft4j.data;

import dev.peft4j.text.Tokenizer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.Random;

/**
 * Serves encoded examples as padded {@link Batch}es, deterministically: the batches of an epoch
 * depend only on the examples, the settings, the seed and the epoch number, so a trainer that
 * stopped after batch {@code k} resumes with {@link #iterator(int, int) iterator(epoch, k)} and
 * gets exactly the batches it would have got.
 *
 * <p>Order of an epoch: the example indices are shuffled with {@code new Random(seed + epoch)}
 * (when {@link Builder#shuffle(boolean) shuffling}) and cut into batches. With {@link
 * Builder#bucketing(int) bucketing}, the shuffled indices are instead split into windows of
 * {@code windowBatches × batchSize}, each window is sorted by length (stable, longest first) and
 * cut into batches, and the batches are then shuffled with the same {@code Random}, so each batch
 * holds examples of similar length and little padding. With {@link Builder#packing(int,
 * OptionalInt) packing}, the examples are first packed into blocks ({@link Packing#pack}) and
 * the blocks are batched.
 *
 * <p>Each call that returns a {@link Batch} creates new tensors; the caller closes them (or
 * creates them inside a {@link dev.peft4j.tensor.Scope}). Not thread-safe.
 */
public final class DataLoader {
  private final List<EncodedExample> examples;
  private final int batchSize;
  private final int padId;
  private final long seed;
  private final boolean shuffle;
  private final int bucketWindow; // in batches; 0 = off
  private final boolean dropLast;
  private int cachedEpoch = -1;
  private List<int[]> cachedPlan;

  private DataLoader(Builder b) {
    this.examples = b.packBlockSize > 0
        ? Packing.pack(b.examples, b.packBlockSize, b.packSeparator)
        : b.examples;
    this.batchSize = b.batchSize;
    this.padId = b.padId;
    this.seed = b.seed;
    this.shuffle = b.shuffle;
    this.bucketWindow = b.bucketWindow;
    this.dropLast = b.dropLast;
    if (batchesPerEpoch() == 0) {
      throw new IllegalArgumentException("no batch per epoch: " + examples.size() + " example(s), batch size "
          + batchSize + " and dropLast");
    }
  }

  /**
   * A builder over {@code examples}: batch size 1, pad id 0, seed 0, shuffled, no bucketing,
   * no packing, the last partial batch kept.
   *
   * @throws IllegalArgumentException if {@code examples} is empty
   */
  public static Builder builder(List<EncodedExample> examples) {
    return new Builder(examples);
  }

  /** The examples batched (the blocks, when packing), in their original order. */
  public List<EncodedExample> examples() {
    return examples;
  }

  /** Examples per batch (the last batch may have fewer unless dropping it). */
  public int batchSize() {
    return batchSize;
  }

  /** Number of batches in every epoch. */
  public int batchesPerEpoch() {
    return dropLast ? examples.size() / batchSize : (examples.size() + batchSize - 1) / batchSize;
  }

  /**
   * The example indices (into {@link #examples()}) of each batch of {@code epoch}, in order.
   *
   * @throws IllegalArgumentException if {@code epoch} is negative
   */
  public List<int[]> plan(int epoch) {
    List<int[]> plan = cachedPlan(epoch);
    List<int[]> copy = new ArrayList<>(plan.size());
    plan.forEach(b -> copy.add(b.clone()));
    return copy;
  }

  /**
   * The {@code index}-th batch of {@code epoch}.
   *
   * @throws IllegalArgumentException if {@code epoch} is negative
   * @throws IndexOutOfBoundsException if {@code index} is not in {@code [0, batchesPerEpoch())}
   */
  public Batch batch(int epoch, int index) {
    List<int[]> plan = cachedPlan(epoch);
    Objects.checkIndex(index, plan.size());
    return collate(plan.get(index));
  }

  /**
   * The batches of {@code epoch} from {@code startIndex} on, created as they are iterated.
   *
   * @throws IllegalArgumentException if {@code epoch} is negative
   * @throws IndexOutOfBoundsException if {@code startIndex} is not in {@code [0,
   *     batchesPerEpoch()]}
   */
  public Iterator<Batch> iterator(int epoch, int startIndex) {
    List<int[]> plan = cachedPlan(epoch);
    Objects.checkIndex(startIndex, plan.size() + 1);
    return new Iterator<>() {
      private int next = startIndex;

      @Override
      public boolean hasNext() {
        return next < plan.size();
      }

      @Override
      public Batch next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        return collate(plan.get(next++));
      }
    };
  }

  /** The batches of {@code epoch} in order: {@code iterator(epoch, 0)} each time it is iterated. */
  public Iterable<Batch> batches(int epoch) {
    cachedPlan(epoch); // check the argument now
    return () -> iterator(epoch, 0);
  }

  private Batch collate(int[] indices) {
    List<EncodedExample> rows = new ArrayList<>(indices.length);
    for (int i : indices) {
      rows.add(examples.get(i));
    }
    return Collator.collate(rows, padId);
  }

  private List<int[]> cachedPlan(int epoch) {
    if (epoch < 0) {
      throw new IllegalArgumentException("epoch must be non-negative: " + epoch);
    }
    if (epoch != cachedEpoch) {
      cachedPlan = Collections.unmodifiableList(computePlan(epoch));
      cachedEpoch = epoch;
    }
    return cachedPlan;
  }

  private List<int[]> computePlan(int epoch) {
    List<Integer> order = new ArrayList<>(examples.size());
    for (int i = 0; i < examples.size(); i++) {
      order.add(i);
    }
    Random random = new Random(seed + epoch);
    if (shuffle) {
      Collections.shuffle(order, random);
    }
    List<int[]> batches = new ArrayList<>();
    if (bucketWindow > 0) {
      int window = bucketWindow * batchSize;
      Comparator<Integer> longestFirst = Comparator.comparingInt((Integer i) -> examples.get(i).length()).reversed();
      for (int from = 0; from < order.size(); from += window) {
        List<Integer> bucket = new ArrayList<>(order.subList(from, Math.min(from + window, order.size())));
        bucket.sort(longestFirst);
        cut(bucket, batches);
      }
      if (shuffle) {
        Collections.shuffle(batches, random);
      }
    } else {
      cut(order, batches);
    }
    if (dropLast) {
      batches.removeIf(b -> b.length < batchSize);
    }
    return batches;
  }

  private void cut(List<Integer> indices, List<int[]> out) {
    for (int from = 0; from < indices.size(); from += batchSize) {
      out.add(indices.subList(from, Math.min(from + batchSize, indices.size())).stream()
          .mapToInt(Integer::intValue).toArray());
    }
  }

  /** Configures a {@link DataLoader}. */
  public static final class Builder {
    private final List<EncodedExample> examples;
    private int batchSize = 1;
    private int padId;
    private long seed;
    private boolean shuffle = true;
    private int bucketWindow;
    private boolean dropLast;
    private int packBlockSize;
    private OptionalInt packSeparator = OptionalInt.empty();

    private Builder(List<EncodedExample> examples) {
      this.examples = List.copyOf(examples);
      if (this.examples.isEmpty()) {
        throw new IllegalArgumentException("no examples to load");
      }
    }

    /**
     * Examples per batch. Default 1.
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder batchSize(int batchSize) {
      if (batchSize <= 0) {
        throw new IllegalArgumentException("batchSize must be positive: " + batchSize);
      }
      this.batchSize = batchSize;
      return this;
    }

    /**
     * The id padding positions get (they are masked out): the tokenizer's pad id, or 0 when it
     * has none, i.e. {@code tokenizer.padId().orElse(0)}. Default 0.
     */
    public Builder padId(int padId) {
      this.padId = padId;
      return this;
    }

    /** {@link #padId(int)} with {@code tokenizer.padId().orElse(0)}. */
    public Builder padIdFrom(Tokenizer tokenizer) {
      return padId(tokenizer.padId().orElse(0));
    }

    /** The seed; epoch {@code e} shuffles with {@code new Random(seed + e)}. Default 0. */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /** Whether to shuffle each epoch. Default true; false serves examples in order. */
    public Builder shuffle(boolean shuffle) {
      this.shuffle = shuffle;
      return this;
    }

    /**
     * Length-bucketed batching: sort by length within windows of {@code windowBatches} batches
     * (e.g. 50), then shuffle the batches. Default off.
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder bucketing(int windowBatches) {
      if (windowBatches <= 0) {
        throw new IllegalArgumentException("bucketing window must be positive: " + windowBatches);
      }
      this.bucketWindow = windowBatches;
      return this;
    }

    /** Drop the last batch of an epoch when it is smaller than the batch size. Default false. */
    public Builder dropLast(boolean dropLast) {
      this.dropLast = dropLast;
      return this;
    }

    /**
     * Pack the (language-modelling) examples into blocks of {@code blockSize} tokens with {@link
     * Packing#pack}, separated by {@code separatorId} (the tokenizer's EOS id), and batch the
     * blocks: no padding. Default off.
     *
     * @throws IllegalArgumentException if {@code blockSize} is not positive
     */
    public Builder packing(int blockSize, OptionalInt separatorId) {
      if (blockSize <= 0) {
        throw new IllegalArgumentException("blockSize must be positive: " + blockSize);
      }
      this.packBlockSize = blockSize;
      this.packSeparator = Objects.requireNonNull(separatorId, "separatorId");
      return this;
    }

    /**
     * Builds the loader (packing now, if asked).
     *
     * @throws IllegalArgumentException if packing fails (see {@link Packing#pack}) or no batch is
     *     left after dropping the last
     */
    public DataLoader build() {
      return new DataLoader(this);
    }
  }
}
