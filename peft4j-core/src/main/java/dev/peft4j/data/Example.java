package dev.peft4j.data;

/**
 * One training example as read from a dataset file, before tokenisation. Each record is one
 * {@link DatasetFormat}.
 */
public sealed interface Example
    permits TextExample, PromptCompletion, AlpacaExample, ChatExample, ClassificationExample {}
