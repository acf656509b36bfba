package dev.peft4j.peft;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.io.ModelFormatException;
import dev.peft4j.io.PythonJson;
import dev.peft4j.io.SafeTensorsFile;
import dev.peft4j.io.SafeTensorsWriter;
import dev.peft4j.io.TensorData;
import dev.peft4j.io.TensorFile;
import dev.peft4j.io.TorchSaveFile;
import dev.peft4j.nn.Parameter;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Hugging Face PEFT's two-file adapter layout: {@code adapter_config.json} (written as Python's
 * {@code json.dumps(indent=2, sort_keys=True)}) and {@code adapter_model.safetensors} (metadata
 * {@code {"format": "pt"}}); adapters PEFT saved as {@code adapter_model.bin} are read too. See
 * docs/FORMATS.md.
 */
public final class AdapterFormat {
  public static final String CONFIG_FILE = "adapter_config.json";
  public static final String WEIGHTS_FILE = "adapter_model.safetensors";
  /**
   * Where PEFT saves what its tuners (LoRA, adaption prompt, ...) hold: under the tuner's
   * {@code model}, e.g. {@code base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight}.
   * Prompt learning has no tuner: its modules_to_save go under {@code base_model.} alone.
   */
  public static final String TUNER_PREFIX = "base_model.model.";
  /** The weights as {@code torch.save} writes them, read when there is no {@link #WEIGHTS_FILE} (as PEFT does). */
  public static final String PICKLED_WEIGHTS_FILE = "adapter_model.bin";
  private static final ObjectMapper JSON = new ObjectMapper();

  private AdapterFormat() {}

  /** An adapter as read from disk: its config and tensors by saved name. */
  public record Saved(PeftConfig config, Map<String, TensorData> tensors, String source) {}

  /** Writes both files into {@code dir} (created if needed); each file is replaced atomically. */
  public static void write(Path dir, PeftConfig config, Map<String, Parameter> tensors) throws IOException {
    Files.createDirectories(dir);
    Map<String, TensorData> data = new TreeMap<>();
    try (Scope scope = Scope.open()) {
      tensors.forEach((name, p) -> {
        Tensor t = p.value();
        data.put(name, new TensorData(t.dtype(), t.shape(), t.toBytes()));
      });
    }
    SafeTensorsWriter.write(dir.resolve(WEIGHTS_FILE), data, Map.of("format", "pt"));
    Path tmp = Files.createTempFile(dir, CONFIG_FILE, ".tmp");
    Files.writeString(tmp, PythonJson.dumps(config.toJsonMap()), StandardCharsets.UTF_8);
    Files.move(tmp, dir.resolve(CONFIG_FILE), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /**
   * Reads an adapter directory written by peft4j or by Hugging Face PEFT: the weights from
   * {@link #WEIGHTS_FILE}, or from {@link #PICKLED_WEIGHTS_FILE} when that is all there is.
   */
  public static Saved read(Path dir) throws IOException {
    Path configFile = dir.resolve(CONFIG_FILE);
    String text;
    try {
      text = Files.readString(configFile, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new ModelFormatException("no " + CONFIG_FILE + " in " + dir + " (is this a PEFT adapter directory?)");
    }
    Map<String, Object> json;
    try {
      json = JSON.readValue(text, new TypeReference<LinkedHashMap<String, Object>>() {});
    } catch (JsonProcessingException e) {
      throw new ModelFormatException(configFile + " is not a valid JSON object: " + e.getOriginalMessage());
    }
    PeftConfig config = PeftMethods.parse(json, configFile.toString());
    Path weights = dir.resolve(WEIGHTS_FILE);
    Path pickled = dir.resolve(PICKLED_WEIGHTS_FILE);
    if (!Files.exists(weights) && !Files.exists(pickled)) {
      throw new ModelFormatException("no " + WEIGHTS_FILE + " (or " + PICKLED_WEIGHTS_FILE + ") in " + dir);
    }
    try (TensorFile file = Files.exists(weights) ? SafeTensorsFile.open(weights) : TorchSaveFile.open(pickled)) {
      return new Saved(config, file.readAll(), file.path().toString());
    }
  }

  /**
   * Copies saved tensors into the parameters of the same saved name (converting to each
   * parameter's dtype), after checking that the names are exactly {@code expected}'s and every
   * shape fits. Nothing is copied when a check fails.
   *
   * @param layers what the tensors are for, completing "does not fit ...", e.g. "the LoRA layers
   *     its config creates on LlamaForCausalLM"
   * @throws ModelFormatException listing missing and unexpected names, or naming the first
   *     tensor whose shape does not fit
   */
  public static void loadExactly(Map<String, Parameter> expected, Map<String, TensorData> tensors, String source,
      String layers) throws ModelFormatException {
    TreeSet<String> missing = new TreeSet<>(expected.keySet());
    missing.removeAll(tensors.keySet());
    TreeSet<String> unexpected = new TreeSet<>(tensors.keySet());
    unexpected.removeAll(expected.keySet());
    if (!missing.isEmpty() || !unexpected.isEmpty()) {
      throw new ModelFormatException(source + " does not fit " + layers + ": missing " + missing
          + ", unexpected " + unexpected);
    }
    for (Map.Entry<String, Parameter> e : expected.entrySet()) {
      long[] shape = tensors.get(e.getKey()).shape();
      if (!Arrays.equals(shape, e.getValue().shape())) {
        throw new ModelFormatException("tensor '" + e.getKey() + "' in " + source + " has shape "
            + Arrays.toString(shape) + " but this model needs " + Arrays.toString(e.getValue().shape())
            + " (was the adapter trained for another base model?)");
      }
    }
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      expected.forEach((key, p) -> {
        TensorData data = tensors.get(key);
        p.value().copy_(Tensor.fromBytes(data.data(), data.dtype(), data.shape()).to(p.value().dtype()));
      });
    }
  }

  /** Copies saved tensors into parameters of the same name, checking names and shapes first. */
  static void copyInto(Map<String, Parameter> params, Map<String, TensorData> tensors, String source)
      throws ModelFormatException {
    for (Map.Entry<String, Parameter> e : params.entrySet()) {
      TensorData d = tensors.get(e.getKey());
      if (d == null) {
        throw new ModelFormatException(source + " is missing '" + e.getKey() + "' (modules_to_save)");
      }
      if (!Arrays.equals(d.shape(), e.getValue().shape())) {
        throw new ModelFormatException("tensor '" + e.getKey() + "' in " + source + " has shape "
            + Arrays.toString(d.shape()) + " but the model needs " + Arrays.toString(e.getValue().shape()));
      }
    }
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      params.forEach((name, p) -> {
        TensorData d = tensors.get(name);
        p.value().copy_(Tensor.fromBytes(d.data(), d.dtype(), d.shape()));
      });
    }
  }
}
