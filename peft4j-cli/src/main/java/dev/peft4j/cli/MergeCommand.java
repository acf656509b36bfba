package dev.peft4j.cli;

import dev.peft4j.model.AutoModel;
import dev.peft4j.model.ModelWriter;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.peft.PeftModel;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code peft4j merge}: folds an adapter into the base weights and writes a standard checkpoint. */
@Command(name = "merge", description = "Merge an adapter into the model and save a full checkpoint.")
final class MergeCommand implements Callable<Integer> {
  /** Files copied unchanged from the base model directory so the output is usable on its own. */
  private static final List<String> TOKENIZER_FILES = List.of(
      "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json");

  @Mixin CommonOptions common;

  @Option(names = "--adapter", required = true, paramLabel = "ADAPTER", description = AdapterOption.DESCRIPTION)
  String adapter;

  @Option(names = "--output", required = true, paramLabel = "DIR", description = "Where the merged checkpoint goes.")
  Path output;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    Path modelDir = common.modelDir();
    PretrainedModel base = AutoModel.load(modelDir, common.loadOptions());
    PretrainedModel merged = PeftModel.load(base, CommonOptions.resolveModel(adapter)).mergeAndUnload();
    ModelWriter.save(merged, output);
    for (String file : TOKENIZER_FILES) {
      if (Files.exists(modelDir.resolve(file))) {
        Files.copy(modelDir.resolve(file), output.resolve(file), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    PrintWriter out = spec.commandLine().getOut();
    out.println("merged " + adapter + " into " + modelDir + "; saved to " + output);
    out.flush();
    return 0;
  }
}
