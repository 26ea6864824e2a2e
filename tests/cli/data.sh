#!/usr/bin/env bash
# strap data pack / inspect: byte-level packing of .txt, .jsonl and .jsonl.zst, the
# validation split, shard sizes, and bad input (usage errors exit 2, data errors exit 1
# naming the file, nothing half-written).
# Run from the repository root: STRAP=./strap bash tests/cli/data.sh
source "$(dirname "$0")/lib.bash"

# field VALUE_NAME FILE: the value printed by `strap data inspect` on the line "NAME  value"
field() { "$STRAP" data inspect "$2" | awk -v k="$1" '$1 == k { print $2; exit }'; }

# ---- one .txt file, one document: tokens = bytes + BOS + EOS
printf 'Once upon a time, a tiny model learned to read.\nIt read "bytes" \\ escapes.\n' > "$TMP/one.txt"
bytes=$(wc -c < "$TMP/one.txt")
out=$("$STRAP" data pack --tokenizer bytes --input "$TMP/one.txt" --out "$TMP/one" 2>&1) || fail_test "pack one.txt: $out"
echo "$out" | grep -q "1 documents" || fail_test "pack summary lacks the document count: $out"
echo "$out" | grep -q "$((bytes + 2)) tokens" || fail_test "pack summary lacks $((bytes + 2)) tokens: $out"
echo "$out" | grep -q "bytes on disk" || fail_test "pack summary lacks the size on disk: $out"
shard="$TMP/one/train_000000.tok.zst"
[ -f "$shard" ] || fail_test "no $shard"
[ ! -e "$TMP/one/val" ] || fail_test "a val/ directory without --val-fraction"
info=$("$STRAP" data inspect "$shard") || fail_test "inspect failed"
[ "$(field tokens "$shard")" = "$((bytes + 2))" ] || fail_test "inspect tokens: $(field tokens "$shard"), want $((bytes + 2))"
[ "$(field vocab_size "$shard")" = "258" ] || fail_test "inspect vocab_size: $info"
[ "$(field token_bytes "$shard")" = "2" ] || fail_test "inspect token_bytes: $info"
[ "$(field documents "$shard")" = "1" ] || fail_test "inspect documents: $info"
echo "$info" | grep -q "^checksums *ok" || fail_test "inspect does not verify the frames: $info"
echo "$info" | grep -q "^first 32 *256 79 110 99 101 32" || fail_test "inspect first tokens (BOS 'Once '): $info"
echo "$info" | grep -qF '<bos>Once upon a time, a tiny' || fail_test "inspect bytes as text: $info"
first=$("$STRAP" data inspect "$shard" --tokens 1000 | grep '^first')
echo "$first" | grep -q ' 257$' || fail_test "the last token is not EOS: $first"
echo "$first" | grep -q '^first 3 ' && fail_test "--tokens 1000 printed 3 tokens"
"$STRAP" data inspect "$shard" --tokens 5 | grep -q '^first 5  *256 79 110 99 101$' || fail_test "inspect --tokens 5"
"$STRAP" data inspect "$shard" --tokens 200 | grep -qF '\\ escapes.\n<eos>' || fail_test "inspect escapes \\ and newline"

# ---- paragraphs, a validation split, small shards and frames
printf 'alpha one\n\nbeta two\n\n\ngamma three\n   \ndelta four\n' > "$TMP/para.txt"
"$STRAP" data pack --tokenizer bytes --input "$TMP/para.txt" --out "$TMP/para" --split-paragraphs \
    --val-fraction 0.5 --shard-tokens 10 --frame-tokens 4 > "$TMP/para.log" 2>&1 || fail_test "pack paragraphs: $(cat "$TMP/para.log")"
grep -q "4 documents (2 validation)" "$TMP/para.log" || fail_test "paragraph split: $(cat "$TMP/para.log")"
# train: "alpha one" (11 tokens), "gamma three" (13); val: "beta two" (10), "delta four" (12)
total=0
for f in "$TMP"/para/train_*.tok.zst; do
    t=$(field tokens "$f")
    [ "$t" -le 10 ] && [ "$t" -gt 0 ] || fail_test "$f holds $t tokens (--shard-tokens 10)"
    [ "$(field frames "$f")" = "$(( (t + 3) / 4 ))" ] || fail_test "$f: frames $(field frames "$f") for $t tokens of 4"
    total=$((total + t))
done
[ "$total" = 24 ] || fail_test "train tokens $total, want 24"
[ "$(ls "$TMP"/para/train_*.tok.zst | wc -l)" = 3 ] || fail_test "want 3 train shards: $(ls "$TMP/para")"
vtotal=0
for f in "$TMP"/para/val/val_*.tok.zst; do vtotal=$((vtotal + $(field tokens "$f"))); done
[ "$vtotal" = 22 ] || fail_test "val tokens $vtotal, want 22"
"$STRAP" data inspect "$TMP/para/val/val_000000.tok.zst" --tokens 10 | grep -qF '<bos>beta two<eos>' ||
    fail_test "the first held-out document is not 'beta two'"

