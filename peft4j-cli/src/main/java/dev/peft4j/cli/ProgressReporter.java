package dev.peft4j.cli;

import dev.peft4j.train.TrainingListener;
import java.io.PrintWriter;

/** How training progress reaches the terminal: a progress bar, or plain log lines. Close it when training ends. */
interface ProgressReporter extends TrainingListener, AutoCloseable {
  @Override
  void close();

  static ProgressReporter bar(long maxSteps) {
    return new ProgressListener(maxSteps);
  }

  static ProgressReporter lines(PrintWriter out) {
    return new LogLines(out);
  }
}
