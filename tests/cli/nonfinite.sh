#!/usr/bin/env bash
# Non-finite numbers: a checkpoint holding a NaN or an infinity is refused at load, naming the
# tensor and element; a finite but huge weight that makes the forward overflow ends eval ppl,
# eval pairs and gen with an error instead of printing NaN (or crashing on --json).
source "$(dirname "$0")/lib.bash"
"$STRAP" init --out "$TMP/m" --vocab 700 --dim 32 --layers 1 --heads 2 --ffn 64 --max-seq 64 --seed 1 > /dev/null || fail_test "init"
cp tests/ref/fixtures/tok/llama3.tokenizer.json "$TMP/m/tokenizer.json"
head -c 3000 data/demo/stories.txt > "$TMP/t.txt"
"$STRAP" data pack --tokenizer "$TMP/m/tokenizer.json" --input "$TMP/t.txt" --out "$TMP/data" > /dev/null 2>&1 || fail_test "pack"
echo '{"prompt": "hi", "chosen": "hello", "rejected": "go away"}' > "$TMP/pairs.jsonl"
# poke(dir, tensor, index, value): writes one float32 of a tensor in model.safetensors
poke() {
    python3 - "$1" "$2" "$3" "$4" <<'PY'
import json, struct, sys, shutil, os
src, name, index, value = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
path = os.path.join(src, "model.safetensors")
data = bytearray(open(path, "rb").read())
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
t = header[name]
assert t["dtype"] == "F32", t
at = 8 + n + t["data_offsets"][0] + 4 * index
data[at:at + 4] = struct.pack("<f", value)
open(path, "wb").write(data)
PY
}
for bad in nan inf; do
    cp -r "$TMP/m" "$TMP/$bad"
    poke "$TMP/$bad" model.layers.0.mlp.down_proj.weight 37 $bad
    msg="model.layers.0.mlp.down_proj.weight' holds (NaN|an infinity) at element 37"
    expect_error 1 "$msg" -- "$STRAP" eval ppl --model "$TMP/$bad" --data "$TMP/data" --seq 32 --batch 1 --json
    expect_error 1 "$msg" -- "$STRAP" eval pairs --model "$TMP/$bad" --ref "$TMP/m" --pairs "$TMP/pairs.jsonl" --json
    expect_error 1 "$msg" -- "$STRAP" gen --model "$TMP/$bad" --prompt "hello" --max-new 4
done
# finite weights whose forward overflows
cp -r "$TMP/m" "$TMP/huge"
for i in $(seq 0 31); do poke "$TMP/huge" model.norm.weight $i 3e38; done
expect_error 1 "not a finite number" -- "$STRAP" eval ppl --model "$TMP/huge" --data "$TMP/data" --seq 32 --batch 1 --json
expect_error 1 "not finite" -- "$STRAP" eval pairs --model "$TMP/huge" --ref "$TMP/m" --pairs "$TMP/pairs.jsonl" --json
expect_error 1 "logits for token 1 of answer 1 are not finite" -- "$STRAP" gen --model "$TMP/huge" --prompt "hello" --max-new 4
# divergence: at the first step the starting model is to blame, not the learning rate; a
# later one names the learning rate; both say whether OUT holds a checkpoint
expect_error 1 "train step 1: loss .* before any update of this run: the starting model or the data.*$TMP/o1 holds no checkpoint" -- \
    "$STRAP" train --model "$TMP/huge" --data "$TMP/data" --out "$TMP/o1" --steps 3 --batch 1 --seq 32 --threads 1
"$STRAP" train --model "$TMP/m" --data "$TMP/data" --out "$TMP/o2" --steps 2 --batch 1 --seq 32 --threads 1 > /dev/null || fail_test "train 2 steps"
expect_error 1 "train step [0-9]+: loss .* training diverged; lower the learning rate or lengthen the warmup \(the last checkpoint in $TMP/o2 is intact\)" -- \
    "$STRAP" train --model "$TMP/m" --data "$TMP/data" --out "$TMP/o2" --steps 6 --batch 1 --seq 32 --threads 1 --resume --lr 1e30 --warmup 0 --grad-clip 0
finish
