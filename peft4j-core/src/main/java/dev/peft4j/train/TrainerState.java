package dev.peft4j.train;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.util.Base64;
import java.util.Objects;

/**
 * Everything besides tensors that a resumed run needs to continue exactly where a checkpoint
 * was taken; stored as {@code trainer_state.json}.
 *
 * @param formatVersion {@link #FORMAT_VERSION}
 * @param step optimizer steps completed
 * @param epoch epoch of the next micro-batch to train on
 * @param nextBatch index within {@code epoch} of the next micro-batch
 * @param batchesPerEpoch the training source's batches per epoch (must match on resume)
 * @param rngState libtorch's default CPU generator state, base64
 * @param bestEvalLoss lowest evaluation loss so far; null before the first evaluation
 * @param evalsWithoutImprovement evaluations since {@code bestEvalLoss} last improved
 * @param schedule the {@link LrSchedule} ({@code toString()}; must match on resume)
 * @param optimizer the {@link AdamWConfig} ({@code toString()}; must match on resume)
 * @param gradientAccumulation micro-batches per optimizer step (must match on resume)
 * @param maxSteps the run's planned number of optimizer steps (may change on resume)
 * @param seed the seed the run started from (informational)
 */
public record TrainerState(
    @JsonProperty("format_version") int formatVersion,
    @JsonProperty("step") long step,
    @JsonProperty("epoch") int epoch,
    @JsonProperty("next_batch") int nextBatch,
    @JsonProperty("batches_per_epoch") int batchesPerEpoch,
    @JsonProperty("rng_state") String rngState,
    @JsonProperty("best_eval_loss") Double bestEvalLoss,
    @JsonProperty("evals_without_improvement") int evalsWithoutImprovement,
    @JsonProperty("schedule") String schedule,
    @JsonProperty("optimizer") String optimizer,
    @JsonProperty("gradient_accumulation") int gradientAccumulation,
    @JsonProperty("max_steps") long maxSteps,
    @JsonProperty("seed") long seed) {

  /** The version of this layout; readers reject others. */
  public static final int FORMAT_VERSION = 1;

  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  public TrainerState {
    if (formatVersion != FORMAT_VERSION) {
      throw new IllegalArgumentException("unsupported trainer state format_version " + formatVersion
          + " (this peft4j reads " + FORMAT_VERSION + ")");
    }
    if (step < 0 || epoch < 0 || nextBatch < 0 || batchesPerEpoch <= 0 || nextBatch >= batchesPerEpoch
        || evalsWithoutImprovement < 0 || gradientAccumulation <= 0) {
      throw new IllegalArgumentException("inconsistent trainer state: step=" + step + ", epoch="
          + epoch + ", next_batch=" + nextBatch + ", batches_per_epoch=" + batchesPerEpoch
          + ", evals_without_improvement=" + evalsWithoutImprovement
          + ", gradient_accumulation=" + gradientAccumulation);
    }
    Objects.requireNonNull(rngState, "rng_state");
    Objects.requireNonNull(schedule, "schedule");
    Objects.requireNonNull(optimizer, "optimizer");
  }

  /** The libtorch generator state as bytes for {@code Engine.setRngState}. */
  public byte[] rngStateBytes() {
    return Base64.getDecoder().decode(rngState);
  }

  /** Base64 of {@code bytes}, for {@link #rngState}. */
  static String encodeRng(byte[] bytes) {
    return Base64.getEncoder().encodeToString(bytes);
  }

  /** Pretty-printed JSON, UTF-8. */
  public byte[] toJson() {
    try {
      return JSON.writeValueAsBytes(this);
    } catch (IOException e) {
      throw new IllegalStateException("cannot serialise trainer state", e);
    }
  }

  /**
   * Parses {@link #toJson()}'s output.
   *
   * @throws IOException if it is not valid JSON or a field is missing or inconsistent
   */
  public static TrainerState fromJson(byte[] json) throws IOException {
    try {
      return JSON.readValue(json, TrainerState.class);
    } catch (IllegalArgumentException e) {
      throw new IOException("invalid trainer state: " + e.getMessage(), e);
    }
  }
}
