/**
 * An OpenAI-compatible HTTP server ({@link dev.peft4j.serve.InferenceServer}) for one base model
 * with many adapters: requests name their adapter in {@code model}, and concurrent requests of
 * different adapters are decoded together in one batch, joining and leaving it between steps.
 *
 * <p>Inside: the HTTP layer ({@code CompletionsHandler}, {@code ModelsHandler},
 * {@code AdminHandler}, {@code Exchanges}, {@code SseWriter}) parses and checks requests
 * ({@code RequestParser}) and queues them as {@code Job}s; the {@code Scheduler} thread owns the
 * model and the {@code RunningBatch} (one KV cache for all rows); {@code ServedAdapters} loads and
 * unloads adapters; {@code OpenAiJson} writes the responses.
 */
package dev.peft4j.serve;
