package dev.peft4j.serve;

import dev.peft4j.model.CausalLm;
import dev.peft4j.nn.KvCache;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The requests being decoded, as one batch with one {@link KvCache}, for continuous batching:
 * newcomers are prefilled together ({@link #join}) and their cache rows appended to the running
 * ones; every {@link #step} decodes one token for every row, each row with its own adapter
 * ({@link ServedAdapters#perRow}); finished and cancelled rows are dropped from the cache at once.
 *
 * <p>Rows are right-aligned: row r has {@code pad[r]} masked positions in front of its own
 * tokens. Positions are counted from the attention mask, so a row sees exactly what it would see
 * alone. Leading positions that every row masks are cut off ({@link KvCache#dropLeading}).
 * Scheduler thread only; every call runs in its own {@link Scope}.
 */
final class RunningBatch implements AutoCloseable {
  private final CausalLm model;
  private final ServedAdapters adapters;
  private final ServerStats stats;
  private final List<Row> rows = new ArrayList<>();
  private KvCache cache; // [B, Hkv, T, D] per layer; null when there are no rows

  /** One request's place in the batch. */
  private static final class Row {
    final Job job;
    long pad;  // masked positions in front of the row's tokens
    long next; // the token to feed at the next step (accepted already)

    Row(Job job, long pad) {
      this.job = job;
      this.pad = pad;
    }
  }

  RunningBatch(CausalLm model, ServedAdapters adapters, ServerStats stats) {
    this.model = model;
    this.adapters = adapters;
    this.stats = stats;
  }

  int size() {
    return rows.size();
  }

  boolean isEmpty() {
    return rows.isEmpty();
  }

  /** The adapters the rows use. */
  Set<String> adaptersInUse() {
    Set<String> names = new HashSet<>();
    rows.forEach(r -> names.add(r.job.request().adapter()));
    return names;
  }

  /**
   * Prefills {@code jobs} as one left-padded batch, takes each one's first token, and adds the
   * rows that go on to the running batch.
   */
  void join(List<Job> jobs) {
    int longest = jobs.stream().mapToInt(j -> j.request().prompt().length).max().orElseThrow();
    long[] ids = new long[jobs.size() * longest];
    long[] pads = new long[jobs.size()];
    for (int r = 0; r < jobs.size(); r++) {
      long[] prompt = jobs.get(r).request().prompt();
      pads[r] = longest - prompt.length;
      System.arraycopy(prompt, 0, ids, r * longest + (int) pads[r], prompt.length);
    }
    KvCache joined = model.newCache();
    long[] first;
    try (Scope scope = Scope.open(); ServedAdapters.RowAdapters mixed = adapters.perRow(adapterNames(jobs))) {
      Tensor logits = model.lastLogits(Tensor.ofLongs(ids, jobs.size(), longest), mask(pads, longest), joined);
      first = choose(logits, jobs); // [G, V] → G tokens
    } catch (RuntimeException e) {
      joined.close();
      throw e;
    }
    if (!rows.isEmpty()) {
      stats.joinsIntoRunningBatch.incrementAndGet();
    }
    long length = cache == null ? 0 : cache.realLength();
    long merged = Math.max(length, longest);
    rows.forEach(row -> row.pad += merged - length);
    for (int r = 0; r < jobs.size(); r++) {
      Row row = new Row(jobs.get(r), pads[r] + merged - longest);
      row.next = first[r];
      rows.add(row);
    }
    if (cache == null) {
      cache = joined;
    } else {
      cache.appendRows(joined);
    }
    for (int r = 0; r < jobs.size(); r++) {
      jobs.get(r).accept(first[r]);
    }
    remove(row -> row.job.done());
  }

  /** Decodes one token for every row. */
  void step() {
    long length = cache.realLength();
    long[] ids = new long[rows.size()];
    long[] pads = new long[rows.size()];
    for (int r = 0; r < rows.size(); r++) {
      ids[r] = rows.get(r).next;
      pads[r] = rows.get(r).pad;
    }
    List<Job> jobs = rows.stream().map(row -> row.job).toList();
    List<String> names = adapterNames(jobs);
    long[] next;
    try (Scope scope = Scope.open(); ServedAdapters.RowAdapters mixed = adapters.perRow(names)) {
      next = choose(model.lastLogits(Tensor.ofLongs(ids, rows.size(), 1), mask(pads, length + 1), cache), jobs);
    }
    stats.steps.incrementAndGet();
    stats.rowSteps.addAndGet(rows.size());
    if (new HashSet<>(names).size() > 1) {
      stats.mixedSteps.incrementAndGet();
    }
    stats.maxRows.accumulateAndGet(rows.size(), Math::max);
    for (int r = 0; r < rows.size(); r++) {
      rows.get(r).next = next[r];
      rows.get(r).job.accept(next[r]);
    }
    remove(row -> row.job.done());
  }

  /** Drops the rows of requests whose client has gone. */
  void dropCancelled() {
    long before = rows.size();
    remove(row -> row.job.cancelled());
    stats.cancelledRows.addAndGet(before - rows.size());
  }

  /** Ends every row with {@code error} and empties the batch. */
  void failAll(ApiException error) {
    rows.forEach(row -> row.job.fail(error));
    remove(row -> true);
  }

  @Override
  public void close() {
    if (cache != null) {
      cache.close();
      cache = null;
    }
    rows.clear();
  }

  /** Removes matching rows from the batch and the cache, then cuts padding no row needs. */
  private void remove(Predicate<Row> gone) {
    List<Long> keep = new ArrayList<>();
    for (int r = 0; r < rows.size(); r++) {
      if (!gone.test(rows.get(r))) {
        keep.add((long) r);
      }
    }
    if (keep.size() == rows.size()) {
      return;
    }
    if (keep.isEmpty()) {
      close();
      return;
    }
    cache.keepRows(keep.stream().mapToLong(Long::longValue).toArray());
    rows.removeIf(gone);
    long common = rows.stream().mapToLong(row -> row.pad).min().orElseThrow();
    cache.dropLeading(common);
    rows.forEach(row -> row.pad -= common);
  }

  /** Each row's next token: the argmax for greedy rows, a draw by its own sampler for the others. */
  private static long[] choose(Tensor last, List<Job> jobs) {
    Tensor logits = last.to(DType.F32); // [B, V]
    long[] tokens = logits.argmax(-1).toLongArray();
    for (int r = 0; r < jobs.size(); r++) {
      if (!jobs.get(r).greedy()) {
        tokens[r] = jobs.get(r).sample(logits.select(0, r).toFloatArray());
      }
    }
    return tokens;
  }

  private static List<String> adapterNames(List<Job> jobs) {
    return jobs.stream().map(j -> j.request().adapter()).toList();
  }

  /** int64 [B, length]: 0 for each row's {@code pads[r]} leading positions, else 1; null without padding. */
  private static Tensor mask(long[] pads, long length) {
    boolean padded = false;
    for (long p : pads) {
      padded |= p > 0;
    }
    if (!padded) {
      return null;
    }
    long[] flat = new long[(int) (pads.length * length)];
    for (int r = 0; r < pads.length; r++) {
      for (long t = pads[r]; t < length; t++) {
        flat[(int) (r * length + t)] = 1;
      }
    }
    return Tensor.ofLongs(flat, pads.length, length);
  }
}
