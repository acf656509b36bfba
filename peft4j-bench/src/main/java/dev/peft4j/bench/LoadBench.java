package dev.peft4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.io.SafeTensorsWriter;
import dev.peft4j.io.TensorData;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.model.llama.LlamaForCausalLM;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;

/**
 * {@code bench load}: how long {@link AutoModel#load} takes for a checkpoint of about 1 GB
 * (random f32 LLaMA weights written with {@link SafeTensorsWriter}), and what the first forward
 * pays after it.
 *
 * <p>Two loads, interleaved in every repetition: the default one, whose weights share a
 * copy-on-write mapping of the file (no copy: the pages are read, and page-faulted in, by the
 * first forward), and the copying one ({@link LoadOptions#withMapWeights} false: one
 * {@code memcpy} per weight out of the mapping). Each is followed by two forwards of
 * {@value #TOKENS} tokens: the first reads every weight for the first time, the second is the
 * steady state. Memory: RSS after the load and after the first forward, split into anonymous
 * pages (copies, activations) and file-backed ones (the mapping), and the peak RSS through load
 * and first forward, each as growth over the RSS before the load. The file was just written, so
 * it is in the page cache: these are warm loads, the usual case for a model loaded again; a cold
 * load adds the disk's read time (to the first forward, for a mapped load).
 */
public final class LoadBench {
  /** A LLaMA shape whose f32 weights are 1.08 GB (271M parameters). */
  public static final ModelShape ONE_GB = new ModelShape(1024, 16, 16, 16, 2816, 32000);
  /** Tokens in each timed forward (batch 1): little compute, so the forward is mostly reading the weights. */
  public static final int TOKENS = 1;

  private LoadBench() {}

  public record Options(ModelShape shape, int reps, Path dir, boolean keep, long seed) {
    public Options {
      if (reps < 1) {
        throw new IllegalArgumentException("--reps must be >= 1: " + reps);
      }
    }
  }

  /** One load and the two forwards after it; memory as growth over the RSS before the load. */
  private record Sample(double loadMs, double firstForwardMs, double forwardMs, long rssAfterLoad,
      long anonAfterLoad, long fileAfterLoad, long rssAfterForward, long anonAfterForward,
      long fileAfterForward, long peakRss) {}

  private enum Mode {
    MAPPED("mapped (default): weights share the file's pages", true),
    COPIED("copying (mapWeights false)", false);

    final String label;
    final boolean mapWeights;

    Mode(String label, boolean mapWeights) {
      this.label = label;
      this.mapWeights = mapWeights;
    }
  }

  public static Report run(Options o) throws IOException {
    Engine.ensureLoaded();
    Path dir = o.dir() != null ? o.dir() : Files.createTempDirectory("peft4j-bench-load");
    Files.createDirectories(dir);
    try {
      long writeStart = System.nanoTime();
      long bytes = writeCheckpoint(o.shape(), dir, o.seed());
      double writeMs = (System.nanoTime() - writeStart) / 1e6;

      Map<Mode, List<Sample>> samples = new EnumMap<>(Mode.class);
      for (int i = 0; i < o.reps(); i++) {
        for (Mode m : Mode.values()) {
          samples.computeIfAbsent(m, k -> new ArrayList<>())
              .add(measure(dir, LoadOptions.defaults().withMapWeights(m.mapWeights), o.shape()));
        }
      }
      double gb = bytes / 1e9;
      Report r = new Report("load", String.format(Locale.ROOT,
          "bench load: AutoModel.load of a %.2f GB f32 checkpoint (%s), warm page cache, then forwards of %d token(s)",
          gb, o.shape(), TOKENS));
      Stats mappedLoad = Stats.of(times(samples.get(Mode.MAPPED), Sample::loadMs));
      r.put("shape", o.shape().toJson())
          .put("bytes", bytes)
          .put("reps", o.reps())
          .put("tokens", TOKENS)
          .put("write_ms", writeMs)
          .put("load_ms_median", mappedLoad.median()) // the default load, for the target
          .put("load_gb_per_s", gb / (mappedLoad.median() / 1e3));
      Table t = new Table("load", "load ms (median / min / max)", "1st forward ms", "2nd forward ms",
          "RSS after load, MiB (anon / file)", "RSS after 1st forward, MiB (anon / file)", "peak RSS, MiB");
      for (Mode m : Mode.values()) {
        List<Sample> s = samples.get(m);
        Stats load = Stats.of(times(s, Sample::loadMs));
        Stats first = Stats.of(times(s, Sample::firstForwardMs));
        Stats steady = Stats.of(times(s, Sample::forwardMs));
        Sample last = s.get(s.size() - 1);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("load_ms_median", load.median());
        json.put("load_ms_min", load.min());
        json.put("load_ms_max", load.max());
        json.put("first_forward_ms_median", first.median());
        json.put("forward_ms_median", steady.median());
        json.put("rss_after_load_mib", Memory.mib(last.rssAfterLoad()));
        json.put("rss_anon_after_load_mib", Memory.mib(last.anonAfterLoad()));
        json.put("rss_file_after_load_mib", Memory.mib(last.fileAfterLoad()));
        json.put("rss_after_forward_mib", Memory.mib(last.rssAfterForward()));
        json.put("rss_anon_after_forward_mib", Memory.mib(last.anonAfterForward()));
        json.put("rss_file_after_forward_mib", Memory.mib(last.fileAfterForward()));
        json.put("peak_rss_mib", Memory.mib(last.peakRss()));
        r.put(m.name().toLowerCase(Locale.ROOT), json);
        t.row(m.label, String.format(Locale.ROOT, "%.1f / %.1f / %.1f", load.median(), load.min(), load.max()),
            first.median(), steady.median(),
            split(last.rssAfterLoad(), last.anonAfterLoad(), last.fileAfterLoad()),
            split(last.rssAfterForward(), last.anonAfterForward(), last.fileAfterForward()),
            Memory.mib(last.peakRss()));
      }
      r.put("load_average", Machine.loadAverage());
      r.table(t);
      r.note(String.format(Locale.ROOT, "checkpoint written in %.0f ms; memory columns are growth over the RSS"
          + " before each load (last repetition), peak through load and 1st forward", writeMs));
      return r;
    } finally {
      if (!o.keep() && o.dir() == null) {
        try (Stream<Path> files = Files.list(dir)) {
          for (Path p : files.toList()) {
            Files.deleteIfExists(p);
          }
        }
        Files.deleteIfExists(dir);
      }
    }
  }

