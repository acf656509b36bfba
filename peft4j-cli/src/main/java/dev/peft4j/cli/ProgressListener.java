package dev.peft4j.cli;

import dev.peft4j.train.EvalResult;
import dev.peft4j.train.StepMetrics;
import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** A terminal progress bar: steps, loss, learning rate, tokens/s and ETA. */
final class ProgressListener implements ProgressReporter {
  private final ProgressBar bar;

  ProgressListener(long maxSteps) {
    bar = new ProgressBarBuilder().setTaskName("train").setInitialMax(maxSteps)
        .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250).showSpeed().build();
  }

  @Override
  public void onStep(StepMetrics m) {
    bar.stepTo(m.step());
    bar.setExtraMessage(String.format(Locale.ROOT, " loss %.4f lr %.2e %.0f tok/s", m.loss(), m.lr(), m.tokensPerSecond()));
  }

  @Override
  public void onEval(EvalResult r) {
    bar.setExtraMessage(String.format(Locale.ROOT, " eval loss %.4f%s", r.loss(),
        r.accuracy().isPresent() ? String.format(Locale.ROOT, " acc %.3f", r.accuracy().getAsDouble()) : ""));
  }

  @Override
  public void close() {
    bar.close();
  }
}
