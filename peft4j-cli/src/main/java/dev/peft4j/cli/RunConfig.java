package dev.peft4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * {@code --config run.yaml}: a file of option values, e.g. {@code r: 8}, {@code target: [q_proj, v_proj]},
 * {@code no-progress: true}. Its entries become {@code --key value} arguments placed before the
 * command line's own, so options given on the command line win.
 */
final class RunConfig {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private RunConfig() {}

  /** {@code args} with every {@code --config FILE} replaced by the options the file holds. */
  static String[] expand(String[] args) throws IOException {
    List<String> fromFiles = new ArrayList<>();
    List<String> rest = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--config") && i + 1 < args.length) {
        fromFiles.addAll(read(Path.of(args[++i])));
      } else if (args[i].startsWith("--config=")) {
        fromFiles.addAll(read(Path.of(args[i].substring("--config=".length()))));
      } else {
        rest.add(args[i]);
      }
    }
    if (fromFiles.isEmpty()) {
      return args;
    }
    // the subcommand name stays first; file options go right after it, before the user's options
    List<String> out = new ArrayList<>();
    out.add(rest.isEmpty() ? "" : rest.get(0));
    out.addAll(fromFiles);
    out.addAll(rest.subList(Math.min(1, rest.size()), rest.size()));
    return out.toArray(new String[0]);
  }

  static List<String> read(Path file) throws IOException {
    JsonNode root;
    try {
      root = YAML.readTree(Files.readString(file));
    } catch (NoSuchFileException e) {
      throw new NoSuchFileException(file + " (--config)");
    } catch (IOException e) {
      throw new IllegalArgumentException("--config " + file + " is not valid YAML: " + e.getMessage().split("\n")[0]);
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("--config " + file + " must be a mapping of option names to values");
    }
    List<String> out = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String option = "--" + e.getKey();
      JsonNode v = e.getValue();
      if (v.isBoolean()) {
        if (v.booleanValue()) {
          out.add(option);
        }
      } else if (v.isArray()) {
        List<String> items = new ArrayList<>();
        v.forEach(item -> items.add(item.asText()));
        out.add(option);
        out.add(String.join(",", items));
      } else if (v.isValueNode() && !v.isNull()) {
        out.add(option);
        out.add(v.asText());
      } else {
        throw new IllegalArgumentException("--config " + file + ": '" + e.getKey() + "' must be a value or a list");
      }
    }
    return out;
  }
}
