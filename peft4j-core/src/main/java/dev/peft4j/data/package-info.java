/**
 * Fine-tuning data: {@link dev.peft4j.data.Example}s read from JSONL ({@link
 * dev.peft4j.data.JsonlDataset}) or CSV ({@link dev.peft4j.data.CsvDataset}) into a {@link
 * dev.peft4j.data.Dataset}, tokenised with loss masks by {@link dev.peft4j.data.ExampleTokenizer}
 * into {@link dev.peft4j.data.EncodedExample}s, and served as padded {@link
 * dev.peft4j.data.Batch}es by a deterministic, resumable {@link dev.peft4j.data.DataLoader}.
 *
 * <pre>{@code
 * Dataset data = JsonlDataset.read(file, DatasetFormat.ALPACA, ReadOptions.STRICT);
 * ExampleTokenizer enc = ExampleTokenizer.builder(tokenizer).maxLength(512).build();
 * DataLoader loader = DataLoader.builder(enc.encodeAll(data)).batchSize(8).seed(42)
 *     .padId(tokenizer.padId().orElse(0)).build();
 * for (Batch b : loader.batches(epoch)) { try (b) { ... } }
 * }</pre>
 */
package dev.peft4j.data;
