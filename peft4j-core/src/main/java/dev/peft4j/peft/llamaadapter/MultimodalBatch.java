package dev.peft4j.peft.llamaadapter;

import dev.peft4j.data.Batch;
import dev.peft4j.tensor.Tensor;

/**
 * A language-modelling batch with one image feature per row.
 *
 * @param batch token ids, mask and labels
 * @param features float32 [B, visual_feature_dim]
 */
public record MultimodalBatch(Batch batch, Tensor features) {}
