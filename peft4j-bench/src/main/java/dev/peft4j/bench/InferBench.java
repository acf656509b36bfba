package dev.peft4j.bench;

import dev.peft4j.model.llama.LlamaForCausalLM;
import dev.peft4j.nn.KvCache;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * {@code bench infer}: prefill and decode tokens/s of the base model and of each
 * {@link InferVariant}, and the ratio of each to the base.
 *
 * <p>Prefill runs the prompt once through the model into an empty {@link KvCache}; decode then
 * feeds back the greedy token one position at a time, reading each token into Java as the
 * {@link dev.peft4j.generate.Generator} does. To keep machine noise out of the ratios, the
 * variants take turns: every round measures each variant once (attach, measure, detach), starting
 * one variant further each round so that none always runs first. Tokens/s and the ratios to the
 * base use each variant's best time over the rounds (other processes only ever add time, so the
 * minimum is the most repeatable estimate);
 * the median of the per-round ratios is reported beside them. Round 0 is a warm-up and not
 * counted.
 */
public final class InferBench {
  private InferBench() {}

  /**
   * @param prompt prompt tokens per row (prefill length)
   * @param decode tokens decoded per row after the prompt
   * @param rounds counted rounds (after one warm-up round)
   */
  public record Options(ModelShape shape, DType dtype, int batch, int prompt, int decode, int rounds, long seed,
      List<InferVariant> variants) {
    public Options {
      if (batch < 1 || prompt < 1 || decode < 1 || rounds < 1) {
        throw new IllegalArgumentException(String.format(Locale.ROOT,
            "need --batch, --prompt, --decode and --rounds >= 1; got %d, %d, %d, %d", batch, prompt, decode, rounds));
      }
      variants = List.copyOf(variants);
      if (variants.isEmpty() || !variants.get(0).isBase()) {
        throw new IllegalArgumentException("the first variant must be the base model");
      }
      List<String> names = variants.stream().map(InferVariant::name).toList();
      for (InferVariant v : variants) {
        if (v.minBatch() > batch) {
          throw new IllegalArgumentException("variant " + v.name() + " needs --batch " + v.minBatch() + " or more");
        }
        if (v.reference() != null && !names.contains(v.reference())) {
          throw new IllegalArgumentException("variant " + v.name() + " is read against " + v.reference() + ", which is not measured");
        }
      }
    }

    public static Options defaults() {
      return new Options(ModelShape.DEFAULT, DType.F32, 1, 128, 32, 3, 42, InferVariant.select("all", 1));
    }
  }

  /** Times of one variant in one round. */
  private record Sample(double prefillMs, double decodeMs) {}

  /**
   * Speed of a variant relative to a reference variant: best time against best time, and the
   * median over the rounds of the within-round ratio.
   */
  private record Ratios(double prefill, double decode, double prefillMedian, double decodeMedian) {
    static Ratios of(List<Sample> reference, List<Sample> variant) {
      List<Double> prefill = new ArrayList<>();
      List<Double> decode = new ArrayList<>();
      for (int i = 0; i < variant.size(); i++) {
        prefill.add(reference.get(i).prefillMs() / variant.get(i).prefillMs());
        decode.add(reference.get(i).decodeMs() / variant.get(i).decodeMs());
      }
      return new Ratios(best(reference, Sample::prefillMs) / best(variant, Sample::prefillMs),
          best(reference, Sample::decodeMs) / best(variant, Sample::decodeMs),
          Stats.of(prefill).median(), Stats.of(decode).median());
    }

    private static double best(List<Sample> samples, java.util.function.ToDoubleFunction<Sample> time) {
      return samples.stream().mapToDouble(time).min().orElseThrow();
    }
  }

