package dev.peft4j.train;

import dev.peft4j.nn.Parameter;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.TreeSet;

/**
 * The training loop: AdamW over a {@link TrainingObjective}'s trainable parameters, fed by a
 * deterministic {@link BatchSource}.
 *
 * <p>One optimizer step: for each of {@code gradientAccumulation} consecutive micro-batches
 * (continuing across epoch boundaries), {@code (loss / accumulation).backward()} inside its own
 * {@link Scope} (with {@link Builder#gradientCheckpointing}, layer by layer); then global-norm clipping (if set), {@code AdamW.step(lr)} with
 * {@code lr = schedule.lr(baseLr, stepsDone)}, and the gradients are dropped. After the step:
 * listeners' {@code onStep} (every step) and {@code onLog} (every {@code logEvery}), evaluation
 * (every {@code evalEvery}) with early stopping, and a checkpoint (every {@code checkpointEvery}).
 * A final checkpoint is written when the run ends, unless it just was.
 *
 * <p>With an output directory, progress goes to {@code metrics.jsonl} ({@link MetricsLog}) and,
 * at the end, to {@code loss_curve.png} ({@link LossCurvePlot}, 800×500).
 *
 * <p>A NaN or infinite loss or gradient norm stops training with a
 * {@link TrainingDivergedException} before any update is made for that step.
 *
 * <p>{@link #resume(Path)} continues from the newest complete checkpoint so that the losses
 * and final weights are bit-identical to an uninterrupted run (same thread count assumed).
 *
 * @param <B> the batch type
 */
public final class Trainer<B> {
  /** Metrics file name in the output directory. */
  public static final String METRICS_FILE = "metrics.jsonl";
  /** Loss plot file name in the output directory. */
  public static final String PLOT_FILE = "loss_curve.png";

  private final TrainingObjective<B> objective;
  private final BatchSource<B> trainData;
  private final BatchSource<B> evalData;
  private final AdamWConfig optimizer;
  private final LrSchedule schedule;
  private final long maxSteps;
  private final int accumulation;
  private final double clipNorm;
  private final int evalEvery;
  private final int patience;
  private final long seed;
  private final int logEvery;
  private final Path outputDir;
  private final int checkpointEvery;
  private final int keepLast;
  private final boolean checkpointing;
  private final List<TrainingListener> listeners;

  private Trainer(Builder<B> b) {
    objective = b.objective;
    trainData = b.trainData;
    evalData = b.evalData;
    optimizer = b.optimizer;
    schedule = b.schedule;
    accumulation = b.accumulation;
    maxSteps = b.maxSteps > 0 ? b.maxSteps : (long) b.epochs * trainData.batchesPerEpoch() / accumulation;
    clipNorm = b.clipNorm;
    evalEvery = b.evalEvery;
    patience = b.patience;
    seed = b.seed;
    logEvery = b.logEvery;
    outputDir = b.outputDir;
    checkpointEvery = b.checkpointEvery;
    keepLast = b.keepLast;
    checkpointing = b.checkpointing;
    listeners = List.copyOf(b.listeners);
  }

  /** A builder for a trainer of {@code objective} on {@code trainData}. */
  public static <B> Builder<B> builder(TrainingObjective<B> objective, BatchSource<B> trainData) {
    return new Builder<>(objective, trainData);
  }

  /** The number of optimizer steps a run makes in total. */
  public long maxSteps() {
    return maxSteps;
  }

  /** Where metrics, plot and checkpoints go, if configured. */
  public Optional<Path> outputDir() {
    return Optional.ofNullable(outputDir);
  }

  /**
   * Trains from the parameters' current values and a fresh optimizer, after
   * {@code Engine.manualSeed(seed)}. Truncates {@code metrics.jsonl}.
   *
   * @throws TrainingDivergedException if a loss or gradient norm becomes non-finite
   * @throws IOException if writing metrics or a checkpoint fails
   */
  public TrainingResult train() throws IOException {
    return run(null);
  }

  /**
   * Continues from the newest complete checkpoint in {@code checkpointDir}: parameters are
   * overwritten in place, and optimizer state, libtorch RNG state, data position, and early
   * stopping state are restored. New checkpoints go to this trainer's output directory;
   * {@code metrics.jsonl} is appended to.
   *
   * @throws IllegalStateException if there is no complete checkpoint, or it was written with a
   *     different schedule, optimizer configuration, gradient accumulation, batches per epoch
   *     or set of trainable parameters; nothing is changed then
   */
  public TrainingResult resume(Path checkpointDir) throws IOException {
    Checkpoint from = CheckpointStore.latest(checkpointDir).orElseThrow(() -> new IllegalStateException(
        "no complete checkpoint (checkpoint-STEP with " + CheckpointStore.STATE_FILE + ") in " + checkpointDir));
    return run(from);
  }

