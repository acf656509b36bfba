/**
 * Text handling: {@link dev.peft4j.text.Tokenizer} over a Hugging Face {@code tokenizer.json}
 * (the Rust {@code tokenizers} library through DJL, offline only), and
 * {@link dev.peft4j.text.ChatTemplate}s that turn a conversation into the prompt string a chat
 * model was trained on.
 */
package dev.peft4j.text;
