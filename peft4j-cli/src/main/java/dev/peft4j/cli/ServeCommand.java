package dev.peft4j.cli;

import dev.peft4j.model.CausalLm;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.serve.InferenceServer;
import dev.peft4j.serve.ServerConfig;
import dev.peft4j.text.Tokenizer;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code peft4j serve}: an OpenAI-compatible HTTP server ({@link InferenceServer}) for the model
 * and the named adapters. Runs until SIGTERM or Ctrl-C (or the thread is interrupted), then shuts
 * down gracefully.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = {"Serve the model and its adapters over HTTP: OpenAI-style /v1/completions and "
        + "/v1/chat/completions (\"model\" picks the adapter), /v1/models, and /admin/adapters to load and "
        + "unload adapters at run time. Concurrent requests are batched together, mixing adapters."})
final class ServeCommand implements Callable<Integer> {
  @Mixin CommonOptions common;

  @Option(names = "--adapter", paramLabel = "NAME=DIR",
      description = "An adapter to serve as model NAME (repeatable).")
  List<String> adapters = new ArrayList<>();

  @Option(names = "--served-model-name", paramLabel = "NAME",
      description = "The model id of the base model (default: the model directory's name or the repo id).")
  String servedModelName;

  @Option(names = "--host", defaultValue = "127.0.0.1", paramLabel = "HOST",
      description = "Address to listen on (default: ${DEFAULT-VALUE}, loopback only).")
  String host;

  @Option(names = "--port", defaultValue = "8080", paramLabel = "PORT",
      description = "Port (default: ${DEFAULT-VALUE}; 0 = any free port).")
  int port;

  @Option(names = "--max-batch", defaultValue = "8", paramLabel = "N",
      description = "Most requests decoded together (default: ${DEFAULT-VALUE}).")
  int maxBatch;

  @Option(names = "--max-queue", defaultValue = "64", paramLabel = "N",
      description = "Most requests waiting for the batch; more get HTTP 429 (default: ${DEFAULT-VALUE}).")
  int maxQueue;

  @Option(names = "--max-tokens", defaultValue = "256", paramLabel = "N",
      description = "Largest max_tokens a request may ask for (default: ${DEFAULT-VALUE}).")
  int maxTokens;

  @Option(names = "--max-body-bytes", defaultValue = "65536", paramLabel = "BYTES",
      description = "Largest request body; larger gets HTTP 413 (default: ${DEFAULT-VALUE}).")
  int maxBodyBytes;

  @Option(names = "--admin-token", defaultValue = "${env:PEFT4J_ADMIN_TOKEN}", paramLabel = "TOKEN",
      description = "Bearer token required by /admin (default: $PEFT4J_ADMIN_TOKEN; without one, /admin accepts "
          + "loopback clients only).")
  String adminToken;

  @Option(names = "--shutdown-timeout", defaultValue = "10", paramLabel = "SECONDS",
      description = "On shutdown, how long running requests may finish before they are cancelled "
          + "(default: ${DEFAULT-VALUE}).")
  long shutdownSeconds;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    Map<String, Path> named = adapterDirs(adapters);
    ServerConfig config = ServerConfig.builder().host(host).port(port).maxBatch(maxBatch).maxQueue(maxQueue)
        .maxTokens(maxTokens).maxBodyBytes(maxBodyBytes).adminToken(adminToken == null || adminToken.isEmpty()
            ? null : adminToken).shutdownTimeout(Duration.ofSeconds(shutdownSeconds)).build();
    Path dir = common.modelDir();
    if (!Files.isRegularFile(dir.resolve("tokenizer.json"))) {
      throw new IllegalArgumentException("serve needs a tokenizer, but " + dir + " has no tokenizer.json");
    }
    PrintWriter out = spec.commandLine().getOut();
    try (Tokenizer tokenizer = Tokenizer.load(dir)) {
      PretrainedModel model = ModelSetup.load(dir, null, common.loadOptions());
      if (!(model instanceof CausalLm)) {
        throw new IllegalArgumentException(dir + " holds a " + model.architecture() + ", not a causal language model");
      }
      String name = servedModelName != null ? servedModelName : defaultName(common.model);
      InferenceServer server = InferenceServer.start(model, tokenizer, name, named, config);
      Thread hook = new Thread(server::close, "peft4j-serve-shutdown");
      Runtime.getRuntime().addShutdownHook(hook);
      out.println("peft4j serve: listening on " + server.uri() + " - models: " + String.join(", ", server.models()));
      out.flush();
      boolean interrupted = false;
      try {
        server.awaitTermination();
      } catch (InterruptedException e) {
        interrupted = true; // stopped by the program that runs the command (or a test)
      } finally {
        server.close();
        try {
          Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
          // the hook is what stopped the server
        }
      }
      out.println("peft4j serve: stopped");
      out.flush();
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    return 0;
  }

  /** Parses the {@code --adapter NAME=DIR} options. */
  static Map<String, Path> adapterDirs(List<String> specs) {
    Map<String, Path> dirs = new LinkedHashMap<>();
    for (String spec : specs) {
      int eq = spec.indexOf('=');
      if (eq <= 0 || eq == spec.length() - 1) {
        throw new IllegalArgumentException("--adapter must be NAME=DIR, got '" + spec + "'");
      }
      String name = spec.substring(0, eq).strip();
      if (dirs.put(name, Path.of(spec.substring(eq + 1).strip())) != null) {
        throw new IllegalArgumentException("--adapter: the name '" + name + "' is given twice");
      }
    }
    return dirs;
  }

  /** The base model's id: the directory's name, or the repo id without its revision. */
  static String defaultName(String model) {
    Path path = Path.of(model);
    if (Files.isDirectory(path)) {
      Path name = path.toAbsolutePath().normalize().getFileName();
      return name == null ? "model" : name.toString();
    }
    int at = model.indexOf('@');
    return at < 0 ? model : model.substring(0, at);
  }
}
