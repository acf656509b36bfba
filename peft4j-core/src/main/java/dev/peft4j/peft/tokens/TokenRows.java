package dev.peft4j.peft.tokens;

import dev.peft4j.model.PretrainedModel;
import dev.peft4j.nn.Embedding;
import dev.peft4j.peft.AdapterControl;
import dev.peft4j.peft.HookSites;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An embedding table and the token ids of its rows that train in full, found and checked before
 * anything attaches: the ids inside the table, no adapter of the same name on it.
 *
 * @param table the embedding
 * @param ids distinct, non-negative token ids
 */
public record TokenRows(Embedding table, List<Integer> ids) {

  /**
   * The model's input embedding, by path, with {@code ids}.
   *
   * @param what names the setting in errors, e.g. {@code trainable_token_indices}
   */
  public static Map<String, TokenRows> ofInputEmbedding(PretrainedModel model, List<Integer> ids, String what) {
    Embedding input = HookSites.of(model).requireInput(model, what).wordEmbeddings();
    Map<String, TokenRows> rows = new LinkedHashMap<>();
    model.namedModules().forEach((name, m) -> {
      if (m == input) {
        rows.put(name, new TokenRows(input, ids));
      }
    });
    return rows;
  }

  /**
   * Checks every entry of {@code rows}.
   *
   * @throws IllegalArgumentException naming the table and the token, for an id outside the table
   * @throws IllegalStateException if a table already has an adapter named {@code adapterName}
   */
  public static void check(Map<String, TokenRows> rows, String adapterName, String what) {
    rows.forEach((name, r) -> {
      if (r.table().children().containsKey(adapterName)) {
        throw new IllegalStateException("module '" + name + "' already has an adapter named '" + adapterName + "'");
      }
      for (int id : r.ids()) {
        if (id >= r.table().numEmbeddings()) {
          throw new IllegalArgumentException(what + " for '" + name + "' has token id " + id
              + ", outside its table of " + r.table().numEmbeddings() + " rows");
        }
      }
    });
  }

  /**
   * Attaches a {@link TrainableTokensDelta} to every checked table, under {@code adapterName}.
   *
   * @param fromRows the trained rows start as the table's (else N(0, 1))
   * @return the deltas by table path
   */
  public static Map<String, TrainableTokensDelta> attach(Map<String, TokenRows> rows, String adapterName,
      boolean fromRows, AdapterControl control) {
    Map<String, TrainableTokensDelta> deltas = new LinkedHashMap<>();
    rows.forEach((name, r) -> deltas.put(name, r.table().attachDelta(adapterName,
        new TrainableTokensDelta(r.table(), r.ids(), fromRows, control))));
    return deltas;
  }

  /**
   * {@code ids} as an immutable list, checked: not empty, no id twice, none negative.
   *
   * @param what names the setting in errors, e.g. {@code token_indices}
   */
  public static List<Integer> distinctIds(String what, List<Integer> ids) {
    if (ids.isEmpty()) {
      throw new IllegalArgumentException(what + " is empty");
    }
    if (new HashSet<>(ids).size() != ids.size()) {
      throw new IllegalArgumentException(what + " names a token twice: " + ids);
    }
    for (int id : ids) {
      if (id < 0) {
        throw new IllegalArgumentException(what + " has a negative token id " + id);
      }
    }
    return List.copyOf(ids);
  }
}
