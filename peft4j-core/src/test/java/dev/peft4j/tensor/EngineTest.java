package dev.peft4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;

class EngineTest {
  @Test
  void javaCppDoesNotReadTheResidentSizeForEveryTensor() {
    // the surefire JVM does not set org.bytedeco.javacpp.maxPhysicalBytes: JavaCPP's default is twice the heap
    Engine.ensureLoaded();
    assertThat(Pointer.maxPhysicalBytes()).isZero();
  }
}
