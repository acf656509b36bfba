package dev.peft4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.data.Batch;
import dev.peft4j.data.DataLoader;
import dev.peft4j.data.EncodedExample;
import dev.peft4j.model.AutoModel;
import dev.peft4j.model.LoadOptions;
import dev.peft4j.peft.Peft;
import dev.peft4j.peft.PeftConfig;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.peft.llamaadapter.ImageFeatureBatches;
import dev.peft4j.peft.llamaadapter.LlamaAdapterConfig;
import dev.peft4j.peft.llamaadapter.MultimodalBatch;
import dev.peft4j.peft.llamaadapter.MultimodalObjective;
import dev.peft4j.peft.prefix.PrefixTuningConfig;
import dev.peft4j.peft.prompt.PTuningConfig;
import dev.peft4j.peft.prompt.PromptTuningConfig;
import dev.peft4j.tensor.Engine;
import dev.peft4j.testing.FrozenWeights;
import dev.peft4j.testing.TinyCheckpoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * Each prompt-family method trains on a tiny LLaMA language-modelling task: held-out loss falls,
 * the base stays bit-identical. The task is learnable by a conditioning signal alone: sequences
 * use 4 of the 64 tokens, so shifting the output distribution towards them takes the loss from
 * about ln 64 ≈ 4.2 towards ln 4 ≈ 1.4. The random tiny model has near-zero logits (std 0.02
 * weights), so its lm_head is scaled by 50 to let a changed hidden state move them.
 */
class PromptFamilyTrainingTest {
  @TempDir Path dir;

  static Stream<Arguments> methods() {
    return Stream.of(
        Arguments.of("prompt tuning", PromptTuningConfig.builder().numVirtualTokens(4).build(), 3e-2),
        Arguments.of("P-tuning (LSTM)", PTuningConfig.builder().numVirtualTokens(4)
            .encoderType(PTuningConfig.EncoderType.LSTM).encoderHiddenSize(32).build(), 1e-2),
        Arguments.of("prefix tuning", PrefixTuningConfig.builder().numVirtualTokens(4).build(), 1e-2),
        Arguments.of("prefix tuning (MLP)", PrefixTuningConfig.builder().numVirtualTokens(4).prefixProjection(true)
            .encoderHiddenSize(64).build(), 1e-3),
        Arguments.of("LLaMA-Adapter", LlamaAdapterConfig.builder().adapterLen(4).adapterLayers(2).build(), 3e-2));
  }

  private static List<EncodedExample> subsetSequences(int count, long seed) {
    Random random = new Random(seed);
    List<EncodedExample> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      int[] ids = new int[10];
      for (int t = 0; t < ids.length; t++) {
        ids[t] = 10 + random.nextInt(4);
      }
      out.add(EncodedExample.lm(ids, ids.clone()));
    }
    return out;
  }

  private PeftModel model(String sub, PeftConfig config) throws Exception {
    TinyCheckpoint checkpoint = TinyCheckpoint.llama();
    float[] head = checkpoint.weights().get("lm_head.weight");
    for (int i = 0; i < head.length; i++) {
      head[i] *= 50;
    }
    Engine.manualSeed(1);
    return Peft.wrap(AutoModel.load(checkpoint.writeTo(dir.resolve(sub)), LoadOptions.defaults()), config);
  }

  private static DataLoader loader(List<EncodedExample> examples, boolean shuffle) {
    return DataLoader.builder(examples).batchSize(8).shuffle(shuffle).seed(3).build();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("methods")
  void heldOutLossFallsAndTheBaseStaysFrozen(String method, PeftConfig config, double lr) throws Exception {
    PeftModel peft = model("m", config);
    FrozenWeights frozen = FrozenWeights.of(peft.baseModel());
    CausalLmObjective objective = new CausalLmObjective(peft);
    BatchSource<Batch> eval = new DataLoaderSource(loader(subsetSequences(32, 2), false));
    EvalResult before = Evaluation.run(objective, eval, 0);
    TrainingResult result = Trainer.builder(objective, new DataLoaderSource(loader(subsetSequences(128, 1), true)))
        .optimizer(AdamWConfig.withLr(lr).withWeightDecay(0)).schedule(LrSchedule.constantWithWarmup(5)).maxSteps(60)
        .build().train();
    EvalResult after = Evaluation.run(objective, eval, result.steps());
    assertThat(after.loss()).as(method + ": held-out loss " + before.loss() + " -> " + after.loss())
        .isLessThan(0.75 * before.loss());
    frozen.assertUnchanged(peft.baseModel());
  }

  /**
   * Multimodal LLaMA-Adapter: each sequence uses 4 tokens chosen by its "image" (one of two
   * feature vectors), so only a model that reads the feature can reach the low loss.
   */
  @Test
  void multimodalAdapterLearnsFromImageFeatures() throws Exception {
    PeftModel peft = model("mm", LlamaAdapterConfig.builder().adapterLen(4).adapterLayers(2).visualFeatureDim(6).build());
    float[][] images = {{1, 0, 0, 1, 0, 1}, {0, 1, 1, 0, 1, 0}};
    List<EncodedExample> train = new ArrayList<>();
    List<float[]> trainFeatures = new ArrayList<>();
    List<EncodedExample> eval = new ArrayList<>();
    List<float[]> evalFeatures = new ArrayList<>();
    Random random = new Random(7);
    for (int i = 0; i < 160; i++) {
      int image = random.nextInt(2);
      int[] ids = new int[10];
      for (int t = 0; t < ids.length; t++) {
        ids[t] = 10 + 20 * image + random.nextInt(4);
      }
      (i < 128 ? train : eval).add(EncodedExample.lm(ids, ids.clone()));
      (i < 128 ? trainFeatures : evalFeatures).add(images[image]);
    }
    MultimodalObjective objective = new MultimodalObjective(peft);
    BatchSource<MultimodalBatch> evalSource = new ImageFeatureBatches(loader(eval, false), evalFeatures.toArray(new float[0][]));
    EvalResult before = Evaluation.run(objective, evalSource, 0);
    TrainingResult result = Trainer.builder(objective,
            new ImageFeatureBatches(loader(train, true), trainFeatures.toArray(new float[0][])))
        .optimizer(AdamWConfig.withLr(3e-2).withWeightDecay(0)).schedule(LrSchedule.constantWithWarmup(5)).maxSteps(200)
        .build().train();
    EvalResult after = Evaluation.run(objective, evalSource, result.steps());
    // without the image the best is ln 8 ≈ 2.08 (8 tokens); reading it allows ln 4 ≈ 1.39
    assertThat(after.loss()).as("held-out loss " + before.loss() + " -> " + after.loss()).isLessThan(1.9);
  }
}
