package dev.peft4j.serve;

import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.text.Tokenizer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An OpenAI-compatible HTTP server for one frozen base model and any number of adapters on it:
 *
 * <ul>
 *   <li>{@code POST /v1/completions} and {@code POST /v1/chat/completions}, where {@code model}
 *       names the adapter (the base model's name, or {@code base}, for none); {@code "stream": true}
 *       answers with server-sent events;
 *   <li>{@code GET /v1/models} lists the base model and the adapters;
 *   <li>{@code POST /admin/adapters} and {@code DELETE /admin/adapters/{name}} load and unload
 *       adapters while serving;
 *   <li>{@code GET /health}.
 * </ul>
 *
 * <p>One scheduler thread owns the model and batches concurrent requests continuously: waiting
 * requests are prefilled and join the running batch between two decode steps, finished ones
 * leave it, and each row runs with its own adapter
 * ({@link dev.peft4j.peft.PeftModel#perRowAdapters}). A request's greedy output equals
 * generating its prompt alone with its adapter. Limits: {@link ServerConfig}.
 *
 * <pre>{@code
 * InferenceServer server = InferenceServer.start(model, tokenizer, "my-model",
 *     Map.of("sql", Path.of("adapters/sql")), ServerConfig.builder().port(8080).build());
 * Runtime.getRuntime().addShutdownHook(new Thread(server::close)); // SIGTERM, Ctrl-C
 * server.awaitTermination();
 * }</pre>
 *
 * The server uses the model and tokenizer but does not own them: close them after the server.
 */
public final class InferenceServer implements AutoCloseable {
  private final ServerConfig config;
  private final ServedAdapters adapters;
  private final Scheduler scheduler;
  private final ServerStats stats;
  private final HttpServer http;
  private final ThreadPoolExecutor executor;
  private final AtomicInteger answering; // exchanges whose handler is running
  private final AtomicBoolean closing = new AtomicBoolean();
  private final CountDownLatch terminated = new CountDownLatch(1);

  private InferenceServer(ServerConfig config, ServedAdapters adapters, Scheduler scheduler, ServerStats stats,
      HttpServer http, ThreadPoolExecutor executor, AtomicInteger answering) {
    this.config = config;
    this.adapters = adapters;
    this.scheduler = scheduler;
    this.stats = stats;
    this.http = http;
    this.executor = executor;
    this.answering = answering;
  }

  /**
   * Loads {@code adapters} onto {@code model} and starts serving.
   *
   * @param model a causal language model; its parameters are frozen when the first adapter loads
   * @param tokenizer the model's tokenizer (prompts, output text, EOS ids, chat template — ChatML
   *     when it has none)
   * @param modelName the name under which clients ask for the base model
   * @param adapters adapter directories by the name clients use for them; may be empty
   * @throws IllegalArgumentException if the model is not a causal LM, or an adapter name is
   *     invalid or taken
   * @throws IOException if an adapter cannot be loaded or the port cannot be bound
   */
  public static InferenceServer start(PretrainedModel model, Tokenizer tokenizer, String modelName,
      Map<String, Path> adapters, ServerConfig config) throws IOException {
    Objects.requireNonNull(tokenizer, "tokenizer");
    Objects.requireNonNull(config, "config");
    if (!(model instanceof CausalLm)) {
      throw new IllegalArgumentException(model.architecture() + " is not a causal language model");
    }
    if (modelName.isBlank()) {
      throw new IllegalArgumentException("the model name must not be blank");
    }
    CausalLm lm = (CausalLm) model;
    ServerStats stats = new ServerStats();
    ServedAdapters served = new ServedAdapters(model, modelName);
    Scheduler scheduler = new Scheduler(lm, served, config, stats);
    scheduler.start();
    try {
      for (Map.Entry<String, Path> a : adapters.entrySet()) {
        loadAtStart(scheduler, served, a.getKey(), a.getValue());
      }
      RequestParser parser = new RequestParser(tokenizer, served, config.maxTokens(), lm.contextLength(), lm.vocabSize());
      HttpServer http;
      try {
        http = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 0);
      } catch (IOException e) {
        throw new IOException("cannot listen on " + config.host() + ":" + config.port() + ": " + e.getMessage(), e);
      }
      ThreadPoolExecutor executor = executor(config.maxBatch() + config.maxQueue() + 16);
      http.setExecutor(executor);
      AtomicInteger answering = new AtomicInteger();
      routes(parser, tokenizer, scheduler, served, config).forEach((path, handler) ->
          http.createContext(path, exchange -> {
            answering.incrementAndGet();
            try {
              handler.handle(exchange);
            } finally {
              answering.decrementAndGet();
            }
          }));
      http.start();
      return new InferenceServer(config, served, scheduler, stats, http, executor, answering);
    } catch (IOException | RuntimeException e) {
      scheduler.shutdown(Duration.ZERO);
      throw e;
    }
  }

  /** The endpoints by context path (a context also receives the paths below it). */
  private static Map<String, HttpHandler> routes(RequestParser parser, Tokenizer tokenizer, Scheduler scheduler,
      ServedAdapters served, ServerConfig config) {
    int maxBody = config.maxBodyBytes();
    return Map.of(
        "/v1/completions", new CompletionsHandler(false, parser, tokenizer, scheduler, maxBody),
        "/v1/chat/completions", new CompletionsHandler(true, parser, tokenizer, scheduler, maxBody),
        "/v1/models", new ModelsHandler(served),
        AdminHandler.PATH, new AdminHandler(scheduler, served, config.adminToken(), maxBody),
        "/health", exchange -> Exchanges.serve(exchange, "GET", "/health",
            () -> Exchanges.sendJson(exchange, 200, "{\"status\":\"ok\"}")),
        "/", exchange -> Exchanges.serve(exchange, null, null, () -> {
          throw ApiException.notFound("No endpoint " + exchange.getRequestURI().getPath());
        }));
  }

  private static void loadAtStart(Scheduler scheduler, ServedAdapters served, String name, Path dir)
      throws IOException {
    try {
      scheduler.call(() -> {
        served.load(name, dir);
        return null;
      }).get();
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof IOException) {
        throw (IOException) cause;
      }
      if (cause instanceof ApiException) {
        throw new IllegalArgumentException("adapter " + name + "=" + dir + ": " + cause.getMessage(), cause);
      }
      if (cause instanceof RuntimeException) {
        throw (RuntimeException) cause;
      }
      throw new IllegalStateException(cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while loading adapter " + name, e);
    }
  }

  /** Handler threads: one per request being answered; requests beyond the pool wait for a thread. */
  private static ThreadPoolExecutor executor(int threads) {
    AtomicInteger count = new AtomicInteger();
    ThreadPoolExecutor executor = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(), r -> {
          Thread t = new Thread(r, "peft4j-http-" + count.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
    executor.allowCoreThreadTimeOut(true);
    return executor;
  }

  /** The port the server listens on (the chosen one when the config said 0). */
  public int port() {
    return http.getAddress().getPort();
  }

  /** {@code http://host:port}, without a trailing slash. */
  public URI uri() {
    return URI.create("http://" + hostForUri(config.host()) + ":" + port());
  }

  private static String hostForUri(String host) {
    return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
  }

  /** The model ids served now: the base model's name, then the adapters. */
  public List<String> models() {
    return adapters.modelIds();
  }

  public ServerConfig config() {
    return config;
  }

  /**
   * Shuts down gracefully: new requests get 503, waiting ones too; running ones may finish for up
   * to {@link ServerConfig#shutdownTimeout()} and are then cancelled; then the port is closed.
   * Idempotent; a second caller waits for the first to finish.
   */
  @Override
  public void close() {
    if (!closing.compareAndSet(false, true)) {
      awaitQuietly();
      return;
    }
    try {
      scheduler.shutdown(config.shutdownTimeout());
      awaitAnswers(); // every request has its last event now; let the handlers write it
      http.stop(0);
      executor.shutdown();
      try {
        executor.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    } finally {
      terminated.countDown();
    }
  }

  /** Waits up to 2 s for handlers to finish writing (HttpServer.stop(n) of JDK 17 always waits n s). */
  private void awaitAnswers() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
    while (answering.get() > 0 && System.nanoTime() < deadline) {
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** Waits until {@link #close()} has finished (e.g. from a shutdown hook). */
  public void awaitTermination() throws InterruptedException {
    terminated.await();
  }

  private void awaitQuietly() {
    try {
      terminated.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  ServerStats stats() {
    return stats;
  }

  Scheduler scheduler() {
    return scheduler;
  }
}