# ---- .jsonl.zst (made with the zstd tool) with another field; a comma-separated list and a glob
printf '{"body": "first record", "id": 1}\n\n{"id": 2, "body": "caf\\u00e9"}\n{"body": ""}\n' > "$TMP/r.jsonl"
if command -v zstd > /dev/null; then
    zstd -q -f -o "$TMP/r.jsonl.zst" "$TMP/r.jsonl" || fail_test "zstd"
    # 12 + 5 (é is two bytes) + 0 bytes, 3 documents
    "$STRAP" data pack --tokenizer bytes --input "$TMP/r.jsonl.zst" --field body --out "$TMP/z" > "$TMP/z.log" 2>&1 ||
        fail_test "pack .jsonl.zst: $(cat "$TMP/z.log")"
    [ "$(field tokens "$TMP/z/train_000000.tok.zst")" = 23 ] || fail_test ".jsonl.zst tokens: $(cat "$TMP/z.log")"
    [ "$(field documents "$TMP/z/train_000000.tok.zst")" = 3 ] || fail_test ".jsonl.zst documents"
    "$STRAP" data pack --tokenizer bytes --input "$TMP/r.jsonl,$TMP/r.jsonl.zst" --field body --out "$TMP/list" \
        > /dev/null 2>&1 || fail_test "pack a comma-separated list"
    [ "$(field tokens "$TMP/list/train_000000.tok.zst")" = 46 ] || fail_test "comma-separated list: not both files"
    "$STRAP" data pack --tokenizer bytes --input "$TMP/r.json*" --field body --out "$TMP/glob" > /dev/null 2>&1 ||
        fail_test "pack a glob"
    [ "$(field tokens "$TMP/glob/train_000000.tok.zst")" = 46 ] || fail_test "glob: not both files"
else
    echo "note: no zstd tool; .jsonl.zst input not tested here (tests/test_shard.c covers it)"
fi

# ---- usage errors: exit 2 with the usage
expect_error 2 "--out is required" -- "$STRAP" data pack --tokenizer bytes --input "$TMP/one.txt"
"$STRAP" data pack --tokenizer bytes --input "$TMP/one.txt" 2>&1 | grep -q "usage: strap data pack" ||
    fail_test "missing --out does not print the usage"
expect_error 2 "unknown flag '--bogus'" -- "$STRAP" data pack --bogus --tokenizer bytes --input "$TMP/one.txt" --out "$TMP/x"
"$STRAP" data pack --bogus 2>&1 | grep -q "usage: strap data pack" || fail_test "unknown flag does not print the usage"
expect_error 2 "--shard-tokens expects an integer" -- "$STRAP" data pack --tokenizer bytes --input "$TMP/one.txt" --out "$TMP/x" --shard-tokens ten
expect_error 2 "--val-fraction must lie in" -- "$STRAP" data pack --tokenizer bytes --input "$TMP/one.txt" --out "$TMP/x" --val-fraction 0.9
expect_error 2 "--tokens -1 is out of range: it must be at least 0" -- "$STRAP" data inspect "$shard" --tokens -1
expect_error 2 "FILE is required" -- "$STRAP" data inspect
"$STRAP" data > /dev/null 2>&1
[ $? = 2 ] || fail_test "'strap data' without a subcommand should exit 2"
"$STRAP" data 2>&1 | grep -q "pack" || fail_test "'strap data' does not list its subcommands"
expect_error 2 "unknown data command 'frobnicate'" -- "$STRAP" data frobnicate
"$STRAP" data --help | grep -q "inspect" || fail_test "'strap data --help'"

# ---- data errors: exit 1 naming the file; nothing half-written
expect_error 1 "nope.txt does not exist" -- "$STRAP" data pack --tokenizer bytes --input "$TMP/nope.txt" --out "$TMP/x1"
head -c 100 "$shard" > "$TMP/trunc.tok.zst"
expect_error 1 "trunc.tok.zst: truncated" -- "$STRAP" data inspect "$TMP/trunc.tok.zst"
printf 'GGUF and then some bytes, long enough to be a header of sixty-four bytes....' > "$TMP/magic.tok.zst"
expect_error 1 "magic.tok.zst: not a strap token shard" -- "$STRAP" data inspect "$TMP/magic.tok.zst"
cp "$shard" "$TMP/flip.tok.zst"
size=$(wc -c < "$shard")
# the last byte of frame 0 (its zstd content checksum) is just before the index; with one
# frame the index is the last 24 bytes
printf '\xff' | dd of="$TMP/flip.tok.zst" bs=1 seek=$((size - 25)) conv=notrunc 2> /dev/null
expect_error 1 "flip.tok.zst: frame 0: corrupt data" -- "$STRAP" data inspect "$TMP/flip.tok.zst"
printf '{"text": "fine"}\n{"text": "broken\n' > "$TMP/bad.jsonl"
expect_error 1 "bad.jsonl:2: invalid JSON" -- "$STRAP" data pack --tokenizer bytes --input "$TMP/bad.jsonl" --out "$TMP/bad"
printf '{"text": "fine"}\n{"content": "no text field"}\n' > "$TMP/nofield.jsonl"
expect_error 1 "nofield.jsonl:2: field 'text' missing or not a string" -- \
    "$STRAP" data pack --tokenizer bytes --input "$TMP/nofield.jsonl" --out "$TMP/bad"
[ ! -e "$TMP/bad/train_000000.tok.zst" ] || fail_test "a shard was written by a failed pack"
expect_error 1 "" -- "$STRAP" data pack --tokenizer "$TMP/missing-tokenizer.json" --input "$TMP/one.txt" --out "$TMP/bad"
expect_no_tmp "$TMP"
finish
