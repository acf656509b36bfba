package dev.peft4j.serve;

import java.util.List;
import java.util.OptionalLong;
import java.util.Set;

/**
 * A validated completion or chat-completion request.
 *
 * @param model the {@code model} as the client gave it (echoed in the response)
 * @param adapter the adapter that runs it, or {@link dev.peft4j.peft.PeftModel#BASE} for none
 * @param chat whether it came to {@code /v1/chat/completions} (shapes the response)
 * @param prompt token ids of the prompt (for chat: the rendered conversation); not empty
 * @param maxTokens tokens to generate at most; {@code >= 1}
 * @param temperature 0 = greedy, otherwise sampling temperature
 * @param topP nucleus threshold in [0, 1]; 1 = off
 * @param stop strings that end the completion (cut before them)
 * @param stopIds token ids that end the completion (EOS, end of turn)
 * @param seed seeds this request's own sampler; empty = a random seed
 * @param stream answer with server-sent events
 * @param includeUsage with {@code stream}: send a last chunk with {@code usage}
 *     ({@code stream_options.include_usage})
 */
record CompletionRequest(String model, String adapter, boolean chat, long[] prompt, int maxTokens,
    double temperature, double topP, List<String> stop, Set<Long> stopIds, OptionalLong seed, boolean stream,
    boolean includeUsage) {}
