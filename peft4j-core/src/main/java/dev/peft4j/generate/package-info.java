/**
 * Text generation with a {@link dev.peft4j.model.CausalLm}: {@link dev.peft4j.generate.Generator}
 * decodes batches of left-padded prompts with a KV cache, greedily or by sampling
 * (repetition penalty, temperature, top-k, top-p in Hugging Face's order), stops on stop tokens,
 * stop strings or length, and streams text as it is produced.
 */
package dev.peft4j.generate;
