package dev.peft4j.peft.llamaadapter;

import dev.peft4j.nn.Parameter;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.tensor.Tensor;
import dev.peft4j.train.CausalLmObjective;
import dev.peft4j.train.EvalStats;
import dev.peft4j.train.TrainingObjective;
import java.util.Map;
import java.util.function.Function;

/** Next-token prediction conditioned on each row's image feature: {@link CausalLmObjective} with the features set. */
public final class MultimodalObjective implements TrainingObjective<MultimodalBatch> {
  private final CausalLmObjective text;
  private final LlamaAdapter adapter;

  /** @throws IllegalArgumentException if {@code peft} is not a multimodal LLaMA-Adapter */
  public MultimodalObjective(PeftModel peft) {
    if (!(peft.adapter() instanceof LlamaAdapter)
        || ((LlamaAdapterConfig) peft.config()).visualFeatureDim() == null) {
      throw new IllegalArgumentException("a multimodal objective needs a LLaMA-Adapter with visual_feature_dim");
    }
    this.text = new CausalLmObjective(peft);
    this.adapter = (LlamaAdapter) peft.adapter();
  }

  @Override
  public Map<String, Parameter> trainableParameters() {
    return text.trainableParameters();
  }

  @Override
  public Tensor loss(MultimodalBatch batch) {
    return withFeatures(batch, b -> text.loss(b));
  }

  /** The features stay set through the whole forward and backward pass (a checkpointed backward recomputes layers). */
  @Override
  public double backward(MultimodalBatch batch, int divisor, boolean checkpointing) {
    return withFeatures(batch, b -> text.backward(b, divisor, checkpointing));
  }

  @Override
  public EvalStats evaluate(MultimodalBatch batch) {
    return withFeatures(batch, b -> text.evaluate(b));
  }

  @Override
  public long tokens(MultimodalBatch batch) {
    return text.tokens(batch.batch());
  }

  private <T> T withFeatures(MultimodalBatch batch, Function<dev.peft4j.data.Batch, T> run) {
    try (AutoCloseable f = adapter.withImageFeatures(batch.features())) {
      return run.apply(batch.batch());
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
