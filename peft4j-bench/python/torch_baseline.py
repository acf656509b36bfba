"""PyTorch eager baselines for `peft4j bench train` and `peft4j bench infer` (docs/PERFORMANCE.md §15, §16).

The same LLaMA-shaped model with random weights as the peft4j benches (dim 512, 4 layers, 8 query
heads, 4 key/value heads, ffn 1408, vocab 8000, RoPE theta 10000, RMSNorm eps 1e-5 by default),
with LoRA r 8, alpha 16 on q_proj and v_proj, in one of two stacks:

  --stack hf     what a Python user runs: Hugging Face transformers' LlamaForCausalLM ("sdpa"
                 attention) with Hugging Face PEFT's LoRA (get_peft_model; merge_and_unload for
                 the merged variant). Needs transformers and peft.
  --stack plain  (default) the same computation written out in PyTorch modules: LLaMA as
                 transformers computes it, LoRA as PEFT's `lora.Linear.forward` does,
                 `base(x) + lora_B(lora_A(dropout(x))) * (alpha / r)`, the input cast to the LoRA
                 matrices' dtype and the sum cast back (PEFT's autocast_adapter_dtype=True keeps
                 them in float32 on a bf16 model). Without the libraries' dispatch, hooks and
                 checks it is a faster PyTorch eager than they are; it needs only torch.

  train: AdamW (lr 1e-4, weight decay 0) on the LoRA parameters, gradient clipping at 1.0, the
         loss as transformers' ForCausalLMLoss (logits upcast to float32, shifted labels, mean
         cross-entropy), random token batches; step time median / min / max after warm-up steps.
  infer: greedy prefill of a random prompt, then one token at a time with a key/value cache
         (DynamicCache, or concatenated per step as it does), logits of the last position only,
         reading each token back to Python; variants base, lora (unmerged) and lora-merged take
         turns for --rounds rounds.

Usage: python3 torch_baseline.py train|infer [--stack plain|hf] [--dtype f32|bf16] [--threads 2] [--json]
Needs torch >= 2.0 (CPU); --stack hf was run with transformers 5.18 and peft 0.21.
"""
import argparse
import json
import math
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn


class Shape:
    def __init__(self, dim=512, layers=4, heads=8, kv_heads=4, ffn=1408, vocab=8000):
        self.dim, self.layers, self.heads, self.kv_heads, self.ffn, self.vocab = dim, layers, heads, kv_heads, ffn, vocab
        self.head_dim = dim // heads


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


