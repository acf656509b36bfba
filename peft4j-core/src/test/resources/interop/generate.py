"""Writes the Python-side fixtures of PythonPeftInteropTest (peft4j-core/src/test/java/dev/peft4j/peft).

Run from this directory with torch, transformers and peft installed (written with torch 2.13,
transformers 5.18, peft 0.21; `pip install peft transformers safetensors`):

    python3 generate.py                  # everything
    python3 generate.py gpt2-lora-wte    # the named adapters only (the base models are written again)
    python3 generate.py pickled-bases pickles    # llama-bin/ and gpt2-bin/, pickles/

It saves four tiny base models with transformers' save_pretrained (LLaMA with grouped-query
attention, GPT-2 with its Conv1D projections, a BERT sequence classifier, Qwen3 with its per-head
q/k norms), then for each adapter
below one with PEFT's save_pretrained, its weights made non-trivial (LoRA B, prompt embeddings,
gates are zero or near-zero at initialisation, which would hide a wrong reading), and the logits
PEFT computes for fixed token ids: expected.safetensors holds `input_ids` (int64) and `logits`
(float32; [B, T, vocab], or [B, labels] for the classifier), and the same with `attention_mask`
(the second row right-padded) as `masked_logits`. The Java test loads the same base and
adapter directories with peft4j and compares its logits with these. It also writes pickles/, the
torch.save files of PickledTensorsTest, and llama-bin/ and gpt2-bin/: the same base models as
checkpoints saved before safetensors (pytorch_model.bin; GPT-2 in two shards with
pytorch_model.bin.index.json), which TorchSaveFileTest loads. Nothing here runs at test time.

Running it again reproduces every tensor, but PEFT writes `target_modules` (a Python set) in hash
order, so adapter_config.json files may list them in another order (PYTHONHASHSEED fixes it),
which peft4j reads the same way; pickles/legacy.bin differs too (the old format keys storages by
memory address).
"""
import json
import os
import shutil
import sys

import torch
from peft import (AdaptionPromptConfig, IA3Config, LoHaConfig, LoraConfig, PrefixTuningConfig, PromptEncoderConfig,
                  PromptTuningConfig, TrainableTokensConfig, VeraConfig, get_peft_model)
from safetensors.torch import save_file
from transformers import (BertConfig, BertForSequenceClassification, Gemma3ForCausalLM, Gemma3TextConfig, GPT2Config,
                          GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM)

HERE = os.path.dirname(os.path.abspath(__file__))
IDS = torch.tensor([[1, 5, 9, 13, 2, 7, 30, 11], [4, 4, 18, 60, 3, 25, 8, 1]])
MASK = torch.tensor([[1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0, 0]])  # the second row right-padded


def base(name):
    torch.manual_seed(0)
    if name == "llama":
        config = LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
                             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                             rms_norm_eps=1e-6, rope_parameters={"rope_type": "default", "rope_theta": 500.0},
                             tie_word_embeddings=False)
        model = LlamaForCausalLM(config)
    elif name == "qwen3":  # per-head q/k RMSNorms, head_dim 8 (not hidden/heads), tied head as Qwen3-0.6B
        config = Qwen3Config(vocab_size=64, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
                             num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=64,
                             rms_norm_eps=1e-6, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
                             tie_word_embeddings=True)
        model = Qwen3ForCausalLM(config)
    elif name == "gemma3":  # sliding-window layers (window 4 < the fixtures' 8 tokens) with their own rope θ, full
        # layers with linear rope scaling, query_pre_attn_scalar ≠ head_dim, soft-capped logits, tied head
        config = Gemma3TextConfig(vocab_size=64, hidden_size=16, intermediate_size=24, num_hidden_layers=3,
                                  num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=64,
                                  rms_norm_eps=1e-6, query_pre_attn_scalar=12, sliding_window=4,
                                  layer_types=["sliding_attention", "full_attention", "sliding_attention"],
                                  rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                                                   "full_attention": {"rope_type": "linear", "factor": 2.0,
                                                                      "rope_theta": 1000000.0}},
                                  final_logit_softcapping=5.0, tie_word_embeddings=True)
        model = Gemma3ForCausalLM(config)
    elif name == "bert":
        config = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
                            intermediate_size=24, max_position_embeddings=64, num_labels=3)
        model = BertForSequenceClassification(config)
    else:
        config = GPT2Config(vocab_size=64, n_positions=64, n_embd=16, n_layer=2, n_head=4, bos_token_id=0,
                            eos_token_id=0)
        model = GPT2LMHeadModel(config)
    with torch.no_grad():  # transformers initialises norms to 1 and biases to 0: make them count
        for n, p in model.named_parameters():
            if p.dim() == 1:
                p.add_(torch.randn_like(p) * 0.1)
    return model.eval()


