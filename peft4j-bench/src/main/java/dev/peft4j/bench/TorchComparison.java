package dev.peft4j.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * The report's section against PyTorch eager: each run of {@code peft4j-bench/python/torch_baseline.py}
 * (cases {@code torch-train} and {@code torch-infer}, the default shape only; stack {@code hf},
 * transformers with PEFT, or {@code plain} PyTorch modules) beside the peft4j run of the same case,
 * dtype, batch and lengths. {@code run-all.sh} runs each baseline right before
 * its peft4j counterpart, so the pair sees the same machine.
 */
final class TorchComparison {
  private static final List<String> INFER_VARIANTS = List.of("base", "lora", "lora-merged");

  private TorchComparison() {}

  /** The Markdown section, or an empty string when {@code runs} hold no PyTorch baseline. */
  static String markdown(List<JsonNode> runs) {
    Table t = new Table("case (default shape)", "Python stack", "Python", "peft4j", "peft4j against Python");
    String torchVersion = null;
    for (JsonNode torch : runs) {
      String dtype = torch.path("dtype").asText();
      String stack = stack(torch);
      if ("torch-train".equals(torch.path("case").asText())) {
        Optional<JsonNode> ours = first(runs, r -> PerformanceReport.isTrain(r) && PerformanceReport.isDefaultShape(r)
            && dtype.equals(r.path("dtype").asText()) && "lora".equals(r.path("method").asText())
            && !PerformanceReport.checkpointed(r) && "highest".equals(r.path("f32_matmul_precision").asText("highest"))
            && sameInts(torch, r, "batch", "seq"));
        ours.ifPresent(r -> {
          double theirs = torch.path("step_ms_median").asDouble();
          double mine = r.path("step_ms_median").asDouble();
          t.row("LoRA training step, " + dtype + " (median ms)", stack, format(theirs), format(mine),
              String.format(Locale.ROOT, "%.2fx the speed", theirs / mine));
          double theirRss = torch.path("peak_rss_mib").asDouble();
          double myRss = r.path("peak_rss_mib").asDouble();
          t.row("peak RSS of the process, " + dtype + " training (MiB)", stack, format(theirRss), format(myRss),
              String.format(Locale.ROOT, "%.2fx the memory", myRss / theirRss));
        });
        torchVersion = ours.isPresent() ? torch.path("torch").asText() : torchVersion;
      } else if ("torch-infer".equals(torch.path("case").asText())) {
        Optional<JsonNode> ours = first(runs, r -> "infer".equals(r.path("case").asText())
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
                t.row(String.format(Locale.ROOT, "%s tokens/s, %s, %s", phase, name, dtype), stack, format(a), format(b),
                    String.format(Locale.ROOT, "%.2fx the speed", b / a));
              }
            }
          }
        });
        torchVersion = ours.isPresent() ? torch.path("torch").asText() : torchVersion;
      }
    }
    if (t.rows().isEmpty()) {
      return "";
    }
    return "## Against PyTorch eager (`peft4j-bench/python/torch_baseline.py`)\n\n"
        + "The same model, LoRA, optimizer and loop in PyTorch " + torchVersion + ", on the same threads, each run just before"
        + " the peft4j run beside it: as a Python user runs it (Hugging Face transformers' `LlamaForCausalLM` with sdpa"
        + " attention and PEFT's LoRA), and written out in plain PyTorch modules (the same computation without the"
        + " libraries' dispatch and hooks; the script's docstring says what it mirrors). Speed above 1 and memory below 1"
        + " favour peft4j.\n\n"
        + t.markdown() + '\n';
  }

  /** Which Python stack ran: transformers and PEFT with their versions, or the plain PyTorch modules. */
  private static String stack(JsonNode torch) {
    return "hf".equals(torch.path("stack").asText())
        ? "transformers " + torch.path("transformers").asText() + " + PEFT " + torch.path("peft").asText()
        : "PyTorch modules";
  }

  private static Optional<JsonNode> first(List<JsonNode> runs, Predicate<JsonNode> filter) {
    return runs.stream().filter(filter).findFirst();
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