  public static Report run(Options o) {
    Engine.ensureLoaded();
    LlamaForCausalLM model = RandomModels.llama(o.shape(), o.dtype(), Math.max(2048, o.prompt() + o.decode() + 1), o.seed());
    Random random = new Random(o.seed());
    long[] promptIds = new long[o.batch() * o.prompt()];
    for (int i = 0; i < promptIds.length; i++) {
      promptIds[i] = random.nextInt(o.shape().vocab());
    }
    Map<String, List<Sample>> samples = new LinkedHashMap<>();
    o.variants().forEach(v -> samples.put(v.name(), new ArrayList<>()));
    int n = o.variants().size();
    for (int round = 0; round <= o.rounds(); round++) {
      for (int turn = 0; turn < n; turn++) {
        InferVariant v = o.variants().get((round + turn) % n); // rotated, so no variant always goes first
        Sample s = measure(model, v, o, promptIds);
        if (round > 0) {
          samples.get(v.name()).add(s);
        }
      }
    }

    List<Sample> base = samples.get(o.variants().get(0).name());
    List<Map<String, Object>> rows = new ArrayList<>();
    Table t = new Table("variant", "prefill tok/s", "x base", "(median)", "decode tok/s", "x base", "(median)",
        "decode ms/token", "x reference (prefill / decode)");
    for (InferVariant v : o.variants()) {
      List<Sample> s = samples.get(v.name());
      Ratios toBase = Ratios.of(base, s);
      Stats prefill = Stats.of(s.stream().map(Sample::prefillMs).toList());
      Stats decode = Stats.of(s.stream().map(Sample::decodeMs).toList());
      double prefillTps = o.batch() * o.prompt() / (prefill.min() / 1e3);
      double decodeTps = o.batch() * o.decode() / (decode.min() / 1e3);
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("name", v.name());
      row.put("prefill_tokens_per_s", prefillTps);
      row.put("decode_tokens_per_s", decodeTps);
      row.put("prefill_ratio", toBase.prefill());
      row.put("decode_ratio", toBase.decode());
      row.put("prefill_ratio_median_of_rounds", toBase.prefillMedian());
      row.put("decode_ratio_median_of_rounds", toBase.decodeMedian());
      row.put("prefill_ms_median", prefill.median());
      row.put("decode_ms_per_token_median", decode.median() / o.decode());
      row.put("prefill_ms", prefill.min());
      row.put("decode_ms_per_token", decode.min() / o.decode());
      InferVariant.Target target = v.target();
      if (target != null && !(target.reducedPrecisionOnly() && o.dtype() == DType.F32)) {
        row.put("target", target.goal());
        row.put("target_ratio", target.ratio());
      }
      String againstReference = "";
      if (v.reference() != null) {
        Ratios toReference = Ratios.of(samples.get(v.reference()), s);
        row.put("reference", v.reference());
        row.put("prefill_ratio_to_reference", toReference.prefill());
        row.put("decode_ratio_to_reference", toReference.decode());
        row.put("prefill_ratio_to_reference_median_of_rounds", toReference.prefillMedian());
        row.put("decode_ratio_to_reference_median_of_rounds", toReference.decodeMedian());
        againstReference = String.format(Locale.ROOT, "%.3f / %.3f x %s", toReference.prefill(), toReference.decode(), v.reference());
      }
      rows.add(row);
      t.row(v.name(), prefillTps, String.format(Locale.ROOT, "%.3f", toBase.prefill()),
          String.format(Locale.ROOT, "%.3f", toBase.prefillMedian()), decodeTps,
          String.format(Locale.ROOT, "%.3f", toBase.decode()), String.format(Locale.ROOT, "%.3f", toBase.decodeMedian()),
          decode.min() / o.decode(), againstReference);
    }
    Report r = new Report("infer", "bench infer: " + o.shape() + ", " + o.dtype().name().toLowerCase(Locale.ROOT)
        + ", batch " + o.batch() + ", prompt " + o.prompt() + ", decode " + o.decode());
    r.put("shape", o.shape().toJson())
        .put("dtype", o.dtype().name().toLowerCase(Locale.ROOT))
        .put("threads", Engine.threads())
        .put("f32_matmul_precision", Engine.float32MatmulPrecision())
        .put("batch", o.batch())
        .put("prompt", o.prompt())
        .put("decode", o.decode())
        .put("rounds", o.rounds())
        .put("load_average", Machine.loadAverage())
        .put("variants", rows);
    r.table(t);
    r.note("tokens/s and x base: best time of " + o.rounds() + " rounds; (median): median over the rounds of"
        + " base time / variant time within a round; LoRA: r 8, alpha 16 on q_proj and v_proj, its matrices float32"
        + " on a bf16 model (PEFT's autocast_adapter_dtype=True); lora-model-dtype: the same in the model's dtype"
        + " (autocast_adapter_dtype=False); lora-mixed4: four such LoRAs, row i served by LoRA i mod 4 (read against"
        + " lora: the same batch with one LoRA); prefix: 20 virtual tokens; llama-adapter: 10 adaption prompts in"
        + " every layer; dora: the LoRA with DoRA's magnitudes (its prefill includes the first computation of the"
        + " weight norms, as the variant is attached anew for every round); houlsby: reduction factor 16");
    return r;
  }

  private static Sample measure(LlamaForCausalLM model, InferVariant v, Options o, long[] promptIds) {
    try (AutoCloseable attached = v.setup().attach(model, o.batch());
        Engine.GradGuard noGrad = Engine.noGrad(); KvCache cache = model.newCache()) {
      long[] next;
      long t0 = System.nanoTime();
      try (Scope scope = Scope.open()) {
        Tensor ids = Tensor.ofLongs(promptIds, o.batch(), o.prompt());
        next = greedy(model.lastLogits(ids, null, cache));
      }
      long t1 = System.nanoTime();
      for (int i = 0; i < o.decode(); i++) {
        try (Scope scope = Scope.open()) {
          next = greedy(model.lastLogits(Tensor.ofLongs(next, o.batch(), 1), null, cache));
        }
      }
      long t2 = System.nanoTime();
      return new Sample((t1 - t0) / 1e6, (t2 - t1) / 1e6);
    } catch (Exception e) {
      throw new IllegalStateException("bench infer: variant " + v.name() + " failed", e);
    }
  }

  /** The most likely next token of each row, from logits [B, T, V]. */
  private static long[] greedy(Tensor lastLogits) {
    return lastLogits.argmax(-1).toLongArray();
  }
}
