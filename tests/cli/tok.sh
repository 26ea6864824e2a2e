#!/usr/bin/env bash
# strap tok train/encode/decode, and BPE shards through data pack, train and eval.
source "$(dirname "$0")/lib.bash"
head -c 40000 data/demo/stories.txt > "$TMP/text.txt"
"$STRAP" tok train --input "$TMP/text.txt" --vocab 400 --out "$TMP/tok.json" --special '<|endoftext|>,<|im_end|>' > /dev/null 2>&1 || fail_test "tok train"
printf 'Tom found a map.\n\tTabs, digits 12345, \xff\xfe invalid bytes and <|im_end|> text\n' > "$TMP/in.txt"
"$STRAP" tok encode --tokenizer "$TMP/tok.json" < "$TMP/in.txt" > "$TMP/ids.txt" || fail_test "encode"
"$STRAP" tok decode --tokenizer "$TMP/tok.json" < "$TMP/ids.txt" > "$TMP/out.txt" || fail_test "decode"
cmp -s "$TMP/in.txt" "$TMP/out.txt" || fail_test "decode(encode(x)) != x"
end_id=$("$STRAP" tok encode --tokenizer "$TMP/tok.json" --text '<|im_end|>' --allow-special)
[ "$end_id" = "1" ] || fail_test "--allow-special: <|im_end|> should be id 1, got '$end_id'"
plain=$("$STRAP" tok encode --tokenizer "$TMP/tok.json" --text '<|im_end|>')
[ "$plain" != "1" ] || fail_test "special token text became a control token without --allow-special"
"$STRAP" tok encode --tokenizer "$TMP/tok.json" --text 'a b' --json | grep -q '^\[' || fail_test "--json"

# BPE shards: pack (EOS = <|endoftext|>), train a model with the tokenizer's vocabulary, eval
"$STRAP" data pack --tokenizer "$TMP/tok.json" --input "$TMP/text.txt" --split-paragraphs --val-fraction 0.1 --out "$TMP/data" > "$TMP/pack.log" 2>&1 || fail_test "pack with tokenizer.json"
"$STRAP" data inspect "$TMP/data/train_000000.tok.zst" | grep -q "vocab_size     400" || fail_test "shard vocab is not the tokenizer's"
"$STRAP" data pack --tokenizer "$TMP/tok.json" --input "$TMP/text.txt" --split-paragraphs --val-fraction 0.1 --out "$TMP/data1" --threads 1 > /dev/null 2>&1
"$STRAP" data pack --tokenizer "$TMP/tok.json" --input "$TMP/text.txt" --split-paragraphs --val-fraction 0.1 --out "$TMP/data3" --threads 3 > /dev/null 2>&1
cmp -s "$TMP/data1/train_000000.tok.zst" "$TMP/data3/train_000000.tok.zst" || fail_test "pack output depends on --threads"
"$STRAP" init --out "$TMP/m" --vocab 400 --dim 32 --layers 1 --heads 2 --ffn 64 --max-seq 64 > /dev/null || fail_test "init"
"$STRAP" train --model "$TMP/m" --data "$TMP/data" --out "$TMP/run" --steps 20 --batch 4 --seq 32 --lr 3e-3 --threads 1 > "$TMP/train.log" || fail_test "train on BPE shards"
"$STRAP" eval ppl --model "$TMP/run" --data "$TMP/data/val" --seq 32 --json > /dev/null || fail_test "eval on BPE shards"
"$STRAP" init --out "$TMP/small" --vocab 300 --dim 32 --layers 1 --heads 2 --ffn 64 --max-seq 64 > /dev/null
expect_error 1 "vocabulary of 400 ids but the model has vocab_size 300" -- "$STRAP" train --model "$TMP/small" --data "$TMP/data" --out "$TMP/run2" --steps 1 --batch 1 --seq 8

# bad input
echo '{"model": {"type": "Unigram"}}' > "$TMP/uni.json"
expect_error 1 "model type 'Unigram' is not supported" -- "$STRAP" tok encode --tokenizer "$TMP/uni.json" --text x
expect_error 1 "is not an added token" -- "$STRAP" data pack --tokenizer "$TMP/tok.json" --input "$TMP/text.txt" --out "$TMP/d2" --eos '<|nope|>'
expect_error 1 "leaves no room for merges" -- "$STRAP" tok train --input "$TMP/text.txt" --vocab 100 --out "$TMP/t2.json"
expect_error 2 "--vocab is required" -- "$STRAP" tok train --input "$TMP/text.txt" --out "$TMP/t3.json"
# ids on standard input without a trailing separator (read up to the input's end, no further),
# ids past the vocabulary or past 32 bits, and words that are not ids: a clear error
T=tests/ref/fixtures/tok/llama3.tokenizer.json
[ "$(printf '72 105' | "$STRAP" tok decode --tokenizer $T | od -An -c | tr -d ' ')" = "$("$STRAP" tok decode --tokenizer $T --ids '72 105' | od -An -c | tr -d ' ')" ] \
    || fail_test "decoding ids from standard input differs from --ids"
expect_error 1 "the ids given:1: id 4294967373 \(id 1, byte 1\) is outside the vocabulary" -- "$STRAP" tok decode --tokenizer $T --ids 4294967373
expect_error 1 "the ids given:1: id 700 \(id 2, byte 4\) is outside the vocabulary .*ids 0..699" -- "$STRAP" tok decode --tokenizer $T --ids "72 700"
expect_error 1 "standard input:1: 'abc' \(byte 4\) is not a token id" -- bash -c "echo '12 abc' | '$STRAP' tok decode --tokenizer $T"
# a byte-level vocabulary without the byte characters of ordinary text is refused at load
# (encode used to drop the bytes it could not cover)
python3 - $T "$TMP/nobyte.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
del t["model"]["vocab"]["a"]
t["model"]["merges"] = [m for m in t["model"]["merges"] if "a" not in (m.split(" ") if isinstance(m, str) else m)]
json.dump(t, open(sys.argv[2], "w"))
PY
expect_error 1 "nobyte.json: the byte-level vocabulary has no token for byte 0x61 \('a'\)" -- "$STRAP" tok encode --tokenizer "$TMP/nobyte.json" --text banana
expect_error 1 "nobyte.json: the byte-level vocabulary has no token for byte 0x61" -- "$STRAP" data pack --tokenizer "$TMP/nobyte.json" --input "$TMP/text.txt" --out "$TMP/d3"
finish
