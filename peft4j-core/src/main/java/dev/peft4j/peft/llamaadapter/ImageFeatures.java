package dev.peft4j.peft.llamaadapter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.Npy;
import dev.peft4j.io.SafeTensorsFile;
import dev.peft4j.io.TensorData;
import dev.peft4j.io.TensorInfo;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Precomputed image features for multimodal LLaMA-Adapter, one file per example: a float32
 * {@code .npy} array or a {@code .safetensors} file (its only tensor, or the one named
 * {@code image_features}), of any shape with {@code visual_feature_dim} values in all (several
 * scales concatenated). A JSONL dataset references them by a key, e.g.
 * {@code {"prompt": ..., "completion": ..., "image_features": "img/0001.npy"}}, relative to the
 * JSONL file's directory.
 */
public final class ImageFeatures {
  /** The JSONL key naming an example's feature file. */
  public static final String KEY = "image_features";

  private ImageFeatures() {}

  /**
   * @throws ModelFormatException if the file cannot be read as float features, or holds other than
   *     {@code dim} values ("a feature of the wrong size")
   */
  public static float[] read(Path file, int dim) throws IOException {
    float[] values;
    String name = file.getFileName().toString();
    if (name.endsWith(".npy")) {
      values = Npy.readFloat32(file).data();
    } else if (name.endsWith(".safetensors")) {
      values = readSafeTensors(file);
    } else {
      throw new ModelFormatException(file + ": image features must be a .npy or .safetensors file");
    }
    if (values.length != dim) {
      throw new ModelFormatException("image feature " + file + " has " + values.length
          + " values but the adapter's visual_feature_dim is " + dim);
    }
    return values;
  }

  private static float[] readSafeTensors(Path file) throws IOException {
    try (SafeTensorsFile f = SafeTensorsFile.open(file); Scope scope = Scope.open()) {
      List<TensorInfo> infos = f.tensors();
      String name = infos.size() == 1 ? infos.get(0).name() : KEY;
      if (infos.stream().noneMatch(i -> i.name().equals(name))) {
        throw new ModelFormatException(file + " holds " + infos.size() + " tensors and none is named '" + KEY + "'");
      }
      TensorData d = f.read(name);
      return Tensor.fromBytes(d.data(), d.dtype(), d.shape()).to(DType.F32).toFloatArray();
    }
  }

  /**
   * The feature of every line of a JSONL file, in order.
   *
   * @throws ModelFormatException naming the line when a line has no {@value #KEY} string or its
   *     file is unreadable or has the wrong size
   */
  public static float[][] forJsonl(Path jsonl, int dim) throws IOException {
    ObjectMapper json = new ObjectMapper();
    List<float[]> out = new ArrayList<>();
    List<String> lines = Files.readAllLines(jsonl, StandardCharsets.UTF_8);
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).isBlank()) {
        continue;
      }
      JsonNode node = json.readTree(lines.get(i)).get(KEY);
      if (node == null || !node.isTextual()) {
        throw new ModelFormatException(jsonl + " line " + (i + 1) + ": missing \"" + KEY + "\" (the path of its image features)");
      }
      try {
        out.add(read(jsonl.toAbsolutePath().getParent().resolve(node.textValue()), dim));
      } catch (IOException e) {
        throw new ModelFormatException(jsonl + " line " + (i + 1) + ": " + e.getMessage(), e);
      }
    }
    return out.toArray(new float[0][]);
  }
}
