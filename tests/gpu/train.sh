#!/usr/bin/env bash
# On the GPU: a training run against the same run on the CPU (per-step losses within bf16
# tolerance), resume bit-identity on the GPU, evaluation and greedy generation agreement.
source "$(dirname "$0")/../cli/lib.bash"
head -c 200000 data/demo/stories.txt > "$TMP/text.txt"
"$STRAP" data pack --tokenizer bytes --input "$TMP/text.txt" --split-paragraphs --val-fraction 0.1 --out "$TMP/data" > /dev/null 2>&1 || fail_test "pack"
"$STRAP" init --out "$TMP/m0" --vocab 258 --dim 128 --layers 2 --heads 4 --kv-heads 2 --ffn 256 --max-seq 128 --seed 3 > /dev/null || fail_test "init"
args=(--model "$TMP/m0" --data "$TMP/data" --batch 8 --seq 128 --lr 2e-3 --warmup 5 --steps 30)
"$STRAP" train "${args[@]}" --device cpu --out "$TMP/cpu" > "$TMP/cpu.log" || fail_test "train on cpu"
"$STRAP" train "${args[@]}" --device cuda --out "$TMP/gpu" > "$TMP/gpu.log" || fail_test "train on cuda: $(tail -n 3 "$TMP/gpu.log")"
python3 - "$TMP/cpu/metrics.jsonl" "$TMP/gpu/metrics.jsonl" <<'PY' || fail_test "GPU losses differ from CPU losses"
import json, sys
a = [json.loads(l)["loss"] for l in open(sys.argv[1])]
b = [json.loads(l)["loss"] for l in open(sys.argv[2])]
assert len(a) == len(b) == 30, (len(a), len(b))
worst = max(abs(x - y) / abs(x) for x, y in zip(a, b))
print("worst relative loss difference over 30 steps: %.4f" % worst)
assert worst < 0.03, worst  # bf16 activations and weights vs fp32
assert b[-1] < b[0] - 1.0, (b[0], b[-1])
PY
# resume on the GPU is bit-identical to an uninterrupted GPU run
"$STRAP" train "${args[@]}" --device cuda --out "$TMP/gpu2" --stop-after 12 > /dev/null || fail_test "first half on cuda"
"$STRAP" train "${args[@]}" --device cuda --out "$TMP/gpu2" --resume > /dev/null || fail_test "resume on cuda"
cmp -s "$TMP/gpu/model.safetensors" "$TMP/gpu2/model.safetensors" || fail_test "GPU resume is not bit-identical"
cmp -s "$TMP/gpu/optimizer.safetensors" "$TMP/gpu2/optimizer.safetensors" || fail_test "GPU optimizer state after resume differs"
# evaluation of one checkpoint on both devices
c=$("$STRAP" eval ppl --model "$TMP/gpu" --data "$TMP/data/val" --seq 128 --json --device cpu)
g=$("$STRAP" eval ppl --model "$TMP/gpu" --data "$TMP/data/val" --seq 128 --json --device cuda)
python3 -c "
import json, sys
c, g = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert c['tokens'] == g['tokens'] and abs(c['loss'] - g['loss']) < 0.02 * c['loss'], (c, g)" "$c" "$g" || fail_test "eval ppl cpu $c vs cuda $g"
# generation runs on the GPU and starts like the CPU's greedy text
gc=$("$STRAP" gen --model "$TMP/gpu" --prompt "Tom found" --max-new 12 --temperature 0 --device cpu 2>/dev/null)
gg=$("$STRAP" gen --model "$TMP/gpu" --prompt "Tom found" --max-new 12 --temperature 0 --device cuda 2>/dev/null) || fail_test "gen on cuda"
[ "${gc:0:4}" = "${gg:0:4}" ] || fail_test "greedy text differs at once: cpu '$gc' cuda '$gg'"
"$STRAP" bench gen --model "$TMP/gpu" --device cuda --batch 4 --prompt-len 64 --new 32 || fail_test "bench gen on cuda"
finish