  /** {@link #resume} from the output directory if it has a complete checkpoint, else {@link #train}. */
  public TrainingResult trainOrResume() throws IOException {
    if (outputDir != null && CheckpointStore.latest(outputDir).isPresent()) {
      return resume(outputDir);
    }
    return train();
  }

  // ---------------------------------------------------------------- the loop

  /** Mutable position of a run. */
  private final class Run {
    final Map<String, Parameter> params;
    final List<Tensor> values;
    final AdamW adamW;
    final CheckpointStore store;
    final List<TrainingListener> all;
    final List<EvalResult> evaluations = new ArrayList<>();
    final int batchesPerEpoch = trainData.batchesPerEpoch();
    long step;
    long microBatch;
    EarlyStopping stopping;
    Path lastCheckpoint;
    long lastSavedStep = -1;
    double lastLoss = Double.NaN;
    // for StepMetrics
    final long runStart = System.nanoTime();
    long stepsThisRun;
    double windowLoss;
    long windowSteps;
    long windowTokens;
    long windowStart = runStart;

    Run(Map<String, Parameter> params, AdamW adamW, List<TrainingListener> all) {
      this.params = params;
      this.values = params.values().stream().map(Parameter::value).toList();
      this.adamW = adamW;
      this.all = all;
      this.store = outputDir != null && checkpointEvery > 0 ? new CheckpointStore(outputDir, keepLast) : null;
    }
  }

  private TrainingResult run(Checkpoint from) throws IOException {
    Map<String, Parameter> params = new LinkedHashMap<>();
    objective.trainableParameters().forEach((name, p) -> {
      if (p.trainable()) {
        params.put(name, p);
      }
    });
    if (from != null) {
      checkCompatible(from.state(), params);
    }
    MetricsLog log = outputDir == null ? null : MetricsLog.open(outputDir.resolve(METRICS_FILE), from != null);
    try (log; AdamW adamW = new AdamW(params, optimizer)) {
      List<TrainingListener> all = new ArrayList<>();
      if (log != null) {
        all.add(log);
      }
      all.addAll(listeners);
      Run run = new Run(params, adamW, all);
      if (from == null) {
        Engine.manualSeed(seed);
        run.stopping = new EarlyStopping(patience, null, 0);
      } else {
        restore(from, run);
      }
      TrainingResult.StopReason reason = loop(run);
      if (run.store != null && run.step > run.lastSavedStep && run.step > 0) {
        save(run);
      }
      if (log != null) {
        LossCurvePlot.writeFromMetrics(outputDir.resolve(METRICS_FILE), outputDir.resolve(PLOT_FILE),
            LossCurvePlot.DEFAULT_WIDTH, LossCurvePlot.DEFAULT_HEIGHT);
      }
      Double best = run.stopping.best();
      return new TrainingResult(run.step, reason, run.lastLoss, run.evaluations,
          best == null ? OptionalDouble.empty() : OptionalDouble.of(best), Optional.ofNullable(run.lastCheckpoint));
    }
  }

  private TrainingResult.StopReason loop(Run run) throws IOException {
    while (run.step < maxSteps) {
      long stepStart = System.nanoTime();
      double lossSum = 0;
      long tokens = 0;
      for (int a = 0; a < accumulation; a++, run.microBatch++) {
        int epoch = (int) (run.microBatch / run.batchesPerEpoch);
        int index = (int) (run.microBatch % run.batchesPerEpoch);
        try (Scope scope = Scope.open()) {
          B batch = trainData.batch(epoch, index);
          double value = objective.backward(batch, accumulation, checkpointing);
          if (!Double.isFinite(value)) {
            run.adamW.zeroGrad();
            throw new TrainingDivergedException(run.step + 1,
                "loss is " + value + " on batch " + index + " of epoch " + epoch, run.lastCheckpoint);
          }
          lossSum += value;
          tokens += objective.tokens(batch);
        }
      }
      double lr = schedule.lr(optimizer.lr(), run.step);
      double gradNorm = clipNorm > 0
          ? GradientClipping.clipGradNorm(run.values, clipNorm)
          : GradientClipping.globalNorm(run.values);
      if (!Double.isFinite(gradNorm)) {
        run.adamW.zeroGrad();
        throw new TrainingDivergedException(run.step + 1, "gradient norm is " + gradNorm, run.lastCheckpoint);
      }
      run.adamW.step(lr);
      run.adamW.zeroGrad();
      run.step++;
      run.stepsThisRun++;
      run.lastLoss = lossSum / accumulation;
      report(run, stepStart, lr, gradNorm, tokens);

      boolean stop = false;
      if (evalData != null && run.step % evalEvery == 0) {
        EvalResult result = Evaluation.run(objective, evalData, run.step);
        run.evaluations.add(result);
        stop = run.stopping.update(result.loss());
        for (TrainingListener l : run.all) {
          l.onEval(result);
        }
      }
      if (run.store != null && run.step % checkpointEvery == 0) {
        save(run);
      }
      if (stop) {
        return TrainingResult.StopReason.EARLY_STOPPING;
      }
    }
    return TrainingResult.StopReason.MAX_STEPS;
  }

