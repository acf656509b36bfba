package dev.peft4j.data;

import java.util.Objects;

/**
 * A Stanford Alpaca instruction example, trained as the prompt built by {@link #prompt()} and
 * the completion {@link #output()}.
 *
 * @param instruction the task
 * @param input optional context for the task; {@code ""} when there is none
 * @param output the response to learn
 */
public record AlpacaExample(String instruction, String input, String output) implements Example {
  public AlpacaExample {
    Objects.requireNonNull(instruction, "instruction");
    Objects.requireNonNull(input, "input");
    Objects.requireNonNull(output, "output");
  }

  /*
   * The templates of tatsu-lab/stanford_alpaca, train.py, PROMPT_DICT (quoted exactly):
   *
   *   "prompt_input": (
   *       "Below is an instruction that describes a task, paired with an input that provides further context. "
   *       "Write a response that appropriately completes the request.\n\n"
   *       "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:"
   *   ),
   *   "prompt_no_input": (
   *       "Below is an instruction that describes a task. "
   *       "Write a response that appropriately completes the request.\n\n"
   *       "### Instruction:\n{instruction}\n\n### Response:"
   *   ),
   *
   * train.py picks prompt_input when example.get("input", "") != "" and trains on
   * f"{example['output']}{tokenizer.eos_token}" as the target, with the loss masked on the prompt.
   */

  /**
   * The Stanford Alpaca prompt: the "with input" template when {@link #input()} is not empty,
   * else the "no input" one, with the fields substituted verbatim. It ends in
   * {@code "### Response:"} with no trailing whitespace.
   */
  public String prompt() {
    if (!input.isEmpty()) {
      return "Below is an instruction that describes a task, paired with an input that provides further context. "
          + "Write a response that appropriately completes the request.\n\n"
          + "### Instruction:\n" + instruction + "\n\n### Input:\n" + input + "\n\n### Response:";
    }
    return "Below is an instruction that describes a task. "
        + "Write a response that appropriately completes the request.\n\n"
        + "### Instruction:\n" + instruction + "\n\n### Response:";
  }

  /** This example as {@link #prompt()} followed by {@link #output()}. */
  public PromptCompletion toPromptCompletion() {
    return new PromptCompletion(prompt(), output);
  }
}
