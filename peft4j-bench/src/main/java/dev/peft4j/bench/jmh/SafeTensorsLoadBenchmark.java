package dev.peft4j.bench.jmh;

import dev.peft4j.bench.LoadBench;
import dev.peft4j.bench.ModelShape;
import dev.peft4j.bench.RandomModels;
import dev.peft4j.io.SafeTensorsFile;
import dev.peft4j.io.TensorInfo;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Loading the default bench shape's checkpoint (20M f32 parameters, 80 MB) from a warm page
 * cache: the header and mapped reads alone, the copies into tensors, and the whole
 * {@link AutoModel#load}.
 */
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
public class SafeTensorsLoadBenchmark extends MicroBenchmark {
  private Path dir;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    dir = Files.createTempDirectory("peft4j-jmh-load");
    LoadBench.writeCheckpoint(ModelShape.DEFAULT, dir, 1);
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      for (Path p : files.toList()) {
        Files.deleteIfExists(p);
      }
    }
    Files.deleteIfExists(dir);
  }

  @Benchmark
  public long openAndMap() throws IOException {
    long sum = 0;
    try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve("model.safetensors"))) {
      for (TensorInfo info : f.tensors()) {
        sum += f.data(info.name()).getLong(0);
      }
    }
    return sum;
  }

  @Benchmark
  public void copyIntoTensors() throws IOException {
    try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve("model.safetensors"))) {
      for (TensorInfo info : f.tensors()) {
        try (Scope scope = Scope.open()) {
          Tensor.fromBytes(f.data(info.name()), info.dtype(), info.shape());
        }
      }
    }
  }

  @Benchmark
  public void autoModelLoad() throws IOException {
    PretrainedModel model = AutoModel.load(dir);
    RandomModels.free(model);
  }
}
