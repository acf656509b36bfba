package dev.peft4j.text;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Opens DJL's {@link HuggingFaceTokenizer} on a local {@code tokenizer.json} only, with its own
 * padding and truncation switched off (peft4j pads and truncates in {@link Tokenizer}).
 *
 * <p>DJL can reach the network in two places: a usage ping ({@code Ec2Utils.callHome}) and
 * downloading the JNI library when the jar lacks one for this platform. Both are skipped in DJL's
 * offline mode, which is switched on here unless the user chose a value
 * ({@code -Dai.djl.offline} or {@code DJL_OFFLINE}). The native library for Linux x86-64 and
 * aarch64, macOS arm64 and Windows x86-64 ships inside the tokenizers jar and is extracted to
 * DJL's cache directory ({@code DJL_CACHE_DIR}, default {@code ~/.djl.ai}).
 * {@link HuggingFaceTokenizer#newInstance(String)} (which fetches from the Hub) is never used.
 */
final class DjlTokenizers {
  private DjlTokenizers() {}

  static HuggingFaceTokenizer open(Path tokenizerJson) throws IOException {
    if (System.getProperty("ai.djl.offline") == null && System.getenv("DJL_OFFLINE") == null) {
      System.setProperty("ai.djl.offline", "true");
    }
    return HuggingFaceTokenizer.builder()
        .optTokenizerPath(tokenizerJson) // a file: DJL reads it and no tokenizer_config.json
        .optPadding(false)
        .optTruncation(false)
        .optAddSpecialTokens(true)
        .build();
  }
}
