#!/usr/bin/env bash
# Runs every bench case docs/PERFORMANCE.md reports (about 20 minutes on 2 cores), and the PyTorch
# eager baselines before their peft4j counterparts where python3 has torch (and transformers and
# peft), into target/bench/runs.jsonl, then renders docs/PERFORMANCE.md and docs/perf-scale.png.
# Build first: mvn -q -DskipTests package. Run it on a machine that is otherwise idle.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="target/bench"
mkdir -p "$out"
runs="$out/runs.jsonl"
: > "$runs"
torch_baseline="python3 peft4j-bench/python/torch_baseline.py"
commands=(
  "$torch_baseline train --json"
  "$torch_baseline train --stack hf --json"
  "bin/peft4j bench train --json"
  "bin/peft4j bench train --gradient-checkpointing --json"
  "$torch_baseline train --dtype bf16 --json"
  "$torch_baseline train --stack hf --dtype bf16 --json"
  "bin/peft4j bench train --dtype bf16 --json"
  "bin/peft4j bench train --matmul-precision medium --json"
  "bin/peft4j bench train --seq 128 --batch 2 --steps 200 --warmup 0 --json"
  "PEFT4J_JAVA_OPTS='-Xms1g -Xmx1g -XX:+AlwaysPreTouch' bin/peft4j bench train --seq 128 --batch 2 --steps 200 --warmup 0 --json"
  "$torch_baseline infer --rounds 20 --json"
  "$torch_baseline infer --stack hf --rounds 20 --json"
  "bin/peft4j bench infer --rounds 20 --json"
  "$torch_baseline infer --dtype bf16 --json"
  "$torch_baseline infer --stack hf --dtype bf16 --json"
  "bin/peft4j bench infer --dtype bf16 --json"
  "bin/peft4j bench infer --batch 8 --variants lora-mixed4 --json"
  "bin/peft4j bench infer --dtype bf16 --dim 2048 --layers 4 --heads 32 --kv-heads 4 --ffn 5632 --vocab 32000 --variants lora,lora-merged,lora-model-dtype --json"
  "bin/peft4j bench scale --plot docs/perf-scale.png --json"
  "bin/peft4j bench load --json"
  "bin/peft4j bench train --preset tinyllama-1.1b --dtype bf16 --seq 256 --batch 1 --steps 3 --warmup 1 --generate 8 --json"
)
# the PyTorch eager baselines (docs/PERFORMANCE.md, notes §15, §16) run only where python3 has torch,
# and transformers with peft for --stack hf
has_torch=$(python3 -c 'import torch' 2>/dev/null && echo yes || echo no)
has_hf=$(python3 -c 'import torch, transformers, peft' 2>/dev/null && echo yes || echo no)
run() {
  if [[ "$1" == "$torch_baseline"* && ( "$has_torch" == no || ( "$1" == *"--stack hf"* && "$has_hf" == no ) ) ]]; then
    echo "- skipped (not installed for python3): $1" >&2
    return
  fi
  echo "+ $1" >&2
  eval "$1" | tee -a "$runs"
}
for c in "${commands[@]}"; do
  run "$c"
done
# each baseline is paired with the peft4j run after it (TorchComparison), transformers + PEFT (what a
# Python user runs) right before it; the baselines and those runs go twice more, so that the
# report's comparison gives the median of three pairs
if [[ "$has_torch" == yes ]]; then
  for round in 2 3; do
    previous=""
    for c in "${commands[@]}"; do
      if [[ "$c" == "$torch_baseline"* || "$previous" == "$torch_baseline"* ]]; then
        run "$c"
      fi
      previous="$c"
    done
  done
fi
bin/peft4j bench report --input "$runs" --output docs/PERFORMANCE.md --notes peft4j-bench/PERFORMANCE-notes.md \
  --command "$(printf '%s\n' "${commands[@]}" "# then twice more: the torch_baseline.py runs and the peft4j runs paired with them")"
