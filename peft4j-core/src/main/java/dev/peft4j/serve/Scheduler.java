package dev.peft4j.serve;

import dev.peft4j.model.CausalLm;
import dev.peft4j.tensor.Engine;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.locks.LockSupport;

/**
 * The one thread that runs the model. It loops over: run queued tasks (adapter loads and
 * unloads), drop the rows of clients that left, detach unloaded adapters no row uses, admit
 * waiting requests while the batch has room ({@link RunningBatch#join}), decode one step for
 * every row ({@link RunningBatch#step}). So requests join and leave at step boundaries
 * (continuous batching), and every libtorch call stays on this thread, under
 * {@link Engine#noGrad()}.
 */
final class Scheduler {
  private static final System.Logger LOG = System.getLogger(Scheduler.class.getName());
  private static final long IDLE_NANOS = 100_000_000;

  private final BlockingQueue<Job> waiting;
  private final BlockingQueue<Runnable> tasks = new LinkedBlockingQueue<>();
  private final RunningBatch batch;
  private final ServedAdapters adapters;
  private final int maxBatch;
  private final int maxQueue;
  private final ServerStats stats;
  private final Thread thread;
  private final CountDownLatch finished = new CountDownLatch(1);
  private volatile boolean draining;
  private volatile boolean stopped;
  private volatile long drainDeadline;

  Scheduler(CausalLm model, ServedAdapters adapters, ServerConfig config, ServerStats stats) {
    this.waiting = new LinkedBlockingQueue<>(config.maxQueue());
    this.adapters = adapters;
    this.maxBatch = config.maxBatch();
    this.maxQueue = config.maxQueue();
    this.stats = stats;
    this.batch = new RunningBatch(model, adapters, stats);
    this.thread = new Thread(this::run, "peft4j-scheduler");
    thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  /**
   * Queues {@code job} for the batch.
   *
   * @throws ApiException 429 if {@code maxQueue} requests are waiting already, 503 once the
   *     server is shutting down
   */
  void submit(Job job) {
    if (draining || stopped) {
      throw ApiException.shuttingDown();
    }
    if (!waiting.offer(job)) {
      stats.rejected.incrementAndGet();
      throw ApiException.queueFull(maxQueue);
    }
    if (stopped && waiting.remove(job)) { // the thread ended meanwhile and will not take it
      throw ApiException.shuttingDown();
    }
    stats.accepted.incrementAndGet();
    LockSupport.unpark(thread);
  }

  /** Runs {@code task} on the scheduler thread between two steps. */
  <T> CompletableFuture<T> call(Callable<T> task) {
    CompletableFuture<T> result = new CompletableFuture<>();
    Runnable run = () -> {
      try {
        result.complete(task.call());
      } catch (Throwable e) {
        result.completeExceptionally(e);
      }
    };
    tasks.add(run);
    if (stopped && tasks.remove(run)) {
      result.completeExceptionally(ApiException.shuttingDown());
    }
    LockSupport.unpark(thread);
    return result;
  }

  /**
   * Stops admitting requests (waiting ones get 503), lets running ones finish for up to
   * {@code timeout}, cancels the rest, and waits for the thread to end.
   */
  void shutdown(Duration timeout) {
    drainDeadline = System.nanoTime() + timeout.toNanos();
    draining = true;
    LockSupport.unpark(thread);
    boolean interrupted = false;
    while (true) {
      try {
        finished.await();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  private void run() {
    try (Engine.GradGuard noGrad = Engine.noGrad()) {
      while (loop()) {
        // one step per iteration
      }
    } catch (Throwable e) {
      LOG.log(System.Logger.Level.ERROR, "the scheduler stopped on an error", e);
    } finally {
      stopped = true;
      ApiException gone = ApiException.shuttingDown();
      batch.failAll(gone);
      batch.close();
      for (Job job; (job = waiting.poll()) != null; ) {
        job.fail(gone);
      }
      for (Runnable task; (task = tasks.poll()) != null; ) {
        task.run(); // loads and unloads still complete, so no caller waits forever
      }
      adapters.abandonUnloads();
      finished.countDown();
    }
  }

  /** One iteration; false when the scheduler is done. */
  private boolean loop() {
    for (Runnable task; (task = tasks.poll()) != null; ) {
      task.run();
    }
    batch.dropCancelled();
    adapters.detachUnused(batch.adaptersInUse());
    if (draining) {
      for (Job job; (job = waiting.poll()) != null; ) {
        job.fail(ApiException.shuttingDown());
      }
      if (batch.isEmpty()) {
        return false;
      }
      if (System.nanoTime() - drainDeadline > 0) {
        batch.failAll(ApiException.shuttingDown());
        return false;
      }
    }
    List<Job> newcomers = admit();
    if (!newcomers.isEmpty()) {
      try {
        batch.join(newcomers);
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.ERROR, "prefill failed", e);
        newcomers.forEach(job -> job.fail(ApiException.internal("prefill failed: " + e.getMessage())));
      }
    }
    if (!batch.isEmpty()) {
      try {
        batch.step();
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.ERROR, "decode step failed", e);
        batch.failAll(ApiException.internal("decode step failed: " + e.getMessage()));
      }
    } else if (waiting.isEmpty() && tasks.isEmpty() && !draining) {
      LockSupport.parkNanos(this, IDLE_NANOS);
    }
    return true;
  }

  /** Takes waiting requests while the batch has room, skipping cancelled ones and unloaded adapters. */
  private List<Job> admit() {
    List<Job> admitted = new ArrayList<>();
    while (batch.size() + admitted.size() < maxBatch) {
      Job job = waiting.poll();
      if (job == null) {
        break;
      }
      if (job.cancelled()) {
        stats.cancelledRows.incrementAndGet();
      } else if (!adapters.runnable(job.request().adapter())) {
        job.fail(ApiException.modelNotFound(job.request().model(), adapters.modelIds()));
      } else {
        admitted.add(job);
      }
    }
    return admitted;
  }
}
