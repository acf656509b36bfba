"""Loads adapters that peft4j saved back into Hugging Face PEFT and compares PEFT's logits with the
fixtures' (the reverse direction of PythonPeftInteropTest, which cannot run Python).

    python3 check_saved_by_peft4j.py SAVED_DIR

SAVED_DIR holds one directory per fixture adapter (llama-lora, gpt2-lora, ...), each written by
peft4j after loading the fixture (PythonPeftInteropTest writes them when run with
-Dpeft4j.interop.save=SAVED_DIR). Prints the largest difference per adapter; exits 1 above 1e-4.
"""
import os
import sys

import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

HERE = os.path.dirname(os.path.abspath(__file__))


def main(saved):
    worst = 0.0
    for adapter in sorted(os.listdir(saved)):
        base_name = adapter.split("-")[0]
        expected = load_file(os.path.join(HERE, adapter, "expected.safetensors"))
        auto = AutoModelForSequenceClassification if base_name == "bert" else AutoModelForCausalLM
        base = auto.from_pretrained(os.path.join(HERE, base_name)).eval()
        model = PeftModel.from_pretrained(base, os.path.join(saved, adapter)).eval()
        with torch.no_grad():
            ids = expected["input_ids"]
            logits = model(input_ids=ids).logits.float()
            if logits.dim() == 3:
                logits = logits[:, -ids.shape[1]:]  # without virtual token positions
        diff = (logits - expected["logits"]).abs().max().item()
        worst = max(worst, diff)
        print(f"{adapter}: largest difference {diff:.2e}")
    return 1 if worst > 1e-4 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
