package dev.peft4j.serve;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.generate.ByteTokenizer;
import dev.peft4j.generate.GenerationResult;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.tensor.Engine;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The running batch without HTTP: requests of different adapters joining at different steps and
 * leaving when done each produce what they produce alone.
 */
class ServeBatchTest extends WithServeFixture {
  private static Job job(String adapter, String prompt, int maxTokens) throws Exception {
    long[] ids = ByteTokenizer.ids(prompt);
    return new Job(new CompletionRequest(adapter, adapter, false, ids, maxTokens, 0, 1, List.of(),
        Set.of((long) ByteTokenizer.EOS), OptionalLong.empty(), false, false), fixture.tokenizer());
  }

  @Test
  void rowsJoiningAndLeavingAtStepBoundariesEqualEachRunAlone() throws Exception {
    ServerStats stats = runInWaves(ServeFixture.ADAPTERS,
        List.of(job("a", "Hello there", 20), job(PeftModel.BASE, "Hi", 6)),
        List.of(job("b", "A much longer prompt than the others", 12), job("c", "x", 25), job("a", "Hello there", 9)),
        List.of(job("c", "Late arrival", 10)));
    assertThat(stats.joinsIntoRunningBatch.get()).isEqualTo(2);
    assertThat(stats.mixedSteps.get()).isPositive();
    // the adapters matter: "a" on "Hello there" differs from the base
    assertThat(fixture.offline("a", "Hello there", 20).text()).isNotEqualTo(fixture.offline(null, "Hello there", 20).text());
  }

  /**
   * Prefix and prompt tuning put virtual positions in front of a row's tokens: rows with 4, 3 and
   * none join a running batch whose cache holds other lengths, and each still produces what it
   * produces alone.
   */
  @Test
  void rowsWithVirtualPositionsJoinAndLeaveAsWell() throws Exception {
    List<String> names = new ArrayList<>(ServeFixture.VIRTUAL_ADAPTERS);
    names.add("a");
    ServerStats stats = runInWaves(names,
        List.of(job("prefix", "Hello there", 14), job(PeftModel.BASE, "Hi", 5)),
        List.of(job("prompt", "A much longer prompt than the others", 12), job("a", "x", 20),
            job("prefix", "Hi", 4)),
        List.of(job("prompt", "Late", 9), job(PeftModel.BASE, "Late arrival", 7)));
    assertThat(stats.joinsIntoRunningBatch.get()).isEqualTo(2);
    assertThat(stats.mixedSteps.get()).isPositive();
    for (String adapter : ServeFixture.VIRTUAL_ADAPTERS) {
      assertThat(fixture.offline(adapter, "Hello there", 14).text()).as(adapter + " matters")
          .isNotEqualTo(fixture.offline(null, "Hello there", 14).text());
    }
  }

  /**
   * Runs the waves of jobs through one running batch (3 steps after the first wave, 8 after the
   * second, then to the end) and checks every job's answer against offline generation alone.
   */
  @SafeVarargs
  private static ServerStats runInWaves(List<String> adapterNames, List<Job>... waves) throws Exception {
    PretrainedModel model = fixture.loadBase();
    ServedAdapters adapters = new ServedAdapters(model, "tiny");
    for (String name : adapterNames) {
      adapters.load(name, fixture.adapterDirs().get(name));
    }
    ServerStats stats = new ServerStats();
    List<Job> all = new ArrayList<>();
    int[] stepsAfter = {3, 8};
    try (Engine.GradGuard noGrad = Engine.noGrad();
        RunningBatch batch = new RunningBatch((CausalLm) model, adapters, stats)) {
      for (int w = 0; w < waves.length; w++) {
        all.addAll(waves[w]);
        batch.join(waves[w]);
        for (int i = 0; i < (w < stepsAfter.length ? stepsAfter[w] : 0) && !batch.isEmpty(); i++) {
          batch.step();
        }
      }
      while (!batch.isEmpty()) {
        batch.step();
      }
    }
    for (Job job : all) {
      GenerationResult expected = fixture.offline(job.request().adapter(), job.request().prompt(),
          job.request().maxTokens());
      Job.Event end = job.next();
      assertThat(end).isInstanceOf(Job.Finished.class);
      Job.Finished finished = (Job.Finished) end;
      assertThat(finished.text()).as(job.request().adapter())
          .isEqualTo(expected.text().orElseThrow());
      assertThat(finished.reason()).isEqualTo(expected.finishReason());
      assertThat(finished.completionTokens()).isEqualTo(expected.ids().length);
    }
    return stats;
  }
}
