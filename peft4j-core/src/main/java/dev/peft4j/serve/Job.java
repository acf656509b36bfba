package dev.peft4j.serve;

import dev.peft4j.generate.FinishReason;
import dev.peft4j.generate.RowText;
import dev.peft4j.text.Tokenizer;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * One request on its way through the server. The scheduler thread feeds it tokens
 * ({@link #accept}) and it turns them into {@link Event}s that the request's HTTP thread takes
 * ({@link #next}) and writes out. The HTTP thread {@link #cancel}s it when the client has gone;
 * the scheduler then drops its row at the next step.
 */
final class Job {
  /** What the HTTP side receives, in order: pieces of text (when streaming), then one end. */
  sealed interface Event permits Piece, Finished, Failed {}

  /** Text that became safe to stream; never empty. */
  record Piece(String text) implements Event {}

  /** The completion ended; {@code text} is all of it. */
  record Finished(FinishReason reason, String text, int completionTokens) implements Event {}

  /** The request could not be completed. */
  record Failed(ApiException error) implements Event {}

  private final CompletionRequest request;
  private final String id;
  private final long created = System.currentTimeMillis() / 1000;
  private final RowText text;
  private final Sampler sampler; // null when greedy
  private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
  private volatile boolean cancelled;
  private int count;   // tokens generated, stop token included
  private boolean done; // scheduler thread only

  Job(CompletionRequest request, Tokenizer tokenizer) {
    this.request = request;
    this.id = (request.chat() ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
    this.text = RowText.of(tokenizer, request.stop(), request.stream());
    this.sampler = request.temperature() == 0 ? null : new Sampler(request.temperature(), request.topP(),
        request.seed().isPresent() ? new SplittableRandom(request.seed().getAsLong()) : new SplittableRandom());
  }

  CompletionRequest request() {
    return request;
  }

  String id() {
    return id;
  }

  /** Creation time, in seconds since the epoch. */
  long created() {
    return created;
  }

  boolean greedy() {
    return sampler == null;
  }

  /** Draws the next token from the last position's logits [V] (sampling requests only). */
  long sample(float[] logits) {
    return sampler.sample(logits);
  }

  /**
   * Takes the next generated token, as {@link dev.peft4j.generate.Generator} does: a stop token
   * ends the completion (in its count, not its text), then a stop string, then the length limit.
   *
   * @return whether the completion has ended
   */
  boolean accept(long token) {
    count++;
    if (request.stopIds().contains(token)) {
      return finish(FinishReason.STOP_TOKEN);
    }
    emit(text.add(token));
    if (text.stoppedByString()) {
      return finish(FinishReason.STOP_STRING);
    }
    return count == request.maxTokens() && finish(FinishReason.LENGTH);
  }

  private boolean finish(FinishReason reason) {
    emit(text.finish());
    done = true;
    events.add(new Finished(reason, text.text(), count));
    return true;
  }

  private void emit(String piece) {
    if (request.stream() && !piece.isEmpty()) {
      events.add(new Piece(piece));
    }
  }

  /** Ends the request with an error, unless it has ended already. */
  void fail(ApiException error) {
    if (!done) {
      done = true;
      events.add(new Failed(error));
    }
  }

  /** Whether the completion has ended (scheduler thread). */
  boolean done() {
    return done;
  }

  /** The client has gone: stop generating for it. Any thread. */
  void cancel() {
    cancelled = true;
  }

  boolean cancelled() {
    return cancelled;
  }

  /** The next event, waiting for it. */
  Event next() throws InterruptedException {
    return events.take();
  }
}
