package dev.peft4j.peft.lora;

import dev.peft4j.peft.Adapter;
import dev.peft4j.peft.ModuleSelector;
import dev.peft4j.tensor.DType;
import dev.peft4j.tensor.Engine;
import dev.peft4j.tensor.Scope;
import dev.peft4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BiFunction;

/**
 * Combines LoRA adapters into a new one, with Hugging Face PEFT's definitions
 * ({@code LoraModel.add_weighted_adapter}, src/peft/tuners/lora/model.py). The new adapter has
 * α = r, so its scaling is 1 and the weights and scalings of the inputs are folded into A and B:
 *
 * <ul>
 *   <li>{@code linear} (same rank): A = Σ sign(w·s)·√|w·s|·Aᵢ, B = Σ √|w·s|·Bᵢ;
 *   <li>{@code cat}: A = [w₁s₁A₁; w₂s₂A₂; ...], B = [B₁ B₂ ...], rank Σ rᵢ, so BA = Σ wᵢsᵢBᵢAᵢ exactly;
 *   <li>{@code svd}: the rank-k truncated SVD U S Vh of Σ wᵢsᵢ·ΔWᵢ, B = U S, A = Vh. Like PEFT, this
 *       weights by wᵢ·sᵢ the deltas ΔWᵢ = sᵢBᵢAᵢ, which already include sᵢ — the two agree with
 *       "the weighted sum of the deltas" when α = r.
 * </ul>
 * Modules adapted by only some inputs combine those that adapt them.
 */
public final class LoraCombination {
  /** How adapters are combined. */
  public enum Type { LINEAR, CAT, SVD }

  private LoraCombination() {}

  /**
   * The config of the combined adapter: the first input's, with r and α set to the new rank and
   * the union of the inputs' targets.
   *
   * @param svdRank the rank for {@code SVD}; ≤ 0 for the largest input rank
   * @throws IllegalArgumentException for non-LoRA or DoRA inputs, mismatched ranks (linear), or mixed
   *     target kinds (regex and names)
   */
  public static LoraConfig config(List<Adapter> inputs, List<Double> weights, Type type, int svdRank) {
    if (inputs.isEmpty() || inputs.size() != weights.size()) {
      throw new IllegalArgumentException("need one weight per adapter, got " + inputs.size() + " adapters and "
          + weights.size() + " weights");
    }
    List<LoraConfig> configs = new ArrayList<>();
    for (Adapter a : inputs) {
      if (!(a instanceof LoraAdapter)) {
        throw new IllegalArgumentException("only LoRA adapters can be combined, got " + a.config().peftType());
      }
      if (((LoraConfig) a.config()).useDora()) {
        throw new IllegalArgumentException("DoRA adapters cannot be combined (their magnitudes do not add up)");
      }
      if (((LoraConfig) a.config()).loraBias()) {
        throw new IllegalArgumentException("adapters with lora_bias cannot be combined (B's biases have no place in A and B)");
      }
      configs.add((LoraConfig) a.config());
    }
    Type effective = inputs.size() == 1 ? Type.LINEAR : type;
    List<Integer> ranks = configs.stream().map(c -> c.rankPattern().values().stream().reduce(c.r(), Math::max)).toList();
    int rank;
    switch (effective) {
      case LINEAR:
        if (Set.copyOf(ranks).size() != 1) {
          throw new IllegalArgumentException("linear combination needs adapters of the same rank, got " + ranks);
        }
        rank = ranks.get(0);
        break;
      case CAT:
        rank = ranks.stream().mapToInt(Integer::intValue).sum();
        break;
      default:
        rank = svdRank > 0 ? svdRank : ranks.stream().mapToInt(Integer::intValue).max().orElseThrow();
    }
    return LoraConfig.builder().r(rank).loraAlpha(rank).loraDropout(configs.get(0).loraDropout())
        .targetModules(unionOfTargets(configs)).fanInFanOut(configs.get(0).fanInFanOut())
        .taskType(configs.get(0).taskType()).baseModelNameOrPath(configs.get(0).baseModelNameOrPath()).build();
  }

