package dev.peft4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.io.SafeTensorsFile;
import dev.peft4j.io.SafeTensorsWriter;
import dev.peft4j.io.TensorData;
import dev.peft4j.io.TensorInfo;
import dev.peft4j.model.AutoModel;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * {@code bench load}: how long {@link AutoModel#load} takes for a checkpoint of about 1 GB
 * (random f32 LLaMA weights written with {@link SafeTensorsWriter}), and where the time goes.
 *
 * <p>Three timings, each repeated: the whole {@code AutoModel.load}; only reading the mapped
 * bytes (one read per 4 KiB page: the floor a zero-copy loader would pay, page faults on the
 * mapping); and the loader's copy step alone ({@link Tensor#fromBytes}, one memcpy out of the
 * mapping per tensor). The file was just written, so it is in the page cache: these are warm
 * loads, the usual case for a model loaded again; a cold load adds the disk's read time.
 */
public final class LoadBench {
  /** A LLaMA shape whose f32 weights are 1.08 GB (271M parameters). */
  public static final ModelShape ONE_GB = new ModelShape(1024, 16, 16, 16, 2816, 32000);

  private LoadBench() {}

  public record Options(ModelShape shape, int reps, Path dir, boolean keep, long seed) {
    public Options {
      if (reps < 1) {
        throw new IllegalArgumentException("--reps must be >= 1: " + reps);
      }
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

      List<Double> loadMs = new ArrayList<>();
      List<Double> touchMs = new ArrayList<>();
      List<Double> copyMs = new ArrayList<>();
      long rssBefore = 0;
      long rssAfter = 0;
      for (int i = 0; i < o.reps(); i++) {
        System.gc();
        Memory.trim();
        rssBefore = Memory.rss();
        long t0 = System.nanoTime();
        PretrainedModel model = AutoModel.load(dir);
        loadMs.add((System.nanoTime() - t0) / 1e6);
        rssAfter = Memory.rss();
        RandomModels.free(model);
        Memory.trim();
        touchMs.add(touch(dir.resolve("model.safetensors")));
        copyMs.add(copy(dir.resolve("model.safetensors")));
      }
      Stats load = Stats.of(loadMs);
      Stats touch = Stats.of(touchMs);
      Stats copy = Stats.of(copyMs);
      double gb = bytes / 1e9;
      Report r = new Report("load", String.format(Locale.ROOT,
          "bench load: AutoModel.load of a %.2f GB f32 checkpoint (%s), warm page cache", gb, o.shape()));
      r.put("shape", o.shape().toJson())
          .put("bytes", bytes)
          .put("reps", o.reps())
          .put("write_ms", writeMs)
          .put("load_ms_median", load.median())
          .put("load_ms_min", load.min())
          .put("load_ms_max", load.max())
          .put("load_gb_per_s", gb / (load.median() / 1e3))
          .put("touch_mapped_ms_median", touch.median())
          .put("copy_from_mapping_ms_median", copy.median())
          .put("rss_growth_mib", Memory.mib(rssAfter - rssBefore))
          .put("rss_after_load_mib", Memory.mib(rssAfter))
          .put("load_average", Machine.loadAverage());
      Table t = new Table("step", "median ms", "min ms", "max ms", "GB/s");
      t.row("AutoModel.load (whole)", load.median(), load.min(), load.max(), gb / (load.median() / 1e3));
      t.row("read mapped pages only (zero-copy floor)", touch.median(), touch.min(), touch.max(), gb / (touch.median() / 1e3));
      t.row("Tensor.fromBytes copies only", copy.median(), copy.min(), copy.max(), gb / (copy.median() / 1e3));
      r.table(t);
      r.note(String.format(Locale.ROOT, "checkpoint written in %.0f ms; RSS grew %.0f MiB per load", writeMs,
          Memory.mib(rssAfter - rssBefore)));
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

  /** Maps every tensor and reads one long per 4 KiB page; returns the milliseconds. */
  private static double touch(Path file) throws IOException {
    long t0 = System.nanoTime();
    long sum = 0;
    try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
      for (TensorInfo info : f.tensors()) {
        ByteBuffer b = f.data(info.name());
        for (int i = 0; i + 8 <= b.limit(); i += 4096) {
          sum += b.getLong(i);
        }
      }
    }
    if (sum == 42) {
      System.out.print(""); // keep the reads
    }
    return (System.nanoTime() - t0) / 1e6;
  }

  /** Copies every tensor out of the mapping as the loader does; returns the milliseconds. */
  private static double copy(Path file) throws IOException {
    long t0 = System.nanoTime();
    try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
      for (TensorInfo info : f.tensors()) {
        try (Scope scope = Scope.open()) {
          Tensor.fromBytes(f.data(info.name()), info.dtype(), info.shape());
        }
      }
    }
    return (System.nanoTime() - t0) / 1e6;
  }
}
