#!/usr/bin/env bash
# bench/gen_compare.sh: CPU generation speed of strap next to Hugging Face transformers and
# llama.cpp (llama-cpp-python), side by side on the real SmolLM2-135M-Instruct weights, at
# the same thread count: prefill tokens/s and decode tokens/s at each batch size.
#
#   strap      `strap bench gen --weights f32|f16|bf16` on models/smollm2-135m-instruct
#   HF         bench/hf_gen.py --model (transformers, fp32, its KV cache)
#   llama.cpp  bench/llama_cpp_gen.py on F32 and F16 GGUFs written from the same checkpoint by
#              bench/make_gguf.py (metadata and tokenizer from the GGUF get-smollm2.sh fetched)
#
# Each configuration runs GEN_REPEAT times (default 3), interleaved, and the best run counts
# (the machine is shared; interference only ever slows a run down). Before timing, a greedy
# check: llama.cpp's F32 and F16 continuations of the prompt ids strap used must equal
# strap's greedy output (the same model on both sides).
#
# Skips with a clear line when the weights, transformers or llama_cpp are missing: the
# comparison is a benchmark, not a build or test dependency.
# Env: BENCH_THREADS (default: nproc), BENCH_OUT (build/bench), GEN_REPEAT, GEN_BATCHES ("1 16"),
#      GEN_PROMPT (128), GEN_NEW (32). JSON lines: $BENCH_OUT/gen_compare.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_OUT:-build/bench}
THREADS=${BENCH_THREADS:-$(nproc)}
REPEAT=${GEN_REPEAT:-3}
BATCHES=${GEN_BATCHES:-1 16}
P=${GEN_PROMPT:-128}
N=${GEN_NEW:-32}
MODEL=models/smollm2-135m-instruct
META=${STRAP_CACHE:-models/.cache}/SmolLM2-135M-Instruct.Q4_1.gguf
mkdir -p "$OUT"
JSON="$OUT/gen_compare.jsonl"
: > "$JSON"

if [ ! -f "$MODEL/model.safetensors" ]; then
    echo "generation vs transformers / llama.cpp: skipped ($MODEL not found: run bash scripts/get-smollm2.sh)"
    exit 0
fi
[ -x ./strap ] || make -s strap

have_hf=0
python3 -c "import torch, transformers" 2>/dev/null && have_hf=1 ||
    echo "transformers: skipped (python3 cannot import torch and transformers: pip install torch transformers)"
have_llama=0
if ! python3 -c "import llama_cpp" 2>/dev/null; then
    echo "llama.cpp: skipped (python3 cannot import llama_cpp: pip install llama-cpp-python)"
elif [ ! -f "$META" ]; then
    echo "llama.cpp: skipped ($META not found: run bash scripts/get-smollm2.sh)"
elif ! python3 -c "import gguf, safetensors" 2>/dev/null; then
    echo "llama.cpp: skipped (python3 cannot import gguf and safetensors to write the GGUFs: pip install gguf safetensors)"
else
    have_llama=1
    for t in f32 f16; do
        g="$OUT/smollm2-135m-instruct-$t.gguf"
        if [ ! -f "$g" ] || [ "$g" -ot "$MODEL/model.safetensors" ]; then
            python3 bench/make_gguf.py --model "$MODEL" --meta "$META" --type $t --out "$g"
        fi
    done
fi

# ---- greedy check: the same model on both sides ----
if [ "$have_llama" = 1 ]; then
    s=$(./strap gen --model "$MODEL" --raw --prompt "The three primary colors are" --temperature 0 --max-new 32 \
        --threads "$THREADS" --device cpu --json 2>/dev/null)
    ids=$(echo "$s" | python3 -c "import json,sys; print(','.join(map(str, json.load(sys.stdin)['prompt_ids'])))")
    for t in f32 f16; do
        l=$(python3 bench/llama_cpp_gen.py --gguf "$OUT/smollm2-135m-instruct-$t.gguf" --check-ids "$ids" --new 32 \
            --threads "$THREADS")
        python3 - "$s" "$l" "$t" <<'PY'
import json, sys
s, l, t = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
same = 0
while same < min(len(s["ids"]), len(l["ids"])) and s["ids"][same] == l["ids"][same]:
    same += 1
print("greedy check, strap f32 vs llama.cpp %s: %d of %d tokens equal%s" % (t.upper(), same, len(s["ids"]),
      "" if same == len(s["ids"]) else " (first difference at token %d)" % same))
PY
    done
fi

# ---- timing ----
echo "timing: batches $BATCHES, prompt $P, $N new tokens, $THREADS threads, best of $REPEAT runs"
for r in $(seq "$REPEAT"); do
    for b in $BATCHES; do
        for w in f32 f16 bf16; do
            ./strap bench gen --model "$MODEL" --batch "$b" --prompt-len "$P" --new "$N" --threads "$THREADS" \
                --device cpu --weights $w --json >> "$JSON"
        done
        if [ "$have_llama" = 1 ]; then
            for t in f32 f16; do
                python3 bench/llama_cpp_gen.py --gguf "$OUT/smollm2-135m-instruct-$t.gguf" --batch "$b" \
                    --prompt-len "$P" --new "$N" --threads "$THREADS" >> "$JSON"
            done
        fi
        if [ "$have_hf" = 1 ]; then
            (cd bench && python3 hf_gen.py --model "../$MODEL" --batch "$b" --prompt-len "$P" --new "$N" \
                --threads "$THREADS" 2>/dev/null) >> "$JSON" || echo "transformers run failed (batch $b)"
        fi
    done
done
python3 bench/gen_table.py "$JSON"
echo "JSON: $JSON"
