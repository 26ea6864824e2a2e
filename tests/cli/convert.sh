#!/usr/bin/env bash
# strap convert --gguf: the GGUF fixtures (tests/ref/make_gguf_fixtures.py) -> checkpoint
# directories that strap tok / strap eval use, with the Hugging Face reference loss; errors.
source "$(dirname "$0")/lib.bash"
FIX=tests/ref/fixtures/gguf
if ! "$STRAP" convert --help > /dev/null 2>&1; then
    echo "FAIL: 'strap convert' is not a command of $STRAP (wire cmd_convert into cli/main.c)"
    exit 1
fi

# a field of the fixture's expected json (python3 without packages)
expected() { python3 -c "import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(' '.join(map(str, v)) if isinstance(v, list) else v)" "$1" "$2"; }
# |a - b| <= tol * |b|
close() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; s = b < 0 ? -b : b; exit !(d <= t * s) }'; }

# untied, Q4_0/Q4_1/Q8_0/F16/BF16/F32, llama-bpe tokenizer; fp32 weights
"$STRAP" convert --gguf "$FIX/tiny_llama.gguf" --out "$TMP/m" > "$TMP/convert.log" 2>&1 || fail_test "convert tiny_llama: $(cat "$TMP/convert.log")"
for f in config.json model.safetensors tokenizer.json tokenizer_config.json generation_config.json; do
    [ -s "$TMP/m/$f" ] || fail_test "convert wrote no $f"
done
expect_no_tmp "$TMP/m"
grep -q "vocab 324, hidden 64, layers 2, heads 4 (kv 2, head_dim 16), ffn 96" "$TMP/convert.log" || fail_test "convert log lacks the shape: $(cat "$TMP/convert.log")"
grep -q "Q4_1 x3" "$TMP/convert.log" || fail_test "convert log lacks the quant types: $(cat "$TMP/convert.log")"
grep -q "pre 'llama-bpe'" "$TMP/convert.log" || fail_test "convert log lacks the tokenizer"
grep -q '"chat_template"' "$TMP/m/tokenizer_config.json" || fail_test "tokenizer_config.json has no chat_template"
grep -q '"tie_word_embeddings": false' "$TMP/m/config.json" || fail_test "tiny_llama should be untied"

# the converted tokenizer gives the HF tokenizer's ids; eval ppl gives the HF loss
text=$(expected "$FIX/tiny_llama_expected.json" ppl_text)
"$STRAP" tok encode --tokenizer "$TMP/m" --text "$text" > "$TMP/ids.txt" || fail_test "tok encode with the converted tokenizer"
[ "$(cat "$TMP/ids.txt")" = "$(expected "$FIX/tiny_llama_expected.json" ppl_ids)" ] || fail_test "ids differ from HF: $(cat "$TMP/ids.txt")"
loss=$("$STRAP" eval ppl --model "$TMP/m" --tokens-file "$TMP/ids.txt" --json | sed 's/.*"loss": \([0-9.]*\).*/\1/')
ref=$(expected "$FIX/tiny_llama_expected.json" ppl_loss)
# fp32 weights: strap's loss matches the float64 HF loss to ~1e-7 relative (printed to 6 decimals)
close "$loss" "$ref" 1e-5 || fail_test "eval ppl loss $loss, HF reference $ref"
"$STRAP" eval ppl --model "$TMP/m" --tokens-file "$TMP/ids.txt" --out "$TMP/ppl.json" --markdown "$TMP/ppl.md" > /dev/null || fail_test "eval ppl --out --markdown"
grep -q '"ppl": ' "$TMP/ppl.json" && grep -q "^| ppl | " "$TMP/ppl.md" || fail_test "eval ppl report files"

# tied, K-quants (Q4_K, Q5_K, Q6_K), smollm tokenizer; bf16 weights
"$STRAP" convert --gguf "$FIX/tiny_tied.gguf" --out "$TMP/t" --bf16 > "$TMP/tied.log" 2>&1 || fail_test "convert tiny_tied: $(cat "$TMP/tied.log")"
grep -q "tied embeddings" "$TMP/tied.log" || fail_test "tiny_tied should be tied: $(cat "$TMP/tied.log")"
grep -q "Q5_K x1" "$TMP/tied.log" || fail_test "tied log lacks Q5_K"
grep -q '"torch_dtype": "bfloat16"' "$TMP/t/config.json" || fail_test "--bf16: config.json torch_dtype"
"$STRAP" tok encode --tokenizer "$TMP/t" --text "$text" > "$TMP/ids2.txt" || fail_test "tok encode (tied)"
loss=$("$STRAP" eval ppl --model "$TMP/t" --tokens-file "$TMP/ids2.txt" --json | sed 's/.*"loss": \([0-9.]*\).*/\1/')
ref=$(expected "$FIX/tiny_tied_expected.json" ppl_loss)
# bf16 weights (8 mantissa bits) move the loss by ~1.5e-4 relative here; 1e-2 bounds it
close "$loss" "$ref" 1e-2 || fail_test "eval ppl loss (bf16) $loss, HF reference $ref"

# errors
expect_error 1 "already holds a checkpoint" -- "$STRAP" convert --gguf "$FIX/tiny_llama.gguf" --out "$TMP/m"
"$STRAP" convert --gguf "$FIX/tiny_llama.gguf" --out "$TMP/m" --force > /dev/null || fail_test "--force"
expect_error 1 "not a GGUF file" -- "$STRAP" convert --gguf "$TMP/m/tokenizer.json" --out "$TMP/x"
head -c 5000 "$FIX/tiny_llama.gguf" > "$TMP/trunc.gguf"
expect_error 1 "trunc.gguf: truncated file" -- "$STRAP" convert --gguf "$TMP/trunc.gguf" --out "$TMP/x"
python3 - "$FIX/tiny_llama.gguf" "$TMP/qwen.gguf" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
old = (5).to_bytes(8, "little") + b"llama"  # general.architecture's value
assert data.count(old) == 1
open(sys.argv[2], "wb").write(data.replace(old, (5).to_bytes(8, "little") + b"qwen2"))
PY
expect_error 1 "general.architecture is 'qwen2'" -- "$STRAP" convert --gguf "$TMP/qwen.gguf" --out "$TMP/x"
[ ! -e "$TMP/x" ] || fail_test "a failed conversion left $TMP/x behind"
expect_error 1 "cannot open" -- "$STRAP" convert --gguf "$TMP/missing.gguf" --out "$TMP/x"
expect_error 2 "--gguf is required" -- "$STRAP" convert --out "$TMP/x"
expect_error 2 "--out is required" -- "$STRAP" convert --gguf "$FIX/tiny_llama.gguf"
finish