  private void report(Run run, long stepStart, double lr, double gradNorm, long tokens) {
    long now = System.nanoTime();
    Duration elapsed = Duration.ofNanos(now - run.runStart);
    Duration eta = Duration.ofNanos((long) ((double) (now - run.runStart) / run.stepsThisRun * (maxSteps - run.step)));
    int epoch = (int) ((run.microBatch - 1) / run.batchesPerEpoch);
    StepMetrics metrics = new StepMetrics(run.step, epoch, run.lastLoss, lr, gradNorm,
        perSecond(tokens, now - stepStart), elapsed, eta);
    run.windowLoss += run.lastLoss;
    run.windowSteps++;
    run.windowTokens += tokens;
    StepMetrics logged = null;
    if (run.step % logEvery == 0 || run.step == maxSteps) {
      logged = new StepMetrics(run.step, epoch, run.windowLoss / run.windowSteps, lr, gradNorm,
          perSecond(run.windowTokens, now - run.windowStart), elapsed, eta);
      run.windowLoss = 0;
      run.windowSteps = 0;
      run.windowTokens = 0;
      run.windowStart = now;
    }
    for (TrainingListener l : run.all) {
      if (logged != null) {
        l.onLog(logged);
      }
      l.onStep(metrics);
    }
  }

  private static double perSecond(long count, long nanos) {
    return nanos <= 0 ? 0 : count * 1e9 / nanos;
  }

  // ---------------------------------------------------------------- checkpoints

  private void save(Run run) throws IOException {
    TrainerState state = new TrainerState(TrainerState.FORMAT_VERSION, run.step,
        (int) (run.microBatch / run.batchesPerEpoch), (int) (run.microBatch % run.batchesPerEpoch),
        run.batchesPerEpoch, TrainerState.encodeRng(Engine.rngState()), run.stopping.best(),
        run.stopping.withoutImprovement(), schedule.toString(), optimizer.toString(), accumulation,
        maxSteps, seed);
    try (Scope scope = Scope.open()) {
      Map<String, Tensor> values = new LinkedHashMap<>();
      run.params.forEach((name, p) -> values.put(name, p.value()));
      run.lastCheckpoint = run.store.save(state, values, run.adamW.stateDict());
    }
    run.lastSavedStep = run.step;
    for (TrainingListener l : run.all) {
      l.onCheckpoint(run.step, run.lastCheckpoint);
    }
  }

  private void checkCompatible(TrainerState s, Map<String, Parameter> params) {
    List<String> problems = new ArrayList<>();
    compare(problems, "batches per epoch", s.batchesPerEpoch(), trainData.batchesPerEpoch());
    compare(problems, "gradient accumulation", s.gradientAccumulation(), accumulation);
    compare(problems, "schedule", s.schedule(), schedule.toString());
    compare(problems, "optimizer", s.optimizer(), optimizer.toString());
    if (!problems.isEmpty()) {
      throw new IllegalStateException("cannot resume: the checkpoint was written with a different "
          + String.join("; ", problems));
    }
  }

  private static void compare(List<String> problems, String what, Object saved, Object now) {
    if (!saved.equals(now)) {
      problems.add(what + " (checkpoint: " + saved + ", this trainer: " + now + ")");
    }
  }

