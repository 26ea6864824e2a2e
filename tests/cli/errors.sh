#!/usr/bin/env bash
# Bad input: one clear error line, a non-zero exit, nothing half-written.
source "$(dirname "$0")/lib.bash"
head -c 20000 data/demo/stories.txt > "$TMP/text.txt"
"$STRAP" data pack --tokenizer bytes --input "$TMP/text.txt" --out "$TMP/data" >/dev/null || fail_test "pack"
"$STRAP" init --out "$TMP/m" --vocab 258 --dim 32 --layers 1 --heads 2 --ffn 64 --max-seq 64 >/dev/null || fail_test "init"
shard=$(ls "$TMP"/data/train_*.tok.zst | head -n 1)

# CLI usage errors exit 2 and print the usage
expect_error 2 "unknown flag '--bogus'" -- "$STRAP" train --bogus
expect_error 2 "--steps needs a value" -- "$STRAP" train --data x --out y --steps
expect_error 2 "--steps expects an integer" -- "$STRAP" train --data x --out y --steps ten
expect_error 2 "--out is required" -- "$STRAP" init --preset tiny
expect_error 2 "unknown command" -- "$STRAP" frobnicate
"$STRAP" train --bogus 2>&1 | grep -q "usage: strap train" || fail_test "usage not printed on a bad flag"
"$STRAP" --version | grep -q "backends: cpu" || fail_test "--version lacks the backend list"
"$STRAP" help | grep -q "train" || fail_test "help lists no commands"
"$STRAP" train --help 2>&1 | grep -q -- "--grad-accum" || fail_test "train --help"

# --seq above max-seq, batch*seq larger than the data
args=(--model "$TMP/m" --data "$TMP/data" --steps 2 --threads 1)
expect_error 1 "above the model's max_position_embeddings" -- "$STRAP" train "${args[@]}" --out "$TMP/o1" --seq 128 --batch 1
expect_error 1 "one batch needs" -- "$STRAP" train "${args[@]}" --out "$TMP/o2" --seq 64 --batch 10000

# corrupt / truncated shards, wrong magic
head -c 100 "$shard" > "$TMP/trunc.tok.zst"
expect_error 1 "trunc.tok.zst" -- "$STRAP" train "${args[@]}" --out "$TMP/o3" --data "$TMP/trunc.tok.zst" --seq 32 --batch 1
printf 'NOTASHARD0000000000000000000000000000000000000000000000000000000000000000' > "$TMP/magic.tok.zst"
expect_error 1 "magic" -- "$STRAP" data inspect "$TMP/magic.tok.zst"
python3 - "$shard" "$TMP/flip.tok.zst" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
data[200] ^= 0xFF  # inside the first zstd frame
open(sys.argv[2], "wb").write(data)
PY
expect_error 1 "flip.tok.zst" -- "$STRAP" eval ppl --model "$TMP/m" --data "$TMP/flip.tok.zst" --seq 32 --batch 1
for o in o1 o2 o3; do [ ! -e "$TMP/$o/optimizer.safetensors" ] || fail_test "$o: checkpoint written after an error"; done

# checkpoints: shapes disagreeing with config.json, missing tensor, unknown dtype
cp -r "$TMP/m" "$TMP/bad_shape"
sed -i 's/"intermediate_size": 64/"intermediate_size": 96/' "$TMP/bad_shape/config.json"
expect_error 1 "has shape .* but config.json implies" -- "$STRAP" eval ppl --model "$TMP/bad_shape" --tokens-file /dev/null
echo "1 2 3" > "$TMP/t.txt"
python3 - "$TMP/m/model.safetensors" "$TMP/missing.safetensors" "$TMP/dtype.safetensors" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
body = raw[8 + n:]
def write(path, h):
    text = json.dumps(h).encode()
    text += b" " * (-len(text) % 8)
    open(path, "wb").write(struct.pack("<Q", len(text)) + text + body)
h = dict(header); h.pop("model.norm.weight"); write(sys.argv[2], h)
h = json.loads(json.dumps(header)); h["model.norm.weight"]["dtype"] = "F8_E4M3"
b, e = h["model.norm.weight"]["data_offsets"]; h["model.norm.weight"]["data_offsets"] = [b, b + (e - b) // 4]
write(sys.argv[3], h)
PY
mkdir -p "$TMP/missing" "$TMP/dtype"
cp "$TMP/m/config.json" "$TMP/missing/"; cp "$TMP/missing.safetensors" "$TMP/missing/model.safetensors"
cp "$TMP/m/config.json" "$TMP/dtype/"; cp "$TMP/dtype.safetensors" "$TMP/dtype/model.safetensors"
expect_error 1 "missing tensor 'model.norm.weight'" -- "$STRAP" eval ppl --model "$TMP/missing" --tokens-file "$TMP/t.txt"
expect_error 1 "F8_E4M3" -- "$STRAP" eval ppl --model "$TMP/dtype" --tokens-file "$TMP/t.txt"
expect_error 1 "not found" -- "$STRAP" eval ppl --model "$TMP/nope" --tokens-file "$TMP/t.txt"
echo "1 2 x" > "$TMP/bad_tokens.txt"
expect_error 1 "bad_tokens.txt:1: 'x' \(byte 5\) is not a token id" -- "$STRAP" eval ppl --model "$TMP/m" --tokens-file "$TMP/bad_tokens.txt"
echo "1 2 999" > "$TMP/big_tokens.txt"
expect_error 1 "outside the model's vocabulary" -- "$STRAP" eval ppl --model "$TMP/m" --tokens-file "$TMP/big_tokens.txt"
# init refuses to overwrite
expect_error 1 "already exists" -- "$STRAP" init --out "$TMP/m" --preset tiny
expect_no_tmp "$TMP"
finish
