package dev.peft4j.data;

import static dev.peft4j.data.EncodedExample.IGNORE_INDEX;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.OptionalInt;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class DataLoaderTest {

  /** {@code n} examples; example {@code i} has length 1 + (random) and every id equal to {@code 1000 + i}. */
  private static List<EncodedExample> examples(int n, int maxLength, long seed) {
    Random random = new Random(seed);
    List<EncodedExample> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int[] ids = new int[1 + random.nextInt(maxLength)];
      Arrays.fill(ids, 1000 + i);
      out.add(EncodedExample.lm(ids, ids));
    }
    return out;
  }

  /** The example indices of a batch, read back from its tensors (ids are 1000 + index). */
  private static List<Integer> indicesOf(Batch b) {
    List<Integer> out = new ArrayList<>();
    long[] ids = b.inputIds().toLongArray();
    for (int r = 0; r < b.size(); r++) {
      out.add((int) ids[r * b.length()] - 1000);
    }
    return out;
  }

  private static List<long[]> contents(Iterator<Batch> it) {
    List<long[]> out = new ArrayList<>();
    while (it.hasNext()) {
      try (Batch b = it.next()) {
        out.add(b.inputIds().toLongArray());
        out.add(b.attentionMask().toLongArray());
        out.add(b.labels().toLongArray());
      }
    }
    return out;
  }

  @Test
  void collatePadsRightWithMaskAndIgnoredLabels() {
    EncodedExample a = EncodedExample.lm(new int[] {1, 2, 3}, new int[] {IGNORE_INDEX, 2, 3});
    EncodedExample b = EncodedExample.lm(new int[] {4, 5}, new int[] {4, 5});
    try (Batch batch = Collator.collate(List.of(a, b), 9)) {
      assertThat(batch.inputIds().shape()).containsExactly(2, 3);
      assertThat(batch.inputIds().toLongArray()).containsExactly(1, 2, 3, 4, 5, 9);
      assertThat(batch.attentionMask().shape()).containsExactly(2, 3);
      assertThat(batch.attentionMask().toLongArray()).containsExactly(1, 1, 1, 1, 1, 0);
      assertThat(batch.labels().shape()).containsExactly(2, 3);
      assertThat(batch.labels().toLongArray()).containsExactly(IGNORE_INDEX, 2, 3, 4, 5, IGNORE_INDEX);
      assertThat(batch.realTokens()).isEqualTo(5);
      assertThat(batch.isClassification()).isFalse();
    }
  }

  @Test
  void collateClassificationGivesClassIds() {
    List<EncodedExample> rows = List.of(EncodedExample.classification(new int[] {101, 7, 102}, 2),
        EncodedExample.classification(new int[] {101, 102}, 0));
    try (Batch batch = Collator.collate(rows, 0)) {
      assertThat(batch.labels().shape()).containsExactly(2);
      assertThat(batch.labels().toLongArray()).containsExactly(2, 0);
      assertThat(batch.inputIds().toLongArray()).containsExactly(101, 7, 102, 101, 102, 0);
      assertThat(batch.isClassification()).isTrue();
    }
    List<EncodedExample> mixed = List.of(rows.get(0), EncodedExample.lm(new int[] {1}, new int[] {1}));
    assertThatThrownBy(() -> Collator.collate(mixed, 0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void unshuffledServesExamplesInOrder() {
    DataLoader loader = DataLoader.builder(examples(10, 5, 1)).batchSize(4).shuffle(false).build();
    assertThat(loader.batchesPerEpoch()).isEqualTo(3);
    assertThat(loader.plan(0)).containsExactly(new int[] {0, 1, 2, 3}, new int[] {4, 5, 6, 7}, new int[] {8, 9});
    try (Batch b = loader.batch(0, 2)) {
      assertThat(indicesOf(b)).containsExactly(8, 9);
    }
    DataLoader dropping = DataLoader.builder(examples(10, 5, 1)).batchSize(4).dropLast(true).build();
    assertThat(dropping.batchesPerEpoch()).isEqualTo(2);
    assertThat(dropping.plan(3)).hasSize(2).allSatisfy(b -> assertThat(b).hasSize(4));
  }

  @Test
  void everyExampleOnceAndDeterministicPerSeedAndEpoch() {
    List<EncodedExample> data = examples(37, 9, 2);
    DataLoader loader = DataLoader.builder(data).batchSize(5).seed(42).build();
    DataLoader same = DataLoader.builder(data).batchSize(5).seed(42).build();
    for (int epoch = 0; epoch < 3; epoch++) {
      assertThat(flatten(loader.plan(epoch))).containsExactlyInAnyOrderElementsOf(range(37));
      assertThat(same.plan(epoch)).usingRecursiveComparison().isEqualTo(loader.plan(epoch));
    }
    assertThat(contents(loader.iterator(1, 0))).usingRecursiveComparison().isEqualTo(contents(same.iterator(1, 0)));
    assertThat(flatten(loader.plan(1))).isNotEqualTo(flatten(loader.plan(0)));
    DataLoader otherSeed = DataLoader.builder(data).batchSize(5).seed(43).build();
    assertThat(flatten(otherSeed.plan(0))).isNotEqualTo(flatten(loader.plan(0)));
    // The documented recipe: shuffle with new Random(seed + epoch).
    List<Integer> expected = new ArrayList<>(range(37));
    java.util.Collections.shuffle(expected, new Random(42 + 2));
    assertThat(flatten(loader.plan(2))).isEqualTo(expected);
  }

  @Test
  void resumingAtIndexKGivesTheSameBatches() {
    DataLoader loader = DataLoader.builder(examples(23, 7, 3)).batchSize(4).seed(7).bucketing(2).build();
    List<long[]> all = contents(loader.batches(1).iterator());
    int k = 3;
    DataLoader resumed = DataLoader.builder(examples(23, 7, 3)).batchSize(4).seed(7).bucketing(2).build();
    assertThat(contents(resumed.iterator(1, k))).usingRecursiveComparison().isEqualTo(all.subList(3 * k, all.size()));
    try (Batch b = resumed.batch(1, k)) {
      assertThat(b.inputIds().toLongArray()).isEqualTo(all.get(3 * k));
    }
    assertThat(resumed.iterator(1, loader.batchesPerEpoch()).hasNext()).isFalse();
    assertThatThrownBy(() -> resumed.iterator(1, loader.batchesPerEpoch() + 1)).isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> resumed.batch(-1, 0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void bucketingKeepsEveryExampleOnceAndReducesPadding() {
    List<EncodedExample> data = examples(203, 64, 4);
    DataLoader plain = DataLoader.builder(data).batchSize(8).seed(1).build();
    DataLoader bucketed = DataLoader.builder(data).batchSize(8).seed(1).bucketing(5).build();
    List<int[]> plan = bucketed.plan(0);
    assertThat(plan).hasSize(bucketed.batchesPerEpoch()).hasSize(26);
    assertThat(flatten(plan)).containsExactlyInAnyOrderElementsOf(range(203));
    assertThat(plan.stream().filter(b -> b.length < 8).count()).isEqualTo(1);
    for (int[] batch : plan) { // sorted inside a window: longest first
      for (int i = 1; i < batch.length; i++) {
        assertThat(data.get(batch[i]).length()).isLessThanOrEqualTo(data.get(batch[i - 1]).length());
      }
    }
    assertThat(padding(bucketed, plan)).isLessThan(padding(plain, plain.plan(0)) / 2);
    assertThat(flatten(bucketed.plan(1))).isNotEqualTo(flatten(plan));
  }

  private static long padding(DataLoader loader, List<int[]> plan) {
    long pad = 0;
    for (int[] batch : plan) {
      int max = IntStream.of(batch).map(i -> loader.examples().get(i).length()).max().orElseThrow();
      pad += IntStream.of(batch).map(i -> max - loader.examples().get(i).length()).sum();
    }
    return pad;
  }

  @Test
  void packingCutsTheStreamIntoFullBlocks() {
    int eos = 99;
    List<EncodedExample> docs = List.of(
        EncodedExample.lm(new int[] {1, 2, 3}, new int[] {IGNORE_INDEX, 2, 3}),
        EncodedExample.lm(new int[] {4, 5, 6, 7, 8}, new int[] {4, 5, 6, 7, 8}),
        EncodedExample.lm(new int[] {9, 10, eos}, new int[] {9, 10, eos}), // already ends with EOS
        EncodedExample.lm(new int[] {11}, new int[] {11}));
    // Stream: 1 2 3 E 4 5 6 7 8 E 9 10 E 11 E (15 tokens) -> three blocks of 4, tail of 3 dropped.
    List<EncodedExample> blocks = Packing.pack(docs, 4, OptionalInt.of(eos));
    assertThat(blocks).extracting(EncodedExample::ids).containsExactly(
        new int[] {1, 2, 3, eos}, new int[] {4, 5, 6, 7}, new int[] {8, eos, 9, 10});
    assertThat(blocks.get(0).labels()).containsExactly(IGNORE_INDEX, 2, 3, eos);
    assertThat(blocks.get(2).labels()).containsExactly(8, eos, 9, 10);
    assertThat(Packing.pack(docs, 5, OptionalInt.empty())).extracting(EncodedExample::ids)
        .containsExactly(new int[] {1, 2, 3, 4, 5}, new int[] {6, 7, 8, 9, 10});
    assertThatThrownBy(() -> Packing.pack(docs, 100, OptionalInt.of(eos)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("15 tokens");

    DataLoader loader = DataLoader.builder(docs).batchSize(2).packing(4, OptionalInt.of(eos)).shuffle(false).build();
    assertThat(loader.batchesPerEpoch()).isEqualTo(2);
    try (Batch b = loader.batch(0, 0)) {
      assertThat(b.inputIds().shape()).containsExactly(2, 4);
      assertThat(b.attentionMask().toLongArray()).containsOnly(1);
      assertThat(b.realTokens()).isEqualTo(8);
      assertThat(b.inputIds().toLongArray()).containsExactly(1, 2, 3, eos, 4, 5, 6, 7);
    }
  }

  @Test
  void builderChecks() {
    assertThatThrownBy(() -> DataLoader.builder(List.of())).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> DataLoader.builder(examples(3, 2, 0)).batchSize(0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> DataLoader.builder(examples(3, 2, 0)).batchSize(4).dropLast(true).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no batch");
  }

  private static List<Integer> flatten(List<int[]> plan) {
    List<Integer> out = new ArrayList<>();
    plan.forEach(b -> IntStream.of(b).forEach(out::add));
    return out;
  }

  private static List<Integer> range(int n) {
    return IntStream.range(0, n).boxed().toList();
  }
}
