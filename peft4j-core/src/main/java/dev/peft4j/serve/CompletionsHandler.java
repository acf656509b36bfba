package dev.peft4j.serve;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.peft4j.text.Tokenizer;
import java.io.IOException;

/**
 * {@code POST /v1/completions} and {@code POST /v1/chat/completions}: parses the request, queues
 * it, and writes its events — all at once as JSON, or as server-sent events with
 * {@code "stream": true}. Headers are sent when the first event arrives, so an error before
 * generation starts (e.g. an adapter unloaded while the request waited) still gets its status.
 * If the client goes away mid-stream the request is cancelled and its row dropped.
 */
final class CompletionsHandler implements HttpHandler {
  private final boolean chat;
  private final RequestParser parser;
  private final Tokenizer tokenizer;
  private final Scheduler scheduler;
  private final int maxBodyBytes;

  CompletionsHandler(boolean chat, RequestParser parser, Tokenizer tokenizer, Scheduler scheduler, int maxBodyBytes) {
    this.chat = chat;
    this.parser = parser;
    this.tokenizer = tokenizer;
    this.scheduler = scheduler;
    this.maxBodyBytes = maxBodyBytes;
  }

  @Override
  public void handle(HttpExchange exchange) {
    String path = chat ? "/v1/chat/completions" : "/v1/completions";
    Exchanges.serve(exchange, "POST", path, () -> {
      CompletionRequest request = parser.parse(Exchanges.body(exchange, maxBodyBytes), chat);
      Job job = new Job(request, tokenizer);
      scheduler.submit(job);
      try {
        Job.Event first = job.next();
        if (first instanceof Job.Failed) {
          throw ((Job.Failed) first).error();
        }
        if (request.stream()) {
          stream(exchange, job, first);
        } else {
          Exchanges.sendJson(exchange, 200, OpenAiJson.completion(job, (Job.Finished) first));
        }
      } catch (IOException | InterruptedException | RuntimeException e) {
        job.cancel();
        throw e;
      }
    });
  }

  private static void stream(HttpExchange exchange, Job job, Job.Event first) throws IOException, InterruptedException {
    SseWriter sse = new SseWriter(exchange);
    if (job.request().chat()) {
      sse.send(OpenAiJson.chunk(job, null, null)); // opens the message: {"role": "assistant"}
    }
    for (Job.Event event = first; ; event = job.next()) {
      if (event instanceof Job.Piece) {
        sse.send(OpenAiJson.chunk(job, ((Job.Piece) event).text(), null));
      } else if (event instanceof Job.Finished) {
        Job.Finished end = (Job.Finished) event;
        sse.send(OpenAiJson.chunk(job, null, end));
        if (job.request().includeUsage()) {
          sse.send(OpenAiJson.usageChunk(job, end));
        }
        sse.done();
        return;
      } else {
        sse.send(OpenAiJson.error(((Job.Failed) event).error()));
        sse.done();
        return;
      }
    }
  }
}
