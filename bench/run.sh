#!/usr/bin/env bash
# bench/run.sh (make bench): strap's training-step benchmark on the CPU presets, next to
# the PyTorch implementation of the same shape and thread count when torch is installed,
# CPU generation next to transformers and llama.cpp (bench/gen_compare.sh, real SmolLM2
# weights when present), and on the GPU when one is visible. Prints a table; JSON lines go to
# ${BENCH_OUT:-build/bench}/bench.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_OUT:-build/bench}
THREADS=${BENCH_THREADS:-$(nproc)}
mkdir -p "$OUT"
: > "$OUT/bench.jsonl"
have_torch=0
python3 -c "import torch, transformers" 2>/dev/null && have_torch=1

run() { # preset batch seq
    local line
    line=$(./strap bench step --preset "$1" --batch "$2" --seq "$3" --threads "$THREADS" --device cpu --json)
    echo "$line" >> "$OUT/bench.jsonl"
    local torch_line="" torch_tps="-"
    if [ "$have_torch" = 1 ]; then
        torch_line=$(python3 bench/torch_step.py --preset "$1" --batch "$2" --seq "$3" --threads "$THREADS" 2>/dev/null || true)
        [ -n "$torch_line" ] && echo "$torch_line" >> "$OUT/bench.jsonl"
        torch_tps=$(echo "$torch_line" | python3 -c "import json,sys; print(json.load(sys.stdin)['tokens_per_s'])" 2>/dev/null || echo "-")
    fi
    echo "$line" | python3 -c "
import json, sys
r = json.load(sys.stdin)
t = '$torch_tps'
ratio = '%.2fx' % (r['tokens_per_s'] / float(t)) if t != '-' else '-'
print('%-6s %6d %6d %8d %12.0f %12s %8s %10.2f' % (r['model'], r['batch'], r['seq'], r['threads'], r['tokens_per_s'], t, ratio, r['gflops_per_s']))"
}

echo "training step, CPU, $THREADS threads (strap vs PyTorch $( [ $have_torch = 1 ] && python3 -c 'import torch; print(torch.__version__)' || echo 'not installed'))"
printf '%-6s %6s %6s %8s %12s %12s %8s %10s\n' model batch seq threads strap_tok/s torch_tok/s ratio GFLOP/s
run tiny 8 256
run 15m 4 256
if [ "${BENCH_FULL:-0}" = 1 ]; then run 125m 1 512; fi

echo
if [ -f models/smollm2-135m-instruct/model.safetensors ]; then
    # real SmolLM2-135M weights: strap (f32, f16, bf16) next to transformers and llama.cpp
    echo "generation, CPU, $THREADS threads, SmolLM2-135M-Instruct (strap vs transformers vs llama.cpp)"
    BENCH_OUT="$OUT" BENCH_THREADS="$THREADS" bash bench/gen_compare.sh
    cat "$OUT/gen_compare.jsonl" >> "$OUT/bench.jsonl"
else
    echo "generation, CPU, $THREADS threads, 125m shape (SmolLM2-135M), random weights, prompt 128, 32 new tokens (strap vs transformers)"
    echo "(bash scripts/get-smollm2.sh first for the real weights and the llama.cpp comparison)"
    printf '%-6s %14s %14s %14s %14s\n' batch strap_prefill hf_prefill strap_decode hf_decode
    for b in 1 16; do
        s=$(./strap bench gen --preset 125m --batch $b --prompt-len 128 --new 32 --threads "$THREADS" --device cpu --json)
        echo "$s" >> "$OUT/bench.jsonl"
        h='{}'
        if [ "$have_torch" = 1 ]; then
            h=$(cd bench && python3 hf_gen.py --preset 125m --batch $b --prompt-len 128 --new 32 --threads "$THREADS" 2>/dev/null || echo '{}')
            echo "$h" >> "$OUT/bench.jsonl"
        fi
        python3 -c "
import json, sys
s, h = json.loads(sys.argv[1]), json.loads(sys.argv[2])
g = lambda d, k: '%.1f' % d[k] if k in d else '-'
print('%-6d %14s %14s %14s %14s' % (s['batch'], g(s, 'prefill_tokens_per_s'), g(h, 'prefill_tokens_per_s'), g(s, 'decode_tokens_per_s'), g(h, 'decode_tokens_per_s')))" "$s" "$h"
    done
fi

if ./strap --version | grep -q cuda && command -v nvidia-smi >/dev/null 2>&1; then
    echo
    echo "training step, GPU"
    for p in "15m 16 256" "125m 8 1024"; do
        set -- $p
        ./strap bench step --preset "$1" --batch "$2" --seq "$3" --device cuda --json | tee -a "$OUT/bench.jsonl"
    done
fi
# GPU kernels (strap bench gemm | attention), only where a GPU is visible. scripts/gpu-check.sh
# runs them in a step of their own first and sets BENCH_GPU_KERNELS=0 here.
if [ "${BENCH_GPU_KERNELS:-1}" = 1 ] && ./strap --version | grep -q cuda && nvidia-smi -L > /dev/null 2>&1; then
    for kind in gemm attention; do
        echo
        if ./strap bench "$kind" --json > "$OUT/$kind.jsonl"; then
            cat "$OUT/$kind.jsonl" >> "$OUT/bench.jsonl"
            python3 bench/gpu_table.py "$OUT/$kind.jsonl" || cat "$OUT/$kind.jsonl"
        else
            echo "strap bench $kind failed (exit $?)"
        fi
    done
fi
echo "JSON: $OUT/bench.jsonl"
