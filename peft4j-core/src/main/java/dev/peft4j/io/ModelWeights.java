package dev.peft4j.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.peft4j.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * One view over the weights of a Hugging Face model directory, whether they are one
 * {@code model.safetensors} or shards listed by {@code model.safetensors.index.json}
 * (<code>{"weight_map": {tensor name: shard file name}}</code>; other index fields are ignored) —
 * or, for checkpoints saved before safetensors, the same as {@code torch.save} files:
 * {@code pytorch_model.bin} or {@code pytorch_model.bin.index.json} and its shards
 * ({@link TorchSaveFile}: read without running any code, and mapped as safetensors are).
 *
 * <p>{@link #open} checks, before returning, that the index is well-formed JSON with a
 * {@code weight_map} of strings, that every shard it names exists inside the directory and is a
 * valid weights file of its kind, that every tensor of the map is in the shard the map names, and that
 * no tensor is in two shards; each failure is a {@link SafeTensorsFormatException} naming the
 * index, the tensor and the shard. Tensors a shard holds beyond the map are part of the view.
 *
 * <p>Thread-safe; {@link #close} closes every shard.
 */
public final class ModelWeights implements AutoCloseable {

  /** The single-file weights name. */
  public static final String SINGLE_FILE = "model.safetensors";
  /** The sharded weights index name. */
  public static final String INDEX_FILE = "model.safetensors.index.json";
  /** The single-file weights name of a {@code torch.save} checkpoint. */
  public static final String PICKLED_FILE = "pytorch_model.bin";
  /** The sharded weights index name of a {@code torch.save} checkpoint. */
  public static final String PICKLED_INDEX_FILE = "pytorch_model.bin.index.json";
  /** What a model directory's weights may be, in the order they are looked for (Hugging Face's). */
  public static final List<String> WEIGHT_FILES = List.of(SINGLE_FILE, INDEX_FILE, PICKLED_FILE, PICKLED_INDEX_FILE);

  private static final JsonMapper INDEX_JSON = JsonMapper.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .build();

  private final Path source;
  private final List<TensorFile> files;
  private final SortedMap<String, TensorFile> owners;

  private ModelWeights(Path source, List<TensorFile> files,
      SortedMap<String, TensorFile> owners) {
    this.source = source;
    this.files = List.copyOf(files);
    this.owners = Collections.unmodifiableSortedMap(owners);
  }

  /**
   * Opens the weights at {@code path}: a model directory (the first of {@code model.safetensors},
   * {@code model.safetensors.index.json}, {@code pytorch_model.bin},
   * {@code pytorch_model.bin.index.json} it has, as Hugging Face prefers them), an index file, or a
   * single {@code .safetensors} or {@code .bin} file.
   *
   * @throws NoSuchFileException if a directory holds no weights file
   * @throws SafeTensorsFormatException if the index or a safetensors shard is malformed or inconsistent
   * @throws ModelFormatException if a {@code .bin} file is not a {@code torch.save} state dict
   * @throws IOException if a file cannot be read
   */
  public static ModelWeights open(Path path) throws IOException {
    if (Files.isDirectory(path)) {
      for (String name : WEIGHT_FILES) {
        if (Files.isRegularFile(path.resolve(name))) {
          return open(path.resolve(name));
        }
      }
      throw new NoSuchFileException(path.toString(), null,
          "model directory has no weights: none of " + String.join(", ", WEIGHT_FILES));
    }
    if (path.getFileName() != null && path.getFileName().toString().endsWith(".index.json")) {
      return ofIndex(path);
    }
    return ofSingle(path);
  }

  /** A single weights file: {@code torch.save}'s when its name ends in {@code .bin}, else safetensors. */
  private static TensorFile openFile(Path file) throws IOException {
    return file.getFileName() != null && file.getFileName().toString().endsWith(".bin")
        ? TorchSaveFile.open(file) : SafeTensorsFile.open(file);
  }

  /** Every tensor name, sorted. */
  public Set<String> names() {
    return owners.keySet();
  }

  /** The header entry of {@code name}, if present. */
  public Optional<TensorInfo> info(String name) {
    TensorFile file = owners.get(name);
    return file == null ? Optional.empty() : file.info(name);
  }

  /**
   * The mapped bytes of {@code name}; see {@link TensorFile#data}.
   *
   * @throws IllegalArgumentException if there is no such tensor
   */
  public ByteBuffer data(String name) {
    return require(name).data(name);
  }

  /**
   * The dtype, shape and mapped bytes of {@code name}; see {@link TensorFile#read}.
   *
   * @throws IllegalArgumentException if there is no such tensor
   */
  public TensorData read(String name) {
    return require(name).read(name);
  }

  /**
   * Tensor {@code name} sharing its file's copy-on-write mapping; see
   * {@link TensorFile#share}.
   *
   * @throws IllegalArgumentException if there is no such tensor
   */
  public Tensor share(String name) {
    return require(name).share(name);
  }

  /**
   * Tensor {@code name} copied into memory it owns; see {@link TensorFile#copy}.
   *
   * @throws IllegalArgumentException if there is no such tensor
   */
  public Tensor copy(String name) {
    return require(name).copy(name);
  }

  /**
   * The file holding {@code name}.
   *
   * @throws IllegalArgumentException if there is no such tensor
   */
  public Path fileOf(String name) {
    return require(name).path();
  }

  /** Closes every file, even if one fails; idempotent. */
  @Override
  public void close() {
    closeAll(files, null);
  }

  @Override
  public String toString() {
    return "ModelWeights[" + source + ", " + files.size() + " files, " + owners.size()
        + " tensors]";
  }

  private TensorFile require(String name) {
    TensorFile file = owners.get(name);
    if (file == null) {
      throw new IllegalArgumentException(source + ": no tensor named '" + name + "'");
    }
    return file;
  }

  private static ModelWeights ofSingle(Path file) throws IOException {
    TensorFile opened = openFile(file);
    SortedMap<String, TensorFile> owners = new TreeMap<>();
    for (TensorInfo t : opened.tensors()) {
      owners.put(t.name(), opened);
    }
    return new ModelWeights(file, List.of(opened), owners);
  }

  private static ModelWeights ofIndex(Path index) throws IOException {
    SortedMap<String, String> weightMap = readWeightMap(index);
    Path dir = index.toAbsolutePath().normalize().getParent();
    // shard file name -> opened shard, in name order; the first tensor mapped to it, for messages
    SortedMap<String, TensorFile> shards = new TreeMap<>();
    Map<String, String> exampleTensor = new TreeMap<>();
    for (Map.Entry<String, String> e : weightMap.entrySet()) {
      exampleTensor.putIfAbsent(e.getValue(), e.getKey());
    }
    try {
      for (Map.Entry<String, String> e : exampleTensor.entrySet()) {
        Path shard = resolveShard(index, dir, e.getKey(), e.getValue());
        if (!Files.isRegularFile(shard)) {
          throw new SafeTensorsFormatException(index, e.getValue(),
              "shard '" + e.getKey() + "' named in weight_map does not exist: " + shard);
        }
        shards.put(e.getKey(), openFile(shard));
      }
      SortedMap<String, TensorFile> owners = new TreeMap<>();
      for (TensorFile shard : shards.values()) {
        for (TensorInfo t : shard.tensors()) {
          TensorFile other = owners.putIfAbsent(t.name(), shard);
          if (other != null) {
            throw new SafeTensorsFormatException(index, t.name(), "found in two shards: '"
                + other.path().getFileName() + "' and '" + shard.path().getFileName() + "'");
          }
        }
      }
      for (Map.Entry<String, String> e : weightMap.entrySet()) {
        TensorFile shard = shards.get(e.getValue());
        if (shard.info(e.getKey()).isEmpty()) {
          TensorFile actual = owners.get(e.getKey());
          throw new SafeTensorsFormatException(index, e.getKey(), "weight_map puts it in shard '"
              + e.getValue() + "', but that shard has no such tensor"
              + (actual == null ? "" : " (it is in '" + actual.path().getFileName() + "')"));
        }
      }
      return new ModelWeights(index, new ArrayList<>(shards.values()), owners);
    } catch (IOException | RuntimeException | Error e) {
      closeAll(shards.values(), e);
      throw e;
    }
  }

  private static SortedMap<String, String> readWeightMap(Path index) throws IOException {
    long size = Files.size(index);
    if (size > SafeTensorsFile.MAX_HEADER_BYTES) {
      throw new SafeTensorsFormatException(index, null, "index is " + size
          + " bytes, over the limit of " + SafeTensorsFile.MAX_HEADER_BYTES);
    }
    JsonNode root;
    try {
      root = INDEX_JSON.readTree(Files.readAllBytes(index));
    } catch (JsonProcessingException e) {
      throw new SafeTensorsFormatException(index, null,
          "index is not valid JSON: " + e.getOriginalMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new SafeTensorsFormatException(index, null, "index must be a JSON object");
    }
    JsonNode map = root.get("weight_map");
    if (map == null || !map.isObject()) {
      throw new SafeTensorsFormatException(index, null,
          "index has no \"weight_map\" object (tensor name -> shard file)");
    }
    SortedMap<String, String> weightMap = new TreeMap<>();
    for (Map.Entry<String, JsonNode> e : map.properties()) {
      if (!e.getValue().isTextual() || e.getValue().textValue().isEmpty()) {
        throw new SafeTensorsFormatException(index, e.getKey(),
            "weight_map value must be a shard file name, found " + e.getValue());
      }
      weightMap.put(e.getKey(), e.getValue().textValue());
    }
    return weightMap;
  }

  /** Resolves a shard name against the index's directory, refusing paths that leave it. */
  private static Path resolveShard(Path index, Path dir, String shard, String tensor)
      throws SafeTensorsFormatException {
    Path resolved;
    try {
      Path relative = dir.getFileSystem().getPath(shard);
      resolved = relative.isAbsolute() ? relative : dir.resolve(relative).normalize();
    } catch (InvalidPathException e) {
      throw new SafeTensorsFormatException(index, tensor,
          "shard name '" + shard + "' is not a valid path", e);
    }
    if (!resolved.startsWith(dir) || resolved.equals(dir)) {
      throw new SafeTensorsFormatException(index, tensor,
          "shard '" + shard + "' is outside the model directory " + dir);
    }
    return resolved;
  }

  private static void closeAll(Iterable<TensorFile> files, Throwable failure) {
    RuntimeException first = null;
    for (TensorFile f : files) {
      try {
        f.close();
      } catch (RuntimeException e) {
        if (failure != null) {
          failure.addSuppressed(e);
        } else if (first == null) {
          first = e;
        } else {
          first.addSuppressed(e);
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }
}