  private void restore(Checkpoint from, Run run) throws IOException {
    try (Scope scope = Scope.open(); Engine.GradGuard noGrad = Engine.noGrad()) {
      Map<String, Tensor> saved = from.parameters();
      if (!saved.keySet().equals(run.params.keySet())) {
        Set<String> missing = new TreeSet<>(run.params.keySet());
        missing.removeAll(saved.keySet());
        Set<String> extra = new TreeSet<>(saved.keySet());
        extra.removeAll(run.params.keySet());
        throw new IllegalStateException("cannot resume from " + from.directory()
            + ": trainable parameters differ; not in the checkpoint: " + missing
            + ", only in the checkpoint: " + extra);
      }
      for (Map.Entry<String, Tensor> e : saved.entrySet()) {
        Tensor current = run.params.get(e.getKey()).value();
        if (!Arrays.equals(current.shape(), e.getValue().shape()) || current.dtype() != e.getValue().dtype()) {
          throw new IllegalStateException("cannot resume from " + from.directory() + ": parameter '"
              + e.getKey() + "' is " + e.getValue() + " in the checkpoint but " + current + " here");
        }
      }
      Map<String, Tensor> optimizerState = from.optimizerState();
      run.adamW.loadStateDict(optimizerState); // validates before changing anything
      saved.forEach((name, value) -> run.params.get(name).value().copy_(value));
    }
    TrainerState s = from.state();
    Engine.setRngState(s.rngStateBytes());
    run.step = s.step();
    run.microBatch = (long) s.epoch() * s.batchesPerEpoch() + s.nextBatch();
    run.stopping = new EarlyStopping(patience, s.bestEvalLoss(), s.evalsWithoutImprovement());
    run.lastSavedStep = s.step();
    if (outputDir != null && from.directory().toAbsolutePath().normalize()
        .equals(CheckpointStore.directoryOf(outputDir, s.step()).toAbsolutePath().normalize())) {
      run.lastCheckpoint = from.directory();
    }
  }

  // ---------------------------------------------------------------- builder

  /**
   * Configures a {@link Trainer}. Each setter may be called once; {@link #build()} checks
   * combinations and leaves the builder unchanged.
   */
  public static final class Builder<B> {
    private final TrainingObjective<B> objective;
    private final BatchSource<B> trainData;
    private final Set<String> set = new HashSet<>();
    private BatchSource<B> evalData;
    private AdamWConfig optimizer = AdamWConfig.withLr(1e-3);
    private LrSchedule schedule = LrSchedule.constant();
    private long maxSteps;
    private int epochs;
    private int accumulation = 1;
    private double clipNorm;
    private int evalEvery;
    private int patience;
    private long seed = 42;
    private int logEvery = 10;
    private Path outputDir;
    private int checkpointEvery;
    private int keepLast = 2;
    private boolean checkpointing;
    private final List<TrainingListener> listeners = new ArrayList<>();

    private Builder(TrainingObjective<B> objective, BatchSource<B> trainData) {
      this.objective = Objects.requireNonNull(objective, "objective");
      this.trainData = Objects.requireNonNull(trainData, "trainData");
    }

    private void once(String name) {
      if (!set.add(name)) {
        throw new IllegalStateException(name + " was already set");
      }
    }

    private static void positive(String name, long value) {
      if (value <= 0) {
        throw new IllegalArgumentException(name + " must be positive: " + value);
      }
    }

    /** Evaluation data, evaluated in full every {@link #evalEvery} steps. */
    public Builder<B> evalData(BatchSource<B> evalData) {
      once("evalData");
      this.evalData = Objects.requireNonNull(evalData, "evalData");
      return this;
    }

    /** AdamW hyperparameters; default {@code AdamWConfig.withLr(1e-3)}. */
    public Builder<B> optimizer(AdamWConfig optimizer) {
      once("optimizer");
      this.optimizer = Objects.requireNonNull(optimizer, "optimizer");
      return this;
    }

    /** Learning-rate schedule; default constant. */
    public Builder<B> schedule(LrSchedule schedule) {
      once("schedule");
      this.schedule = Objects.requireNonNull(schedule, "schedule");
      return this;
    }

    /** Number of optimizer steps; exclusive with {@link #epochs}. */
    public Builder<B> maxSteps(long maxSteps) {
      once("maxSteps");
      positive("maxSteps", maxSteps);
      if (epochs > 0) {
        throw new IllegalStateException("epochs was already set to " + epochs + "; set maxSteps or epochs");
      }
      this.maxSteps = maxSteps;
      return this;
    }

    /**
     * Number of passes over the training data: {@code floor(epochs × batchesPerEpoch /
     * gradientAccumulation)} optimizer steps (a trailing remainder of micro-batches is not
     * trained); exclusive with {@link #maxSteps}.
     */
    public Builder<B> epochs(int epochs) {
      once("epochs");
      positive("epochs", epochs);
      if (maxSteps > 0) {
        throw new IllegalStateException("maxSteps was already set to " + maxSteps + "; set maxSteps or epochs");
      }
      this.epochs = epochs;
      return this;
    }

