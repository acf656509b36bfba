/**
 * The training loop, independent of which PEFT method is trained.
 *
 * <p>A {@link dev.peft4j.train.Trainer} drives a {@link dev.peft4j.train.TrainingObjective}
 * (which parameters to train, the loss of a batch, evaluation statistics) over a
 * deterministic {@link dev.peft4j.train.BatchSource}: {@link dev.peft4j.train.AdamW} with
 * decoupled weight decay, an {@link dev.peft4j.train.LrSchedule}, global-norm
 * {@link dev.peft4j.train.GradientClipping}, gradient accumulation, periodic evaluation with
 * early stopping, a JSON-lines {@link dev.peft4j.train.MetricsLog}, a
 * {@link dev.peft4j.train.LossCurvePlot}, and atomic checkpoints
 * ({@link dev.peft4j.train.CheckpointStore}) from which a run resumes bit-identically.
 */
package dev.peft4j.train;
