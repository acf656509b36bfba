package dev.peft4j.serve;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * A test class over the {@link ServeFixture}: built in a temporary directory before the class's
 * tests (and before its own {@code @BeforeAll}), closed after them. Test classes run one at a
 * time, so the static fields are each running class's own.
 */
abstract class WithServeFixture {
  @TempDir static Path dir;
  static ServeFixture fixture;

  @BeforeAll
  static void createFixture() throws Exception {
    fixture = ServeFixture.create(dir);
  }

  @AfterAll
  static void closeFixture() {
    fixture.close();
  }
}