  private static Sample measure(Path dir, LoadOptions options, ModelShape shape) throws IOException {
    System.gc();
    Memory.trim();
    Memory.resetPeak();
    long rss = Memory.rss();
    long anon = Memory.rssAnon();
    long file = Memory.rssFile();
    long t0 = System.nanoTime();
    PretrainedModel model = AutoModel.load(dir, options);
    double loadMs = (System.nanoTime() - t0) / 1e6;
    long rssLoad = Memory.rss() - rss;
    long anonLoad = Memory.rssAnon() - anon;
    long fileLoad = Memory.rssFile() - file;
    double firstMs = forwardMs((CausalLm) model, shape);
    long rssForward = Memory.rss() - rss;
    long anonForward = Memory.rssAnon() - anon;
    long fileForward = Memory.rssFile() - file;
    long peak = Memory.peakRss() - rss;
    double steadyMs = forwardMs((CausalLm) model, shape);
    RandomModels.free(model);
    Memory.trim();
    return new Sample(loadMs, firstMs, steadyMs, rssLoad, anonLoad, fileLoad, rssForward, anonForward,
        fileForward, peak);
  }

  /** One no-grad forward of {@link #TOKENS} tokens, in milliseconds. */
  private static double forwardMs(CausalLm model, ModelShape shape) {
    long[] ids = new long[TOKENS];
    for (int i = 0; i < TOKENS; i++) {
      ids[i] = (i * 7919L) % shape.vocab();
    }
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      long t0 = System.nanoTime();
      model.forward(Tensor.ofLongs(ids, 1, TOKENS), null, null);
      return (System.nanoTime() - t0) / 1e6;
    }
  }

  private static List<Double> times(List<Sample> samples, ToDoubleFunction<Sample> f) {
    return samples.stream().map(s -> f.applyAsDouble(s)).toList();
  }

  private static String split(long total, long anon, long file) {
    return String.format(Locale.ROOT, "%.0f (%.0f / %.0f)", Memory.mib(total), Memory.mib(anon), Memory.mib(file));
  }

  /** Writes config.json and model.safetensors of random weights; returns the weights' bytes. */
  public static long writeCheckpoint(ModelShape shape, Path dir, long seed) throws IOException {
    LlamaForCausalLM model = RandomModels.llama(shape, DType.F32, 2048, seed);
    Map<String, TensorData> tensors = new TreeMap<>();
    long bytes = 0;
    try (Scope scope = Scope.open()) {
      for (var e : model.namedParameters().entrySet()) {
        Tensor v = e.getValue().value();
        ByteBuffer data = v.toBytes();
        bytes += data.remaining();
        tensors.put(e.getKey(), new TensorData(v.dtype(), v.shape(), data));
      }
    }
    RandomModels.free(model);
    SafeTensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
    tensors.clear();
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("architectures", List.of("LlamaForCausalLM"));
    config.put("model_type", "llama");
    config.put("vocab_size", shape.vocab());
    config.put("hidden_size", shape.dim());
    config.put("intermediate_size", shape.ffn());
    config.put("num_hidden_layers", shape.layers());
    config.put("num_attention_heads", shape.heads());
    config.put("num_key_value_heads", shape.kvHeads());
    config.put("max_position_embeddings", 2048);
    config.put("rms_norm_eps", 1e-5);
    config.put("rope_theta", 10000.0);
    config.put("tie_word_embeddings", false);
    config.put("torch_dtype", "float32");
    Files.writeString(dir.resolve("config.json"), new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(config));
    return bytes;
  }
}