class LoraLinear(nn.Module):
    """PEFT's lora.Linear: the frozen base layer plus (alpha / r) * B A dropout(x)."""

    def __init__(self, base, r, alpha, adapter_dtype, random_b):
        super().__init__()
        self.base = base
        self.lora_A = nn.Linear(base.in_features, r, bias=False, dtype=adapter_dtype)
        self.lora_B = nn.Linear(r, base.out_features, bias=False, dtype=adapter_dtype)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        if random_b:
            nn.init.normal_(self.lora_B.weight, std=0.02)
        else:
            nn.init.zeros_(self.lora_B.weight)
        self.scaling = alpha / r
        self.merged = False

    def forward(self, x):
        result = self.base(x)
        if self.merged:
            return result
        dtype = result.dtype
        x = x.to(self.lora_A.weight.dtype)
        result = result + self.lora_B(self.lora_A(x)) * self.scaling  # dropout 0: PEFT's nn.Identity
        return result.to(dtype)

    @torch.no_grad()
    def merge(self):
        delta = (self.lora_B.weight.float() @ self.lora_A.weight.float()) * self.scaling
        self.base.weight.copy_((self.base.weight.float() + delta).to(self.base.weight.dtype))
        self.merged = True


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Attention(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.s = s
        self.q_proj = nn.Linear(s.dim, s.heads * s.head_dim, bias=False)
        self.k_proj = nn.Linear(s.dim, s.kv_heads * s.head_dim, bias=False)
        self.v_proj = nn.Linear(s.dim, s.kv_heads * s.head_dim, bias=False)
        self.o_proj = nn.Linear(s.heads * s.head_dim, s.dim, bias=False)

    def forward(self, x, cos, sin, cache, layer):
        b, t, _ = x.shape
        s = self.s
        q = self.q_proj(x).view(b, t, s.heads, s.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, s.kv_heads, s.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, s.kv_heads, s.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:
            if layer < len(cache):
                k = torch.cat([cache[layer][0], k], dim=2)
                v = torch.cat([cache[layer][1], v], dim=2)
                cache[layer] = (k, v)
            else:
                cache.append((k, v))
        groups = s.heads // s.kv_heads
        k = k.repeat_interleave(groups, dim=1)  # transformers' repeat_kv
        v = v.repeat_interleave(groups, dim=1)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=t > 1)
        return self.o_proj(out.transpose(1, 2).reshape(b, t, -1))


class Mlp(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.gate_proj = nn.Linear(s.dim, s.ffn, bias=False)
        self.up_proj = nn.Linear(s.dim, s.ffn, bias=False)
        self.down_proj = nn.Linear(s.ffn, s.dim, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.input_layernorm = RMSNorm(s.dim)
        self.self_attn = Attention(s)
        self.post_attention_layernorm = RMSNorm(s.dim)
        self.mlp = Mlp(s)

    def forward(self, x, cos, sin, cache, layer):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, cache, layer)
        return x + self.mlp(self.post_attention_layernorm(x))


class Llama(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.s = s
        self.embed_tokens = nn.Embedding(s.vocab, s.dim)
        self.layers = nn.ModuleList([Layer(s) for _ in range(s.layers)])
        self.norm = RMSNorm(s.dim)
        self.lm_head = nn.Linear(s.dim, s.vocab, bias=False)
        self.inv_freq = 1.0 / (10000.0 ** (torch.arange(0, s.head_dim, 2).float() / s.head_dim))

    def forward(self, ids, cache=None, past=0, last_only=False):
        x = self.embed_tokens(ids)
        positions = torch.arange(past, past + ids.shape[1]).float()
        freqs = torch.outer(positions, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos().to(x.dtype), emb.sin().to(x.dtype)
        for i, layer in enumerate(self.layers):
            x = layer(x, cos, sin, cache, i)
        x = self.norm(x)
        if last_only:  # generate()'s logits_to_keep=1
            x = x[:, -1:, :]
        return self.lm_head(x)


def build(shape, dtype, seed):
    torch.manual_seed(seed)
    model = Llama(shape)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(std=0.02)
    model.to(dtype)
    model.requires_grad_(False)
    return model


def add_lora(model, r, alpha, targets, random_b):
    adapter_dtype = torch.float32  # autocast_adapter_dtype=True
    loras = []
    for layer in model.layers:
        for name in targets:
            lora = LoraLinear(getattr(layer.self_attn, name), r, alpha, adapter_dtype, random_b)
            setattr(layer.self_attn, name, lora)
            loras.append(lora)
    return loras


def build_hf(shape, dtype, seed):
    """The same model as Hugging Face transformers' LlamaForCausalLM with "sdpa" attention."""
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=shape.vocab, hidden_size=shape.dim, intermediate_size=shape.ffn,
                         num_hidden_layers=shape.layers, num_attention_heads=shape.heads,
                         num_key_value_heads=shape.kv_heads, max_position_embeddings=2048, rms_norm_eps=1e-5,
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
                         tie_word_embeddings=False, attn_implementation="sdpa")
    model = LlamaForCausalLM(config).to(dtype)
    model.requires_grad_(False)
    return model


def base_model(stack, shape, dtype, seed):
    return build(shape, dtype, seed) if stack == "plain" else build_hf(shape, dtype, seed)


def lora_model(stack, shape, dtype, seed, random_b, merged=False):
    """The model with LoRA r 8, alpha 16 on q_proj and v_proj, and its trainable parameters."""
    model = base_model(stack, shape, dtype, seed)
    if stack == "plain":
        loras = add_lora(model, 8, 16, ["q_proj", "v_proj"], random_b)
        for lora in loras if merged else []:
            lora.merge()
        return model, [p for l in loras for p in (l.lora_A.weight, l.lora_B.weight)]
    from peft import LoraConfig, get_peft_model
    # B = 0 (PEFT's default) to train; random A and B (PyTorch's Linear init) to time inference
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"],
                                             lora_dropout=0.0, init_lora_weights=not random_b))
    if merged:
        return model.merge_and_unload(), []
    return model, [p for p in model.parameters() if p.requires_grad]


def new_cache(stack, model):
    if stack == "plain":
        return []
    from transformers import DynamicCache
    return DynamicCache(config=model.config)


def forward(stack, model, ids, cache, past, last_only):
    """Logits of ids after past cached positions (of the last position only with last_only)."""
    if stack == "plain":
        return model(ids, cache, past, last_only=last_only)
    return model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1 if last_only else 0).logits


