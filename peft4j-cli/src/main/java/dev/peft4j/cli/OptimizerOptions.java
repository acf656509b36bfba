package dev.peft4j.cli;

import dev.peft4j.train.AdamWConfig;
import dev.peft4j.train.LrSchedule;
import dev.peft4j.train.Trainer;
import picocli.CommandLine.Option;

/** The optimizer, learning-rate schedule and clipping of {@code peft4j train} (also the rows of {@code bench methods}). */
final class OptimizerOptions {
  @Option(names = "--lr", defaultValue = "5e-4") double lr;
  @Option(names = "--weight-decay", defaultValue = "0.01") double weightDecay;
  @Option(names = "--schedule", defaultValue = "linear", description = "linear, cosine or constant (all with warmup).") String schedule;
  @Option(names = "--warmup-ratio", defaultValue = "0.1") double warmupRatio;
  @Option(names = "--max-grad-norm", defaultValue = "1.0") double maxGradNorm;

  /** {@code builder} with AdamW, the schedule over {@code steps} optimizer steps, and clipping. */
  <B> Trainer.Builder<B> configure(Trainer.Builder<B> builder, long steps) {
    long warmup = Math.round(steps * warmupRatio);
    LrSchedule lrSchedule;
    switch (schedule) {
      case "linear": lrSchedule = LrSchedule.linear(warmup, steps); break;
      case "cosine": lrSchedule = LrSchedule.cosine(warmup, steps); break;
      case "constant": lrSchedule = LrSchedule.constantWithWarmup(warmup); break;
      default: throw new IllegalArgumentException("--schedule must be linear, cosine or constant, got '" + schedule + "'");
    }
    return builder.optimizer(AdamWConfig.withLr(lr).withWeightDecay(weightDecay)).schedule(lrSchedule).clipGradNorm(maxGradNorm);
  }
}