def roughen(model):
    """Replaces the zero (or small) initial values of every trainable tensor with random ones, all
    of magnitude 0.25 to 0.75 (a single gate drawn near zero would hide the method)."""
    with torch.no_grad():
        for n, p in model.named_parameters():
            if p.requires_grad:
                p.copy_((torch.rand_like(p) * 0.5 + 0.25) * torch.randn_like(p).sign())


ADAPTERS = {
    "llama-lora": ("llama", LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"],
                                       lora_dropout=0.0)),
    # the same adapter as PEFT writes it with safe_serialization=False: adapter_model.bin (torch.save)
    "llama-lora-bin": ("llama", LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"],
                                           lora_dropout=0.0)),
    "gpt2-lora": ("gpt2", LoraConfig(r=4, lora_alpha=16, target_modules=["c_attn", "c_proj"], fan_in_fan_out=True,
                                     lora_dropout=0.0)),
    # sequence classification: PEFT saves the new head (modules_to_save "classifier") beside the LoRA matrices
    "bert-lora": ("bert", LoraConfig(task_type="SEQ_CLS", r=4, lora_alpha=8, target_modules=["query", "value"],
                                     lora_dropout=0.0)),
    # rsLoRA, per-module ranks and alphas, one layer only, every linear layer
    "llama-lora-patterns": ("llama", LoraConfig(r=4, lora_alpha=8, use_rslora=True, layers_to_transform=[1],
                                                target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                                                "up_proj", "down_proj"],
                                                rank_pattern={"down_proj": 2}, alpha_pattern={"v_proj": 3},
                                                lora_dropout=0.0)),
    "llama-lora-lm-head": ("llama", LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj"], modules_to_save=["lm_head"],
                                               lora_dropout=0.0)),
    "gpt2-lora-bias": ("gpt2", LoraConfig(r=4, lora_alpha=8, target_modules=["c_attn"], fan_in_fan_out=True, bias="all",
                                          lora_dropout=0.0)),
    # lora_bias: B has a trained bias of its own, scaled with the update (GPT-2's Conv1D layers have biases to merge
    # it into; LLaMA's q/v have none, so that adapter runs but cannot be merged)
    "gpt2-lora-b-bias": ("gpt2", LoraConfig(r=4, lora_alpha=8, target_modules=["c_attn", "c_fc"], fan_in_fan_out=True,
                                            lora_bias=True, lora_dropout=0.0)),
    "llama-lora-b-bias": ("llama", LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], lora_bias=True,
                                              lora_dropout=0.0)),
    # DoRA: a trained magnitude per output rescales the adapted weight (GPT-2: Conv1D with a bias)
    "llama-dora": ("llama", LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"],
                                       use_dora=True, lora_dropout=0.0)),
    "gpt2-dora": ("gpt2", LoraConfig(r=4, lora_alpha=8, target_modules=["c_attn", "c_fc"], fan_in_fan_out=True,
                                     use_dora=True, lora_dropout=0.0)),
    # LoRA on embeddings (lora_embedding_A/B); PEFT also saves the adapted embed_tokens' and lm_head's base weights
    "llama-lora-embed": ("llama", LoraConfig(r=4, lora_alpha=8, target_modules=["embed_tokens", "q_proj", "lm_head"],
                                             lora_dropout=0.0)),
    # GPT-2's wte is tied to the head: the lookup is adapted, the head keeps the base table (unmerged)
    "gpt2-lora-wte": ("gpt2", LoraConfig(r=4, lora_alpha=8, target_modules=["wte", "c_attn"], fan_in_fan_out=True,
                                         lora_dropout=0.0)),
    # DoRA on an embedding: the magnitude rescales the looked-up rows of W + ΔW per hidden unit
    "llama-dora-embed": ("llama", LoraConfig(r=4, lora_alpha=8, target_modules=["embed_tokens", "q_proj"],
                                             use_dora=True, lora_dropout=0.0)),
    # trainable_token_indices: rows 3, 7, 9 of embed_tokens trained in full beside LoRA (saved as token_adapter...)
    "llama-lora-tokens": ("llama", LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj"],
                                              trainable_token_indices=[3, 7, 9], lora_dropout=0.0)),
    # the same on GPT-2, whose head is tied to wte: PEFT's tied adapter gives the head the trained rows too
    "gpt2-lora-tokens": ("gpt2", LoraConfig(r=4, lora_alpha=8, target_modules=["c_attn"], fan_in_fan_out=True,
                                            trainable_token_indices=[3, 7, 9], lora_dropout=0.0)),
    # trainable tokens alone (peft_type TRAINABLE_TOKENS): rows 3, 7, 9 of the input embedding, no LoRA
    "llama-tokens": ("llama", TrainableTokensConfig(token_indices=[3, 7, 9])),
    # the same on GPT-2's tied table: PEFT gives the head the trained rows too
    "gpt2-tokens": ("gpt2", TrainableTokensConfig(token_indices=[3, 7, 9])),
    # Gemma 3: every projection and the (scaled, tied) token embeddings
    "gemma3-lora": ("gemma3", LoraConfig(r=4, lora_alpha=8, target_modules=["embed_tokens", "q_proj", "k_proj", "v_proj",
                                                                           "o_proj", "gate_proj", "up_proj", "down_proj"],
                                         lora_dropout=0.0)),
    # VeRA: frozen random A and B shared by every layer (the largest shapes, sliced per layer; saved with the adapter),
    # trained scaling vectors per layer; GPT-2's Conv1D layers of two shapes
    "llama-vera": ("llama", VeraConfig(r=4, target_modules=["q_proj", "v_proj", "down_proj"])),
    "gpt2-vera": ("gpt2", VeraConfig(r=4, target_modules=["c_attn", "c_fc"], fan_in_fan_out=True)),
    # the same without the projections in the file: A and B are drawn again from projection_prng_key
    "llama-vera-unsaved": ("llama", VeraConfig(r=4, target_modules=["q_proj", "v_proj"], save_projection=False,
                                               projection_prng_key=7)),
    # LoHa: ΔW = (α/r)·(W1a W1b) ⊙ (W2a W2b), with per-module ranks and alphas (LyCORIS)
    "llama-loha": ("llama", LoHaConfig(r=4, alpha=8, target_modules=["q_proj", "v_proj", "down_proj"],
                                       rank_pattern={"down_proj": 2}, alpha_pattern={"v_proj": 4})),
    "qwen3-lora": ("qwen3", LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                                       lora_dropout=0.0)),
    # (IA)³ with PEFT's default modules: learned vectors rescale k_proj's and v_proj's outputs and down_proj's input
    "llama-ia3": ("llama", IA3Config(task_type="CAUSAL_LM")),
    # GPT-2: c_attn's output (its bias too) and mlp.c_proj's input rescaled; Conv1D weights stored [in, out]
    "gpt2-ia3": ("gpt2", IA3Config(task_type="CAUSAL_LM")),
    # BERT: the feed-forward entry "output.dense" matches both attention.output.dense and output.dense (PEFT
    # matches feedforward_modules by plain suffix), so both have their input rescaled; the head is modules_to_save
    "bert-ia3": ("bert", IA3Config(task_type="SEQ_CLS")),
    "gpt2-prefix": ("gpt2", PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=3)),
    # prompt learning on a classifier: the head is saved as base_model.classifier.* (no tuner wrapper),
    # and BERT's pooler reads the first position, a virtual token for prompt tuning and P-tuning
    "bert-prompt": ("bert", PromptTuningConfig(task_type="SEQ_CLS", num_virtual_tokens=3)),
    "bert-ptuning": ("bert", PromptEncoderConfig(task_type="SEQ_CLS", num_virtual_tokens=3, encoder_hidden_size=8)),
    "bert-prefix": ("bert", PrefixTuningConfig(task_type="SEQ_CLS", num_virtual_tokens=3)),
    "llama-prefix": ("llama", PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=3)),
    "llama-prompt": ("llama", PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=3)),
    "llama-ptuning": ("llama", PromptEncoderConfig(task_type="CAUSAL_LM", num_virtual_tokens=3,
                                                   encoder_hidden_size=8)),
    "llama-adaption-prompt": ("llama", AdaptionPromptConfig(task_type="CAUSAL_LM", adapter_len=3, adapter_layers=1)),
}


