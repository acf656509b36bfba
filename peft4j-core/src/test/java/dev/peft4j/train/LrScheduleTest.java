package dev.peft4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Schedules against the closed forms of transformers' get_*_schedule_with_warmup. */
class LrScheduleTest {
  static final double TOL = 1e-12;

  @Test
  void linearWarmsUpThenDecaysToZero() {
    LrSchedule s = LrSchedule.linear(10, 110);
    assertThat(s.multiplier(0)).isEqualTo(0.0);            // warmup start
    assertThat(s.multiplier(5)).isCloseTo(0.5, within(TOL)); // warmup mid
    assertThat(s.multiplier(10)).isCloseTo(1.0, within(TOL)); // warmup end
    assertThat(s.multiplier(60)).isCloseTo(0.5, within(TOL)); // decay mid: (110-60)/100
    assertThat(s.multiplier(85)).isCloseTo(0.25, within(TOL));
    assertThat(s.multiplier(110)).isEqualTo(0.0);           // end
    assertThat(s.multiplier(150)).isEqualTo(0.0);           // past the end: clamped
    assertThat(s.lr(3e-4, 60)).isCloseTo(1.5e-4, within(TOL));
  }

  @Test
  void cosineWarmsUpThenFollowsHalfACosine() {
    LrSchedule s = LrSchedule.cosine(4, 104);
    assertThat(s.multiplier(0)).isEqualTo(0.0);
    assertThat(s.multiplier(2)).isCloseTo(0.5, within(TOL));
    assertThat(s.multiplier(4)).isCloseTo(1.0, within(TOL));
    assertThat(s.multiplier(54)).isCloseTo(0.5, within(TOL)); // progress ½: ½(1+cos(π/2))
    assertThat(s.multiplier(29)).isCloseTo(0.5 * (1 + Math.cos(Math.PI * 0.25)), within(TOL));
    assertThat(s.multiplier(104)).isCloseTo(0.0, within(TOL));
    LrSchedule twoCycles = new LrSchedule.Cosine(0, 100, 1.0);
    assertThat(twoCycles.multiplier(50)).isCloseTo(0.0, within(TOL));
    assertThat(twoCycles.multiplier(100)).isCloseTo(1.0, within(TOL));
  }

  @Test
  void constantAndConstantWithWarmup() {
    assertThat(LrSchedule.constant().multiplier(0)).isEqualTo(1.0);
    assertThat(LrSchedule.constant().multiplier(12345)).isEqualTo(1.0);
    LrSchedule w = LrSchedule.constantWithWarmup(8);
    assertThat(w.multiplier(0)).isEqualTo(0.0);
    assertThat(w.multiplier(4)).isCloseTo(0.5, within(TOL));
    assertThat(w.multiplier(8)).isEqualTo(1.0);
    assertThat(w.multiplier(1000)).isEqualTo(1.0);
    assertThat(LrSchedule.constantWithWarmup(0).multiplier(0)).isEqualTo(1.0);
    assertThat(LrSchedule.linear(0, 10).multiplier(0)).isEqualTo(1.0);
  }

  @Test
  void rejectsInconsistentArguments() {
    assertThatThrownBy(() -> LrSchedule.linear(20, 10)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("warmupSteps");
    assertThatThrownBy(() -> LrSchedule.cosine(0, 0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("totalSteps");
    assertThatThrownBy(() -> LrSchedule.constant().multiplier(-1)).isInstanceOf(IllegalArgumentException.class);
  }
}
