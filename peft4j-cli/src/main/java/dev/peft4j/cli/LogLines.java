package dev.peft4j.cli;

import dev.peft4j.train.EvalResult;
import dev.peft4j.train.StepMetrics;
import java.io.PrintWriter;
import java.util.Locale;

/** Training progress as plain lines (for logs and non-interactive runs). */
final class LogLines implements ProgressReporter {
  private final PrintWriter out;

  LogLines(PrintWriter out) {
    this.out = out;
  }

  @Override
  public void onLog(StepMetrics m) {
    out.printf(Locale.ROOT, "step %d  epoch %d  loss %.4f  lr %.3e  grad-norm %.3f  %.0f tok/s  eta %ds%n",
        m.step(), m.epoch(), m.loss(), m.lr(), m.gradNorm(), m.tokensPerSecond(), m.eta().toSeconds());
    out.flush();
  }

  @Override
  public void close() {
    out.flush();
  }

  @Override
  public void onEval(EvalResult r) {
    out.printf(Locale.ROOT, "eval at step %d: loss %.4f  perplexity %.3f%s%n", r.step(), r.loss(), r.perplexity(),
        r.accuracy().isPresent() ? String.format(Locale.ROOT, "  accuracy %.4f", r.accuracy().getAsDouble()) : "");
    out.flush();
  }
}