class NamesAGlobal:
    """Pickles as a call of builtins.print, the way a pickle runs code; a safe reader refuses it."""

    def __reduce__(self):
        return print, ("peft4j test fixture: a pickle naming a Python global",)


def pickles():
    """Files torch.save wrote that PickledTensorsTest reads: one it must read (dtypes, a view
    sharing its storage) and ones it must refuse."""
    out = os.path.join(HERE, "pickles")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    torch.save({"w": t, "row": t[1], "h": t.to(torch.bfloat16), "ids": torch.tensor([7, -1])},
               os.path.join(out, "state-dict.bin"))
    torch.save([t], os.path.join(out, "list.bin"))
    torch.save({"w": t, "step": 3}, os.path.join(out, "not-a-tensor.bin"))
    torch.save({"w": t.to(torch.complex64)}, os.path.join(out, "complex.bin"))
    torch.save({"w": NamesAGlobal()}, os.path.join(out, "names-a-global.bin"))
    torch.save({"w": t}, os.path.join(out, "legacy.bin"), _use_new_zipfile_serialization=False)
    torch.save({"w": t.t()}, os.path.join(out, "transposed.bin"))  # a non-contiguous view


def pickled_bases():
    """The base models as transformers saved them before safetensors (torch.save of the state dict):
    llama as one pytorch_model.bin, gpt2 as two shards with the index mapping each tensor to its shard."""
    for name, shards in (("llama", 1), ("gpt2", 2)):
        out = os.path.join(HERE, name + "-bin")
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        shutil.copy(os.path.join(HERE, name, "config.json"), out)
        state = base(name).state_dict()
        if shards == 1:
            torch.save(state, os.path.join(out, "pytorch_model.bin"))
            continue
        keys = list(state)
        weight_map = {}
        for i in range(shards):
            file = f"pytorch_model-{i + 1:05d}-of-{shards:05d}.bin"
            part = keys[i * len(keys) // shards:(i + 1) * len(keys) // shards]
            torch.save({k: state[k] for k in part}, os.path.join(out, file))
            weight_map.update({k: file for k in part})
        total = sum(t.numel() * t.element_size() for t in state.values())
        with open(os.path.join(out, "pytorch_model.bin.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


def main(only):
    if only and all(name in ("pickles", "pickled-bases") for name in only):
        return
    for name in ("llama", "gpt2", "bert", "qwen3", "gemma3"):
        shutil.rmtree(os.path.join(HERE, name), ignore_errors=True)
        base(name).save_pretrained(os.path.join(HERE, name))
    for adapter, (base_name, config) in ADAPTERS.items():
        if only and adapter not in only:
            continue
        out = os.path.join(HERE, adapter)
        shutil.rmtree(out, ignore_errors=True)
        torch.manual_seed(1)
        model = get_peft_model(base(base_name), config)
        roughen(model)
        model.eval()
        with torch.no_grad():
            logits = model(input_ids=IDS).logits.float()
            masked = model(input_ids=IDS, attention_mask=MASK).logits.float()
            if logits.dim() == 3:  # prompt tuning and P-tuning score the virtual tokens too; peft4j, the caller's
                logits = logits[:, -IDS.shape[1]:]
                masked = masked[:, -IDS.shape[1]:]
        # P-tuning: the encoder's output, the virtual token embeddings
        model.save_pretrained(out, safe_serialization=not adapter.endswith("-bin"))
        os.remove(os.path.join(out, "README.md"))  # PEFT's model card template
        save_file({"input_ids": IDS.contiguous(), "logits": logits.contiguous(), "attention_mask": MASK.contiguous(),
                   "masked_logits": masked.contiguous()}, os.path.join(out, "expected.safetensors"))
        with open(os.path.join(out, "adapter_config.json")) as f:
            print(adapter, json.load(f)["peft_type"], tuple(logits.shape))


if __name__ == "__main__":
    main(sys.argv[1:])
    if len(sys.argv) == 1 or "pickles" in sys.argv:
        pickles()
    if len(sys.argv) == 1 or "pickled-bases" in sys.argv:
        pickled_bases()
