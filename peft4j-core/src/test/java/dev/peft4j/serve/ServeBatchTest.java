package dev.peft4j.serve;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.generate.ByteTokenizer;
import dev.peft4j.generate.GenerationResult;
import dev.peft4j.model.CausalLm;
import dev.peft4j.model.PretrainedModel;
import dev.peft4j.peft.PeftModel;
import dev.peft4j.tensor.Engine;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The running batch without HTTP: requests of different adapters joining at different steps and
 * leaving when done each produce what they produce alone.
 */
class ServeBatchTest {
  @TempDir static Path dir;
  static ServeFixture fixture;

  @BeforeAll
  static void fixture() throws Exception {
    fixture = ServeFixture.create(dir);
  }

  @AfterAll
  static void close() {
    fixture.close();
  }

  private static Job job(String adapter, String prompt, int maxTokens) throws Exception {
    long[] ids = ByteTokenizer.ids(prompt);
    return new Job(new CompletionRequest(adapter, adapter, false, ids, maxTokens, 0, 1, List.of(),
        Set.of((long) ByteTokenizer.EOS), OptionalLong.empty(), false, false), fixture.tokenizer());
  }

  @Test
  void rowsJoiningAndLeavingAtStepBoundariesEqualEachRunAlone() throws Exception {
    PretrainedModel model = fixture.loadBase();
    ServedAdapters adapters = new ServedAdapters(model, "tiny");
    for (String name : ServeFixture.ADAPTERS) {
      adapters.load(name, fixture.adapterDirs().get(name));
    }
    ServerStats stats = new ServerStats();
    List<Job> all = new ArrayList<>();
    try (Engine.GradGuard noGrad = Engine.noGrad();
        RunningBatch batch = new RunningBatch((CausalLm) model, adapters, stats)) {
      List<Job> first = List.of(job("a", "Hello there", 20), job(PeftModel.BASE, "Hi", 6));
      all.addAll(first);
      batch.join(first);
      for (int i = 0; i < 3; i++) {
        batch.step();
      }
      List<Job> second = List.of(job("b", "A much longer prompt than the others", 12), job("c", "x", 25),
          job("a", "Hello there", 9));
      all.addAll(second);
      batch.join(second);
      for (int i = 0; i < 8; i++) {
        batch.step();
      }
      List<Job> third = List.of(job("c", "Late arrival", 10));
      all.addAll(third);
      batch.join(third);
      while (!batch.isEmpty()) {
        batch.step();
      }
    }
    assertThat(stats.joinsIntoRunningBatch.get()).isEqualTo(2);
    assertThat(stats.mixedSteps.get()).isPositive();
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
    // the adapters matter: "a" on "Hello there" differs from the base
    assertThat(fixture.offline("a", "Hello there", 20).text()).isNotEqualTo(fixture.offline(null, "Hello there", 20).text());
  }
}
