package dev.peft4j.serve;

import java.util.concurrent.atomic.AtomicLong;

/** Counters of a running server, for tests and diagnostics. */
final class ServerStats {
  /** Requests accepted into the queue. */
  final AtomicLong accepted = new AtomicLong();
  /** Requests turned away because the queue was full (HTTP 429). */
  final AtomicLong rejected = new AtomicLong();
  /** Decode steps run. */
  final AtomicLong steps = new AtomicLong();
  /** Rows decoded, summed over steps (rowSteps / steps = mean batch size). */
  final AtomicLong rowSteps = new AtomicLong();
  /** Decode steps whose rows used more than one adapter (or an adapter and the base). */
  final AtomicLong mixedSteps = new AtomicLong();
  /** The largest batch decoded. */
  final AtomicLong maxRows = new AtomicLong();
  /** Times newcomers joined a batch that was already decoding (continuous batching). */
  final AtomicLong joinsIntoRunningBatch = new AtomicLong();
  /** Rows dropped because their client disconnected. */
  final AtomicLong cancelledRows = new AtomicLong();

  @Override
  public String toString() {
    return "accepted=" + accepted + " rejected=" + rejected + " steps=" + steps + " rowSteps=" + rowSteps
        + " mixedSteps=" + mixedSteps + " maxRows=" + maxRows + " joinsIntoRunningBatch=" + joinsIntoRunningBatch
        + " cancelledRows=" + cancelledRows;
  }
}
