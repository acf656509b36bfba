package dev.peft4j.cli;

import dev.peft4j.io.HfConfig;
import dev.peft4j.io.ModelWeights;
import dev.peft4j.io.TensorInfo;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Module;
import dev.peft4j.nn.ModuleList;
import dev.peft4j.tensor.DType;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code peft4j inspect}: the architecture, parameter count per module and the checkpoint's
 * dtypes — from {@code config.json} and the weight files' headers, without reading weights.
 */
@Command(name = "inspect", description = "Describe a model directory without loading its weights.")
final class InspectCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, paramLabel = "MODEL", description = CommonOptions.MODEL_DESCRIPTION)
  String model;

  @Option(names = "--verbose", description = "Print stack traces of errors.")
  boolean verbose;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    Path dir = CommonOptions.resolveModel(model);
    HfConfig config = HfConfig.read(dir);
    PrintWriter w = spec.commandLine().getOut();
    try (ModelWeights weights = ModelWeights.open(dir)) {
      PretrainedModel m = AutoModel.create(config, weights.names());
      w.printf("architecture  %s (model_type %s)%n", m.architecture(), m.modelType());
      w.printf("parameters    %,d%n", m.parameterCount());
      Map<DType, Integer> dtypes = new TreeMap<>();
      long bytes = 0;
      for (String name : weights.names()) {
        TensorInfo info = weights.info(name).orElseThrow();
        dtypes.merge(info.dtype(), 1, Integer::sum);
        bytes += info.byteLength();
      }
      w.printf("checkpoint    %d tensors, %,d bytes, dtype %s%n", weights.names().size(), bytes, dtypes);
      w.println();
      w.printf("%-48s %15s%n", "module", "parameters");
      printTree(w, m, "", 0);
    }
    w.flush();
    return 0;
  }

  /** Prints modules down to the first list (e.g. the layers), which is shown as N × one item. */
  private static void printTree(PrintWriter w, Module module, String path, int depth) {
    for (Map.Entry<String, Module> e : module.children().entrySet()) {
      String childPath = path.isEmpty() ? e.getKey() : path + "." + e.getKey();
      Module child = e.getValue();
      String indent = "  ".repeat(depth);
      if (child instanceof ModuleList && !child.children().isEmpty()) {
        ModuleList<?> list = (ModuleList<?>) child;
        w.printf("%-48s %,15d%n", indent + childPath + " (" + list.size() + " x)", child.parameterCount());
        printTree(w, list.get(0), childPath + ".0", depth + 1);
      } else {
        w.printf("%-48s %,15d%n", indent + childPath, child.parameterCount());
        if (depth < 3) {
          printTree(w, child, childPath, depth + 1);
        }
      }
    }
  }
}
