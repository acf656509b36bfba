package dev.peft4j.train;

import java.time.Duration;

/**
 * Progress after an optimizer step.
 *
 * @param step optimizer steps completed (1-based number of this step)
 * @param epoch epoch of the step's last micro-batch (0-based)
 * @param loss mean training loss: of this step's micro-batches in {@link TrainingListener#onStep},
 *     of all steps since the previous log line in {@link TrainingListener#onLog}
 * @param lr learning rate this step was taken with
 * @param gradNorm global gradient 2-norm before clipping
 * @param tokensPerSecond tokens (as counted by {@link TrainingObjective#tokens}) per second of
 *     wall time, over the same span as {@code loss}; 0 if tokens are not counted
 * @param elapsed wall time since this run (or resumption) started
 * @param eta estimated wall time until {@code maxSteps}, from this run's mean step time
 */
public record StepMetrics(long step, int epoch, double loss, double lr, double gradNorm,
    double tokensPerSecond, Duration elapsed, Duration eta) {}
