package dev.peft4j.cli;

import dev.peft4j.model.PretrainedModel;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code peft4j merge}: folds an adapter into the base weights and writes a standard checkpoint (a
 * classifier's with the head the adapter trained, which {@code --model} then loads as a classifier).
 */
@Command(name = "merge", description = "Merge an adapter into the model and save a full checkpoint.")
final class MergeCommand implements Callable<Integer> {
  @Mixin CommonOptions common;

  @Option(names = "--adapter", required = true, paramLabel = "ADAPTER", description = AdapterOption.DESCRIPTION)
  String adapter;

  @Option(names = "--output", required = true, paramLabel = "DIR", description = "Where the merged checkpoint goes.")
  Path output;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    Path modelDir = common.modelDir();
    Path adapterDir = CommonOptions.resolveModel(adapter);
    PretrainedModel merged = ModelSetup.loadAdapted(modelDir, adapterDir, common.loadOptions()).mergeAndUnload();
    ModelSetup.saveFullModel(merged, modelDir, output, ClassifierHead.readFrom(adapterDir).orElse(null));
    PrintWriter out = spec.commandLine().getOut();
    out.println("merged " + adapter + " into " + modelDir + "; saved to " + output);
    out.flush();
    return 0;
  }
}