  private static ModuleSelector unionOfTargets(List<LoraConfig> configs) {
    Set<String> names = new LinkedHashSet<>();
    List<String> regexes = new ArrayList<>();
    for (LoraConfig c : configs) {
      ModuleSelector t = c.targetModules();
      if (t instanceof ModuleSelector.Names) {
        names.addAll(((ModuleSelector.Names) t).names());
      } else if (t instanceof ModuleSelector.Regex) {
        regexes.add("(" + ((ModuleSelector.Regex) t).regex() + ")");
      } else {
        return t; // all-linear covers every input
      }
    }
    if (!names.isEmpty() && !regexes.isEmpty()) {
      throw new IllegalArgumentException("cannot combine adapters whose target_modules mix names and regexes");
    }
    return names.isEmpty() ? new ModuleSelector.Regex(String.join("|", regexes)) : new ModuleSelector.Names(List.copyOf(names));
  }

  /** Fills {@code target}'s A and B from the inputs, module by module. */
  public static void fill(LoraAdapter target, List<Adapter> inputs, List<Double> weights, Type type) {
    Type effective = inputs.size() == 1 ? Type.LINEAR : type;
    BiFunction<List<LoraDelta>, List<Double>, Tensor[]> combine = combiner(effective, target);
    try (Scope scope = Scope.open(); Engine.GradGuard g = Engine.noGrad()) {
      target.deltas().forEach((module, out) -> {
        List<LoraDelta> present = new ArrayList<>();
        List<Double> presentWeights = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
          LoraDelta d = ((LoraAdapter) inputs.get(i)).deltas().get(module);
          if (d != null) {
            present.add(d);
            presentWeights.add(weights.get(i) * d.scaling());
          }
        }
        Tensor[] ab = combine.apply(present, presentWeights);
        DType dtype = out.loraA().value().dtype();
        out.loraA().value().zero_().narrow(0, 0, ab[0].size(0)).copy_(ab[0].to(dtype));
        out.loraB().value().zero_().narrow(1, 0, ab[1].size(1)).copy_(ab[1].to(dtype));
      });
    }
  }

  private static BiFunction<List<LoraDelta>, List<Double>, Tensor[]> combiner(Type type, LoraAdapter target) {
    switch (type) {
      case LINEAR:
        return LoraCombination::linear;
      case CAT:
        return LoraCombination::cat;
      default:
        int rank = ((LoraConfig) target.config()).r();
        return (deltas, w) -> svd(deltas, w, rank);
    }
  }

  /** A = Σ sign(wᵢ)·√|wᵢ|·Aᵢ, B = Σ √|wᵢ|·Bᵢ (wᵢ already includes the scaling). */
  private static Tensor[] linear(List<LoraDelta> deltas, List<Double> w) {
    Tensor a = null;
    Tensor b = null;
    for (int i = 0; i < deltas.size(); i++) {
      double root = Math.sqrt(Math.abs(w.get(i)));
      Tensor ai = deltas.get(i).loraA().value().to(DType.F32).mul(w.get(i) >= 0 ? root : -root);
      Tensor bi = deltas.get(i).loraB().value().to(DType.F32).mul(root);
      a = a == null ? ai : a.add(ai);
      b = b == null ? bi : b.add(bi);
    }
    return new Tensor[] {a, b};
  }

  /** A = [w₁A₁; w₂A₂; ...], B = [B₁ B₂ ...]. */
  private static Tensor[] cat(List<LoraDelta> deltas, List<Double> w) {
    Tensor[] as = new Tensor[deltas.size()];
    Tensor[] bs = new Tensor[deltas.size()];
    for (int i = 0; i < deltas.size(); i++) {
      as[i] = deltas.get(i).loraA().value().to(DType.F32).mul(w.get(i));
      bs[i] = deltas.get(i).loraB().value().to(DType.F32);
    }
    return new Tensor[] {Tensor.cat(0, as), Tensor.cat(1, bs)};
  }

  /** Truncated SVD of Σ wᵢ·ΔWᵢ with ΔWᵢ = sᵢBᵢAᵢ in [out, in] layout: B = U·S, A = Vh. */
  private static Tensor[] svd(List<LoraDelta> deltas, List<Double> w, int rank) {
    Tensor sum = null;
    for (int i = 0; i < deltas.size(); i++) {
      LoraDelta d = deltas.get(i);
      Tensor delta = d.loraB().value().to(DType.F32).matmul(d.loraA().value().to(DType.F32)).mul(d.scaling() * w.get(i));
      sum = sum == null ? delta : sum.add(delta);
    }
    Tensor[] usv = sum.svd();
    int k = (int) Math.min(rank, usv[1].size(0));
    Tensor u = usv[0].narrow(1, 0, k).matmul(usv[1].narrow(0, 0, k).diag());
    Tensor vh = usv[2].narrow(0, 0, k);
    return new Tensor[] {vh, u};
  }
}
