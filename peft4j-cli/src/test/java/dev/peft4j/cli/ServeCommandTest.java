package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.peft4j.serve.ServeClient;
import dev.peft4j.serve.ServeFixture;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code peft4j serve} in process: started on a free port, queried over HTTP, stopped by an interrupt. */
@Timeout(60)
class ServeCommandTest {
  private static final Pattern LISTENING = Pattern.compile("listening on (http://\\S+)");

  @RegisterExtension final CliCapture cli = new CliCapture();
  @TempDir Path dir;

  @Test
  void servesTheNamedAdaptersUntilInterrupted() throws Exception {
    ServeFixture fixture = ServeFixture.create(dir);
    String prompt = "Hello from the CLI";
    String expected = fixture.offline("b", prompt, 16).text().orElseThrow();
    String expectedBase = fixture.offline(null, prompt, 16).text().orElseThrow();
    AtomicInteger code = new AtomicInteger(-1);
    Thread serving = new Thread(() -> code.set(cli.run("serve", "--model", fixture.modelDir().toString(),
        "--adapter", "a=" + fixture.adapterDirs().get("a"), "--adapter", "b=" + fixture.adapterDirs().get("b"),
        "--port", "0", "--max-batch", "4", "--max-tokens", "64")));
    serving.start();
    URI uri = awaitListening(serving);

    ServeClient client = new ServeClient(uri);
    List<String> ids = new ArrayList<>();
    client.get("/v1/models").json().get("data").forEach(m -> ids.add(m.get("id").asText()));
    assertThat(ids).containsExactly("model", "a", "b");
    JsonNode reply = client.post("/v1/completions", ServeClient.body("model", "b", "prompt", prompt,
        "max_tokens", 16, "temperature", 0)).json();
    assertThat(reply.get("choices").get(0).get("text").asText()).isEqualTo(expected);
    JsonNode base = client.post("/v1/completions", ServeClient.body("model", "model", "prompt", prompt,
        "max_tokens", 16, "temperature", 0)).json();
    assertThat(base.get("choices").get(0).get("text").asText()).isEqualTo(expectedBase);
    assertThat(client.post("/v1/completions", ServeClient.body("model", "a", "prompt", prompt, "max_tokens", 65))
        .status()).isEqualTo(400);

    serving.interrupt();
    serving.join(20_000);
    assertThat(serving.isAlive()).isFalse();
    assertThat(code.get()).as(cli.err()).isZero();
    assertThat(cli.out()).contains("peft4j serve: stopped");
    assertThatThrownBy(() -> client.get("/health")).hasCauseInstanceOf(java.net.ConnectException.class);
    fixture.close();
  }

  private URI awaitListening(Thread serving) throws InterruptedException {
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (System.nanoTime() < deadline && serving.isAlive()) {
      Matcher m = LISTENING.matcher(cli.out());
      if (m.find()) {
        return URI.create(m.group(1));
      }
      Thread.sleep(20);
    }
    throw new AssertionError("the server did not start: " + cli.out() + cli.err());
  }

  @Test
  void badOptionsPrintOneLineAndExitTwo() throws Exception {
    ServeFixture fixture = ServeFixture.create(dir);
    String model = fixture.modelDir().toString();
    assertOneLineError(cli.run("serve", "--model", model, "--adapter", "nodir", "--port", "0"),
        "--adapter must be NAME=DIR, got 'nodir'");
    assertOneLineError(cli.run("serve", "--model", model, "--adapter", "a=" + dir.resolve("missing"), "--port", "0"),
        "missing");
    assertOneLineError(cli.run("serve", "--model", model, "--adapter", "a=x", "--adapter", "a=y", "--port", "0"),
        "the name 'a' is given twice");
    assertOneLineError(cli.run("serve", "--model", model, "--max-batch", "0", "--port", "0"),
        "maxBatch must be at least 1: 0");
    assertOneLineError(cli.run("serve", "--model", model, "--adapter", "base=" + fixture.adapterDirs().get("a"),
        "--port", "0"), "already in use");
    fixture.close();
  }

  private void assertOneLineError(int code, String message) {
    assertThat(code).as(cli.out()).isEqualTo(2);
    assertThat(cli.err().strip()).startsWith("peft4j: error: ").contains(message).doesNotContain("\n");
  }
}