def causal_lm_loss(stack, model, ids, vocab):
    if stack == "hf":
        return model(input_ids=ids, labels=ids).loss  # transformers' ForCausalLMLoss
    logits = model(ids).float()
    return F.cross_entropy(logits[:, :-1].reshape(-1, vocab), ids[:, 1:].reshape(-1))


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def train(args, shape, dtype):
    model, params = lora_model(args.stack, shape, dtype, args.seed, random_b=False)
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)
    g = torch.Generator().manual_seed(args.seed)
    times = []
    for step in range(args.warmup + args.steps):
        ids = torch.randint(0, shape.vocab, (args.batch, args.seq), generator=g)
        t0 = time.perf_counter()
        loss = causal_lm_loss(args.stack, model, ids, shape.vocab)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        loss.item()
        if step >= args.warmup:
            times.append((time.perf_counter() - t0) * 1e3)
    return {"case": "torch-train", "dtype": args.dtype, "batch": args.batch, "seq": args.seq, "steps": args.steps,
            "step_ms_median": statistics.median(times), "step_ms_min": min(times), "step_ms_max": max(times),
            "tokens_per_s": args.batch * args.seq / (statistics.median(times) / 1e3), "peak_rss_mib": peak_rss_mib()}


def generate(stack, model, prompt, decode):
    cache = new_cache(stack, model)
    t0 = time.perf_counter()
    logits = forward(stack, model, prompt, cache, 0, True)
    nxt = logits[:, -1].argmax(-1).tolist()
    t1 = time.perf_counter()
    past = prompt.shape[1]
    for _ in range(decode):
        logits = forward(stack, model, torch.tensor(nxt).view(-1, 1), cache, past, True)
        nxt = logits[:, -1].argmax(-1).tolist()
        past += 1
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def infer(args, shape, dtype):
    models = {"base": base_model(args.stack, shape, dtype, args.seed),
              "lora": lora_model(args.stack, shape, dtype, args.seed, random_b=True)[0],
              "lora-merged": lora_model(args.stack, shape, dtype, args.seed, random_b=True, merged=True)[0]}
    g = torch.Generator().manual_seed(args.seed)
    prompt = torch.randint(0, shape.vocab, (args.batch, args.prompt), generator=g)
    names = list(models)
    samples = {n: [] for n in names}
    with torch.inference_mode():
        for rnd in range(args.rounds + 1):
            order = names[rnd % len(names):] + names[:rnd % len(names)]
            for n in order:
                s = generate(args.stack, models[n], prompt, args.decode)
                if rnd > 0:  # round 0 warms up
                    samples[n].append(s)
    out = {"case": "torch-infer", "dtype": args.dtype, "batch": args.batch, "prompt": args.prompt,
           "decode": args.decode, "rounds": args.rounds, "variants": []}
    for n in names:
        prefill = min(s[0] for s in samples[n])
        decode = min(s[1] for s in samples[n])
        ratios_p = [b[0] / v[0] for b, v in zip(samples["base"], samples[n])]
        ratios_d = [b[1] / v[1] for b, v in zip(samples["base"], samples[n])]
        out["variants"].append({"name": n, "prefill_tokens_per_s": args.batch * args.prompt / prefill,
                                "decode_tokens_per_s": args.batch * args.decode / decode,
                                "prefill_ratio_median_of_rounds": statistics.median(ratios_p),
                                "decode_ratio_median_of_rounds": statistics.median(ratios_d)})
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("case", choices=["train", "infer"])
    p.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
    p.add_argument("--stack", choices=["plain", "hf"], default="plain",
                   help="plain: the model written out below; hf: transformers' LlamaForCausalLM with PEFT's LoRA")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--batch", type=int)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--prompt", type=int, default=128)
    p.add_argument("--decode", type=int, default=32)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if args.batch is None:
        args.batch = 4 if args.case == "train" else 1
    torch.set_num_threads(args.threads)
    dtype = torch.float32 if args.dtype == "f32" else torch.bfloat16
    result = train(args, Shape(), dtype) if args.case == "train" else infer(args, Shape(), dtype)
    result["stack"] = args.stack
    result["torch"] = torch.__version__
    if args.stack == "hf":
        import peft
        import transformers
        result["transformers"] = transformers.__version__
        result["peft"] = peft.__version__
    result["threads"] = torch.get_num_threads()
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.exit(main())
