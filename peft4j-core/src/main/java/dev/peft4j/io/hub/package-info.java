/**
 * Finding models in the Hugging Face cache and filling it: {@link dev.peft4j.io.hub.ModelLocator}
 * turns a command-line model argument (a directory, or a repo id such as
 * {@code org/name@revision}) into a model directory, using {@link dev.peft4j.io.hub.HubDownloader}
 * when the model is not cached. The cache layout is the one Python's {@code huggingface_hub}
 * writes ({@code models--ORG--NAME/{blobs,snapshots,refs}}), so both tools share files.
 */
package dev.peft4j.io.hub;
