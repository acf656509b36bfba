package dev.peft4j.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class GenerationConfigTest {

  @Test
  void defaultsAreGreedyWithoutFilters() {
    GenerationConfig c = GenerationConfig.greedy(5);
    assertThat(c.maxNewTokens()).isEqualTo(5);
    assertThat(c.sampling()).isFalse();
    assertThat(c.topK()).isZero();
    assertThat(c.topP()).isEqualTo(1.0);
    assertThat(c.repetitionPenalty()).isEqualTo(1.0);
    assertThat(c.seed()).isEmpty();
    assertThat(c.stopTokenIds()).isEmpty();
    assertThat(c.stopStrings()).isEmpty();
    assertThat(c.truncatePrompt()).isFalse();
    assertThat(c.streamer()).isEmpty();
  }

  @Test
  void outOfRangeValuesAreRejectedNamingTheField() {
    assertThatThrownBy(() -> GenerationConfig.builder().build())
        .isInstanceOf(IllegalArgumentException.class).hasMessage("maxNewTokens must be positive: 0");
    GenerationConfig.Builder b = GenerationConfig.builder().maxNewTokens(4);
    assertThatThrownBy(() -> b.temperature(-0.5).build()).hasMessageContaining("temperature").hasMessageContaining("-0.5");
    b.temperature(0.7);
    assertThatThrownBy(() -> b.topK(-1).build()).hasMessageContaining("topK must be >= 0");
    b.topK(0);
    assertThatThrownBy(() -> b.topP(0).build()).hasMessageContaining("topP must be in (0, 1]");
    assertThatThrownBy(() -> b.topP(1.5).build()).hasMessageContaining("topP");
    assertThatThrownBy(() -> b.topP(Double.NaN).build()).hasMessageContaining("topP");
    b.topP(0.9);
    assertThatThrownBy(() -> b.repetitionPenalty(0).build()).hasMessageContaining("repetitionPenalty must be positive");
    b.repetitionPenalty(1.1);
    assertThatThrownBy(() -> b.stopTokenIds(List.of(-3L)).build()).hasMessageContaining("stopTokenIds");
    b.stopTokenIds(List.of(3L));
    assertThatThrownBy(() -> b.stopStrings(List.of("")).build()).hasMessageContaining("stopStrings");
    GenerationConfig ok = b.stopStrings(List.of("\n\n")).seed(7).build();
    assertThat(ok.stopTokenIds()).contains(Set.of(3L));
    assertThat(ok.seed()).hasValue(7);
    assertThat(ok.toBuilder().build()).isEqualTo(ok);
  }
}
