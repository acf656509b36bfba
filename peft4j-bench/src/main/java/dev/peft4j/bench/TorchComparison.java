package dev.peft4j.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * The report's section against PyTorch eager: each run of {@code peft4j-bench/python/torch_baseline.py}
 * (cases {@code torch-train} and {@code torch-infer}, the default shape only; stack {@code hf},
 * transformers with PEFT, or {@code plain} PyTorch modules) beside the peft4j run of the same case,
 * dtype, batch and lengths that follows it. {@code run-all.sh} runs each baseline right before its
 * peft4j counterpart, so the pair sees the same machine, and repeats the pairs so that the table
 * can give medians.
 */
final class TorchComparison {
  private static final List<String> INFER_VARIANTS = List.of("base", "lora", "lora-merged");

  private TorchComparison() {}

  /** One figure of one Python run and of the peft4j run after it; {@code ratio} is peft4j's, > 1 better for speed. */
  private record Pair(double python, double peft4j, double ratio) {}

  /** The Markdown section, or an empty string when {@code runs} hold no PyTorch baseline. */
  static String markdown(List<JsonNode> runs) {
    // row label and stack -> the pairs measured for it, in the order of the runs
    Map<List<String>, List<Pair>> rows = new LinkedHashMap<>();
    String torchVersion = null;
    for (int i = 0; i < runs.size(); i++) {
      JsonNode torch = runs.get(i);
      String dtype = torch.path("dtype").asText();
      String stack = stack(torch);
      Optional<JsonNode> ours = Optional.empty();
      if ("torch-train".equals(torch.path("case").asText())) {
        ours = next(runs, i, r -> PerformanceReport.isTrain(r) && PerformanceReport.isDefaultShape(r)
            && dtype.equals(r.path("dtype").asText()) && "lora".equals(r.path("method").asText())
            && !PerformanceReport.checkpointed(r) && "highest".equals(r.path("f32_matmul_precision").asText("highest"))
            && sameInts(torch, r, "batch", "seq"));
        ours.ifPresent(r -> {
          double theirs = torch.path("step_ms_median").asDouble();
          double mine = r.path("step_ms_median").asDouble();
          add(rows, "LoRA training step, " + dtype + " (median ms; speed)", stack, new Pair(theirs, mine, theirs / mine));
          double theirRss = torch.path("peak_rss_mib").asDouble();
          double myRss = r.path("peak_rss_mib").asDouble();
          add(rows, "peak RSS of the process, " + dtype + " training (MiB; memory)", stack,
              new Pair(theirRss, myRss, myRss / theirRss));
        });
      } else if ("torch-infer".equals(torch.path("case").asText())) {
        ours = next(runs, i, r -> "infer".equals(r.path("case").asText())
            && PerformanceReport.isDefaultShape(r) && dtype.equals(r.path("dtype").asText())
            && sameInts(torch, r, "batch", "prompt", "decode"));
        ours.ifPresent(r -> {
          for (String name : INFER_VARIANTS) {
            Optional<JsonNode> theirs = variant(torch, name);
            Optional<JsonNode> mine = variant(r, name);
            if (theirs.isPresent() && mine.isPresent()) {
              for (String phase : new String[] {"prefill", "decode"}) {
                double a = theirs.get().path(phase + "_tokens_per_s").asDouble();
                double b = mine.get().path(phase + "_tokens_per_s").asDouble();
                add(rows, String.format(Locale.ROOT, "%s tokens/s, %s, %s (speed)", phase, name, dtype), stack,
                    new Pair(a, b, b / a));
              }
            }
          }
        });
      }
      if (ours.isPresent()) {
        torchVersion = torch.path("torch").asText();
      }
    }
    if (rows.isEmpty()) {
      return "";
    }
    Table t = new Table("case (default shape)", "Python stack", "pairs", "Python", "peft4j", "peft4j against Python");
    rows.forEach((key, pairs) -> t.row(key.get(0), key.get(1), pairs.size(),
        format(Stats.of(pairs.stream().map(Pair::python).toList()).median()),
        format(Stats.of(pairs.stream().map(Pair::peft4j).toList()).median()),
        ratios(pairs.stream().map(Pair::ratio).toList())));
    return "## Against PyTorch eager (`peft4j-bench/python/torch_baseline.py`)\n\n"
        + "The same model, LoRA, optimizer and loop in PyTorch " + torchVersion + ", on the same threads: as a Python user"
        + " runs it (Hugging Face transformers' `LlamaForCausalLM` with sdpa attention and PEFT's LoRA), and written out in"
        + " plain PyTorch modules (the same computation without the libraries' dispatch and hooks; the script's docstring"
        + " says what it mirrors). Each Python run is paired with the peft4j run of the same case that follows it; with"
        + " several pairs the figures are medians and the ratio is the median of the pairs' ratios (their range in"
        + " brackets). Speed above 1 and memory below 1 favour peft4j.\n\n"
        + t.markdown() + '\n';
  }

  private static void add(Map<List<String>, List<Pair>> rows, String label, String stack, Pair pair) {
    rows.computeIfAbsent(List.of(label, stack), k -> new ArrayList<>()).add(pair);
  }

  /** The median ratio, and with several pairs their range. */
  private static String ratios(List<Double> ratios) {
    Stats s = Stats.of(ratios);
    String median = String.format(Locale.ROOT, "%.2fx", s.median());
    return ratios.size() == 1 ? median : String.format(Locale.ROOT, "%s (%.2f-%.2f)", median, s.min(), s.max());
  }

  /** Which Python stack ran: transformers and PEFT with their versions, or the plain PyTorch modules. */
  private static String stack(JsonNode torch) {
    return "hf".equals(torch.path("stack").asText())
        ? "transformers " + torch.path("transformers").asText() + " + PEFT " + torch.path("peft").asText()
        : "PyTorch modules";
  }

  /** The first run after index {@code i} that {@code filter} accepts. */
  private static Optional<JsonNode> next(List<JsonNode> runs, int i, Predicate<JsonNode> filter) {
    return runs.subList(i + 1, runs.size()).stream().filter(filter).findFirst();
  }

  private static boolean sameInts(JsonNode a, JsonNode b, String... fields) {
    for (String f : fields) {
      if (a.path(f).asInt() != b.path(f).asInt()) {
        return false;
      }
    }
    return true;
  }

  private static Optional<JsonNode> variant(JsonNode run, String name) {
    for (JsonNode v : run.path("variants")) {
      if (name.equals(v.path("name").asText())) {
        return Optional.of(v);
      }
    }
    return Optional.empty();
  }

  private static String format(double value) {
    return String.format(Locale.ROOT, value >= 100 ? "%,.0f" : "%.1f", value);
  }
}
