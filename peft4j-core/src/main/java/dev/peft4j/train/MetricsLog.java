package dev.peft4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link TrainingListener} that writes one JSON object per line ({@code metrics.jsonl}),
 * flushed after each line:
 *
 * <pre>
 * {"type":"train","step":10,"epoch":0,"loss":2.31,"lr":5.0E-4,"grad_norm":1.2,"tokens_per_second":812.5,"elapsed_seconds":3.1}
 * {"type":"eval","step":10,"eval_loss":2.40,"perplexity":11.0,"count":512,"accuracy":0.61}
 * </pre>
 *
 * <p>Train lines come from {@link #onLog} (loss averaged since the previous line); eval lines
 * from {@link #onEval}, {@code accuracy} only when the objective counts correct items.
 * Non-finite numbers are written as the strings {@code "NaN"}/{@code "Infinity"}, so every
 * line stays valid JSON. After a resume the file is appended to, so steps between the last
 * checkpoint and a crash may appear twice; {@link #read} consumers should keep the last.
 */
public final class MetricsLog implements TrainingListener, AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final BufferedWriter out;

  private MetricsLog(BufferedWriter out) {
    this.out = out;
  }

  /** Opens {@code file}, truncating it ({@code append=false}) or appending to it. */
  public static MetricsLog open(Path file, boolean append) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    return new MetricsLog(Files.newBufferedWriter(file, StandardCharsets.UTF_8,
        StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING));
  }

  @Override
  public void onLog(StepMetrics m) {
    ObjectNode line = JSON.createObjectNode()
        .put("type", "train")
        .put("step", m.step())
        .put("epoch", m.epoch())
        .put("loss", m.loss())
        .put("lr", m.lr())
        .put("grad_norm", m.gradNorm())
        .put("tokens_per_second", m.tokensPerSecond())
        .put("elapsed_seconds", m.elapsed().toMillis() / 1000.0);
    write(line);
  }

  @Override
  public void onEval(EvalResult r) {
    ObjectNode line = JSON.createObjectNode()
        .put("type", "eval")
        .put("step", r.step())
        .put("eval_loss", r.loss())
        .put("perplexity", r.perplexity())
        .put("count", r.count());
    r.accuracy().ifPresent(a -> line.put("accuracy", a));
    write(line);
  }

  private void write(ObjectNode line) {
    try {
      out.write(JSON.writeValueAsString(line));
      out.write('\n');
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write metrics line", e);
    }
  }

  /** Reads every line of a metrics file as a JSON object, in order; blank lines are skipped. */
  public static List<JsonNode> read(Path file) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      if (!line.isBlank()) {
        out.add(JSON.readTree(line));
      }
    }
    return out;
  }

  @Override
  public void close() throws IOException {
    out.close();
  }
}
