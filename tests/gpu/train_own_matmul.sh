#!/usr/bin/env bash
# On the GPU: the same short training run with the backend's matmuls on cuBLAS and on
# strap's own tensor-core GEMM (STRAP_MATMUL=own), against the CPU: per-step losses within
# the bf16 tolerance of tests/gpu/train.sh, and the own-GEMM run still learns.
source "$(dirname "$0")/../cli/lib.bash"
head -c 200000 data/demo/stories.txt > "$TMP/text.txt"
"$STRAP" data pack --tokenizer bytes --input "$TMP/text.txt" --split-paragraphs --val-fraction 0.1 --out "$TMP/data" > /dev/null 2>&1 || fail_test "pack"
# width 128, 4 heads of 32, 2 kv heads, ffn 256: every matmul of the blocks has dimensions
# that are multiples of 8 (the own kernel's); the 258-token vocabulary makes the classifier
# fall back to cuBLAS
"$STRAP" init --out "$TMP/m0" --vocab 258 --dim 128 --layers 2 --heads 4 --kv-heads 2 --ffn 256 --max-seq 128 --seed 5 > /dev/null || fail_test "init"
args=(--model "$TMP/m0" --data "$TMP/data" --batch 8 --seq 128 --lr 2e-3 --warmup 5 --steps 30)
"$STRAP" train "${args[@]}" --device cpu --out "$TMP/cpu" > "$TMP/cpu.log" || fail_test "train on cpu"
STRAP_MATMUL=cublas "$STRAP" train "${args[@]}" --device cuda --out "$TMP/cublas" > "$TMP/cublas.log" || fail_test "train on cuda (cublas): $(tail -n 3 "$TMP/cublas.log")"
STRAP_MATMUL=own "$STRAP" train "${args[@]}" --device cuda --out "$TMP/own" > "$TMP/own.log" || fail_test "train on cuda (own): $(tail -n 3 "$TMP/own.log")"
python3 - "$TMP/cpu/metrics.jsonl" "$TMP/cublas/metrics.jsonl" "$TMP/own/metrics.jsonl" <<'PY' || fail_test "losses with the own GEMM differ"
import json, sys
cpu, cublas, own = ([json.loads(l)["loss"] for l in open(p)] for p in sys.argv[1:4])
assert len(cpu) == len(cublas) == len(own) == 30, (len(cpu), len(cublas), len(own))
for name, run in (("cublas", cublas), ("own", own)):
    worst = max(abs(x - y) / abs(x) for x, y in zip(cpu, run))
    print("%s: worst relative loss difference to the CPU over 30 steps: %.4f" % (name, worst))
    assert worst < 0.03, (name, worst)  # bf16 activations and weights vs fp32, as train.sh
assert own[-1] < own[0] - 1.0, (own[0], own[-1])
PY
# the own GEMM is deterministic too: a second run gives the same weights
STRAP_MATMUL=own "$STRAP" train "${args[@]}" --device cuda --out "$TMP/own2" > /dev/null || fail_test "second own run"
cmp -s "$TMP/own/model.safetensors" "$TMP/own2/model.safetensors" || fail_test "two runs with the own GEMM differ"
finish
