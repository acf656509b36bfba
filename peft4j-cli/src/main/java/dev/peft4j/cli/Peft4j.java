package dev.peft4j.cli;

import java.io.IOException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code peft4j} command line. Errors print one line and exit 2 ({@code --verbose} adds the stack trace). */
@Command(
    name = "peft4j",
    mixinStandardHelpOptions = true,
    version = "peft4j 0.1.0",
    description = "Parameter-efficient fine-tuning of transformer models on the JVM.",
    subcommands = {TrainCommand.class, EvalCommand.class, GenerateCommand.class, ForwardCommand.class,
        MergeCommand.class, InspectCommand.class, ImportOnnxCommand.class, ServeCommand.class, BenchCommand.class,
        CommandLine.HelpCommand.class})
public final class Peft4j {
  static final int ERROR_EXIT = 2;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the CLI and returns its exit code (for tests). */
  public static int run(String... args) {
    CommandLine cli = new CommandLine(new Peft4j());
    cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
      boolean verbose = parsed.subcommands().stream().anyMatch(p -> p.hasMatchedOption("--verbose"))
          || parsed.hasMatchedOption("--verbose");
      cmd.getErr().println("peft4j: error: " + Errors.describe(e));
      if (verbose) {
        e.printStackTrace(cmd.getErr());
      }
      return ERROR_EXIT;
    });
    cli.setOverwrittenOptionsAllowed(true); // --config values first, the command line's own win
    String[] expanded;
    try {
      expanded = RunConfig.expand(args);
    } catch (IOException | RuntimeException e) {
      cli.getErr().println("peft4j: error: " + Errors.describe(e));
      cli.getErr().flush();
      return ERROR_EXIT;
    }
    return cli.execute(expanded);
  }
}