    /** Micro-batches per optimizer step (each loss divided by it); default 1. */
    public Builder<B> gradientAccumulation(int microBatches) {
      once("gradientAccumulation");
      positive("gradientAccumulation", microBatches);
      this.accumulation = microBatches;
      return this;
    }

    /** Clips the global gradient 2-norm to {@code maxNorm} before each step; default off. */
    public Builder<B> clipGradNorm(double maxNorm) {
      once("clipGradNorm");
      if (!(maxNorm > 0)) {
        throw new IllegalArgumentException("clipGradNorm must be positive: " + maxNorm);
      }
      this.clipNorm = maxNorm;
      return this;
    }

    /** Evaluates every {@code steps} optimizer steps; needs {@link #evalData}. */
    public Builder<B> evalEvery(int steps) {
      once("evalEvery");
      positive("evalEvery", steps);
      this.evalEvery = steps;
      return this;
    }

    /** Stops after {@code evaluations} evaluations in a row without a lower eval loss; default off. */
    public Builder<B> earlyStoppingPatience(int evaluations) {
      once("earlyStoppingPatience");
      positive("earlyStoppingPatience", evaluations);
      this.patience = evaluations;
      return this;
    }

    /** Seed of libtorch's generator at the start of {@link Trainer#train()}; default 42. */
    public Builder<B> seed(long seed) {
      once("seed");
      this.seed = seed;
      return this;
    }

    /** Calls {@link TrainingListener#onLog} every {@code steps} steps (and at the last); default 10. */
    public Builder<B> logEvery(int steps) {
      once("logEvery");
      positive("logEvery", steps);
      this.logEvery = steps;
      return this;
    }

    /** Directory for {@code metrics.jsonl}, {@code loss_curve.png} and checkpoints. */
    public Builder<B> outputDir(Path outputDir) {
      once("outputDir");
      this.outputDir = Objects.requireNonNull(outputDir, "outputDir");
      return this;
    }

    /** Writes a checkpoint every {@code steps} steps (and at the end); needs {@link #outputDir}. */
    public Builder<B> checkpointEvery(int steps) {
      once("checkpointEvery");
      positive("checkpointEvery", steps);
      this.checkpointEvery = steps;
      return this;
    }

    /** Number of newest checkpoints kept; default 2. */
    public Builder<B> keepLastCheckpoints(int count) {
      once("keepLastCheckpoints");
      positive("keepLastCheckpoints", count);
      this.keepLast = count;
      return this;
    }

    /**
     * Gradient checkpointing (default off): each micro-batch keeps only the layers' inputs and
     * recomputes each layer in the backward pass (see {@link TrainingObjective#backward}), so the
     * activations inside the layers are held for one layer at a time. Loss and gradients are those
     * of an ordinary step, up to rounding; a step costs about one more forward pass of the layers.
     * The objective must support {@link TrainingObjective#lossStages}.
     */
    public Builder<B> gradientCheckpointing(boolean enabled) {
      once("gradientCheckpointing");
      this.checkpointing = enabled;
      return this;
    }

    /** Adds a progress listener (may be called repeatedly). */
    public Builder<B> listener(TrainingListener listener) {
      listeners.add(Objects.requireNonNull(listener, "listener"));
      return this;
    }

    /**
     * @throws IllegalStateException if neither maxSteps nor epochs is set, epochs give no
     *     step, evalData and evalEvery are not set together, early stopping lacks evaluation,
     *     or checkpointing lacks an output directory
     */
    public Trainer<B> build() {
      if (maxSteps == 0 && epochs == 0) {
        throw new IllegalStateException("set maxSteps or epochs");
      }
      if (epochs > 0 && (long) epochs * trainData.batchesPerEpoch() / accumulation == 0) {
        throw new IllegalStateException(epochs + " epoch(s) of " + trainData.batchesPerEpoch()
            + " batches make no step with gradientAccumulation " + accumulation);
      }
      if ((evalData == null) != (evalEvery == 0)) {
        throw new IllegalStateException("evalData and evalEvery must be set together");
      }
      if (patience > 0 && evalData == null) {
        throw new IllegalStateException("earlyStoppingPatience needs evalData and evalEvery");
      }
      if (checkpointEvery > 0 && outputDir == null) {
        throw new IllegalStateException("checkpointEvery needs outputDir");
      }
      if (trainData.batchesPerEpoch() <= 0) {
        throw new IllegalStateException("training data has no batches: " + trainData.batchesPerEpoch());
      }
      return new Trainer<>(this);
    }
  }
}
