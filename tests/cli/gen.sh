#!/usr/bin/env bash
# strap gen: streaming generation with a tokenizer, chat templates, seeds, byte-level models.
source "$(dirname "$0")/lib.bash"
tok=tests/ref/fixtures/tok/llama3.tokenizer.json
"$STRAP" init --out "$TMP/m" --vocab 700 --dim 32 --layers 2 --heads 4 --kv-heads 2 --ffn 64 --max-seq 128 --init-std 0.3 > /dev/null || fail_test "init"
cp "$tok" "$TMP/m/tokenizer.json"
a=$("$STRAP" gen --model "$TMP/m" --prompt "Tom found" --raw --max-new 20 --temperature 0.9 --seed 5 2>/dev/null) || fail_test "gen"
b=$("$STRAP" gen --model "$TMP/m" --prompt "Tom found" --raw --max-new 20 --temperature 0.9 --seed 5 2>/dev/null)
c=$("$STRAP" gen --model "$TMP/m" --prompt "Tom found" --raw --max-new 20 --temperature 0.9 --seed 6 2>/dev/null)
[ "$a" = "$b" ] || fail_test "the same seed gave different text"
[ "$a" != "$c" ] || fail_test "different seeds gave the same text (20 tokens at temperature 0.9)"
"$STRAP" gen --model "$TMP/m" --prompt "hi" --raw --max-new 7 --temperature 0 2>&1 >/dev/null | grep -q "7 new tokens" || fail_test "--max-new 7"
# chat templates: detected from tokenizer_config.json; an unknown one is an error
echo '{"chat_template": "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"}' > "$TMP/m/tokenizer_config.json"
"$STRAP" gen --model "$TMP/m" --prompt "hi" --max-new 3 > /dev/null 2>&1 || fail_test "chatml chat"
echo '{"chat_template": "{{ bos_token }}[INST] {{ m }} [/INST]"}' > "$TMP/m/tokenizer_config.json"
expect_error 1 "not one strap recognises" -- "$STRAP" gen --model "$TMP/m" --prompt "hi" --max-new 3
"$STRAP" gen --model "$TMP/m" --prompt "hi" --max-new 3 --chat-template plain > /dev/null 2>&1 || fail_test "--chat-template plain"
expect_error 1 "cannot use the llama3 chat format" -- "$STRAP" gen --model "$TMP/m" --prompt "hi" --chat-template llama3
expect_error 2 "give exactly one of --prompt and --prompts" -- "$STRAP" gen --model "$TMP/m"
# chat: one answer line per user line, /reset accepted, end of input quits
echo '{"chat_template": "<|im_start|>{{ m }}<|im_end|>"}' > "$TMP/m/tokenizer_config.json"
answers=$(printf 'hello\nand again\n/reset\nthird\n' | "$STRAP" chat --model "$TMP/m" --max-new 5 --temperature 0 2>/dev/null | wc -l)
[ "$answers" -ge 3 ] || fail_test "strap chat gave $answers answer lines for 3 questions"
# --prompts: records in (prompt, sample) order, the same whatever the batch size
printf '{"id": "x", "prompt": "Tom found"}\n{"prompt": "Mia", "system": "Be brief."}\n{"id": 7, "prompt": "a b c"}\n' > "$TMP/p.jsonl"
"$STRAP" gen --model "$TMP/m" --prompts "$TMP/p.jsonl" --out "$TMP/a4.jsonl.zst" -n 3 --batch 4 --max-new 6 --seed 2 > /dev/null 2>&1 || fail_test "gen --prompts"
"$STRAP" gen --model "$TMP/m" --prompts "$TMP/p.jsonl" --out "$TMP/a1.jsonl.zst" -n 3 --batch 1 --max-new 6 --seed 2 > /dev/null 2>&1 || fail_test "gen --prompts --batch 1"
cmp -s <(zstd -dc "$TMP/a4.jsonl.zst") <(zstd -dc "$TMP/a1.jsonl.zst") || fail_test "answers depend on the batch size"
python3 - "$TMP/a4.jsonl.zst" <<'PY' || fail_test "gen --prompts records"
import json, subprocess, sys
recs = [json.loads(l) for l in subprocess.run(["zstd", "-dc", sys.argv[1]], capture_output=True, check=True).stdout.splitlines()]
assert len(recs) == 9, len(recs)
assert [(r["prompt_id"], r["sample"]) for r in recs] == [("x", 0), ("x", 1), ("x", 2), (1, 0), (1, 1), (1, 2), (7, 0), (7, 1), (7, 2)], recs
assert all(set(r) >= {"prompt", "text", "prompt_tokens", "new_tokens", "finish", "model", "seed"} for r in recs)
assert all(r["new_tokens"] <= 6 for r in recs)
PY
"$STRAP" data inspect "$TMP/a4.jsonl.zst" | grep -q "^records        9$" || fail_test "data inspect on a record file"
"$STRAP" data inspect "$TMP/a4.jsonl.zst" | grep -q "fields.*prompt_id (9)" || fail_test "data inspect fields"
echo '{"text": "no prompt field"}' > "$TMP/bad.jsonl"
expect_error 1 "bad.jsonl:1: field 'prompt' missing" -- "$STRAP" gen --model "$TMP/m" --prompts "$TMP/bad.jsonl" --out "$TMP/bad_out.jsonl.zst"
[ ! -e "$TMP/bad_out.jsonl.zst" ] || fail_test "a failed gen left an output file"
expect_error 2 "--prompts needs --out" -- "$STRAP" gen --model "$TMP/m" --prompts "$TMP/p.jsonl"
rm "$TMP/m/tokenizer.json"
expect_error 1 "tokenizer.json not found" -- "$STRAP" gen --model "$TMP/m" --prompt "hi"
# a byte-level model needs no tokenizer.json
"$STRAP" init --out "$TMP/b" --preset tiny > /dev/null
"$STRAP" gen --model "$TMP/b" --prompt "hello" --max-new 5 > /dev/null 2>&1 || fail_test "gen on a byte-level model"
finish
