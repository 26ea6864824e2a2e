#!/usr/bin/env bash
# strap sft on a tiny model: it overfits a handful of chat records (the assistant-token loss
# falls below 0.1 and greedy strap gen then answers the training prompts word for word,
# which also shows SFT and gen use the same template); --min-score keeps only judged records
# at or above the score; --stop-after + --resume is byte-identical to an uninterrupted run;
# SIGTERM saves and stops; bad input is a clear error and writes nothing.
source "$(dirname "$0")/lib.bash"
"$STRAP" init --out "$TMP/m" --vocab 700 --dim 48 --layers 2 --heads 4 --kv-heads 2 --ffn 96 --max-seq 128 --seed 4 > /dev/null || fail_test "init"
cp tests/ref/fixtures/tok/llama3.tokenizer.json "$TMP/m/tokenizer.json"
echo '{"chat_template": "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"}' > "$TMP/m/tokenizer_config.json"
python3 - "$TMP/d.jsonl" "$TMP/judged.jsonl" <<'PY'
import json, sys
names = ["Tom", "Mia", "Lena", "Sam", "Ava", "Ben"]
with open(sys.argv[1], "w") as f:
    for n in names:
        f.write(json.dumps({"prompt": f"Who is {n}?", "response": f"{n} is a good friend."}) + "\n")
    f.write(json.dumps({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
                                     {"role": "user", "content": "Bye"}, {"role": "assistant", "content": "Goodbye."}]}) + "\n")
# strap judge output: prompt_id, prompt, text, score (null: no parseable verdict)
with open(sys.argv[2], "w") as f:
    for i, (text, score) in enumerate([("Paris.", 4.5), ("Rome.", 1.0), ("Lyon?", None), ("It is Paris.", 4.0)]):
        f.write(json.dumps({"prompt_id": 1, "sample": i, "prompt": "Capital of France?", "text": text, "score": score}) + "\n")
PY
zstd -q "$TMP/d.jsonl" -o "$TMP/d.jsonl.zst"

"$STRAP" sft --model "$TMP/m" --data "$TMP/d.jsonl.zst" --out "$TMP/o" --seq 64 --batch 2 --epochs 60 --lr 1e-2 --threads 2 > "$TMP/sft.log" 2>&1 || fail_test "sft: $(tail -n 3 "$TMP/sft.log")"
grep -q "7 records, 7 kept" "$TMP/sft.log" || fail_test "sft did not read 7 records: $(head -n 1 "$TMP/sft.log")"
python3 - "$TMP/o/metrics.jsonl" <<'PY' || fail_test "SFT did not learn its records"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 120 and [r["step"] for r in rows] == list(range(1, 121)), len(rows)
for key in ("loss", "lr", "grad_norm", "tokens_per_s", "trained_tokens", "epoch"):
    assert key in rows[0], key
assert rows[0]["loss"] > 5 and rows[-1]["loss"] < 0.1, (rows[0]["loss"], rows[-1]["loss"])
# every epoch visits every row once: 78 trained tokens per epoch
per_epoch = {}
for r in rows:
    per_epoch[r["epoch"]] = per_epoch.get(r["epoch"], 0) + r["trained_tokens"]
assert set(per_epoch.values()) == {78}, per_epoch
print("SFT: loss %.3f -> %.4f" % (rows[0]["loss"], rows[-1]["loss"]))
PY
for f in config.json model.safetensors tokenizer.json tokenizer_config.json trainer_state.json optimizer.safetensors; do
    [ -f "$TMP/o/$f" ] || fail_test "sft output lacks $f"
done
for n in Tom Ava; do
    out=$("$STRAP" gen --model "$TMP/o" --prompt "Who is $n?" --max-new 12 --temperature 0 2>/dev/null)
    [ "$out" = "$n is a good friend." ] || fail_test "after SFT, 'Who is $n?' gives '$out'"
done
out=$("$STRAP" gen --model "$TMP/o" --prompt "Hi" --max-new 12 --temperature 0 2>/dev/null)
[ "$out" = "Hello!" ] || fail_test "after SFT, 'Hi' gives '$out' (the first turn of the two-turn record)"

# rejection sampling: scores >= 4 only (the null score is dropped, not treated as 0)
"$STRAP" sft --model "$TMP/m" --data "$TMP/judged.jsonl" --min-score 4 --out "$TMP/rs" --seq 64 --steps 2 --threads 1 > "$TMP/rs.log" 2>&1 || fail_test "sft --min-score: $(tail -n 3 "$TMP/rs.log")"
grep -q "4 records, 2 kept (score >= 4; 1 below, 1 unscored)" "$TMP/rs.log" || fail_test "--min-score kept the wrong records: $(head -n 1 "$TMP/rs.log")"
expect_error 1 "no record has a score >= 6" -- "$STRAP" sft --model "$TMP/m" --data "$TMP/judged.jsonl" --min-score 6 --out "$TMP/bad"
expect_error 1 "d.jsonl.zst:1: no \"score\" field: a minimum score needs judged records" -- "$STRAP" sft --model "$TMP/m" --data "$TMP/d.jsonl.zst" --min-score 3 --out "$TMP/bad"

# resume: --stop-after then --resume gives the bytes of an uninterrupted run
rargs=(--model "$TMP/m" --data "$TMP/d.jsonl.zst" --seq 64 --batch 2 --epochs 3 --lr 3e-3 --threads 1)
"$STRAP" sft "${rargs[@]}" --out "$TMP/full" > /dev/null 2>&1 || fail_test "sft (uninterrupted)"
"$STRAP" sft "${rargs[@]}" --out "$TMP/split" --stop-after 4 > "$TMP/split1.log" 2>&1 || fail_test "sft --stop-after"
grep -q "stopped after 4 steps" "$TMP/split1.log" || fail_test "no --stop-after message: $(tail -n 2 "$TMP/split1.log")"
grep -q '"step": 4' "$TMP/split/trainer_state.json" || fail_test "trainer_state.json not at step 4"
expect_error 1 "already holds an SFT checkpoint" -- "$STRAP" sft "${rargs[@]}" --out "$TMP/split"
expect_error 1 "resume it with the same data and values" -- "$STRAP" sft "${rargs[@]}" --out "$TMP/split" --resume --batch 1
"$STRAP" sft "${rargs[@]}" --out "$TMP/split" --resume > "$TMP/split2.log" 2>&1 || fail_test "sft --resume: $(tail -n 2 "$TMP/split2.log")"
grep -q "resuming .* at step 4 of 6" "$TMP/split2.log" || fail_test "sft did not resume at step 4 of 6: $(head -n 2 "$TMP/split2.log")"
for f in model.safetensors optimizer.safetensors; do
    cmp -s "$TMP/full/$f" "$TMP/split/$f" || fail_test "sft: $f after --stop-after + --resume differs from the uninterrupted run"
done
same_metrics "$TMP/full/metrics.jsonl" "$TMP/split/metrics.jsonl" || fail_test "sft: metrics.jsonl after --resume differs"
"$STRAP" sft "${rargs[@]}" --out "$TMP/split" --resume | grep -q "nothing to do" || fail_test "a finished sft run resumed again"
expect_no_tmp "$TMP/split"
expect_sigterm_checkpoint sft "$TMP/term" -- "$STRAP" sft "${rargs[@]}" --epochs 5000 --out "$TMP/term"

# bad input
: > "$TMP/empty.jsonl"
expect_error 1 "empty.jsonl holds no records" -- "$STRAP" sft --model "$TMP/m" --data "$TMP/empty.jsonl" --out "$TMP/bad"
echo '{"prompt": "p", "answer": "a"}' > "$TMP/noresp.jsonl"
expect_error 1 "noresp.jsonl:1: a record needs \"messages\", or \"prompt\" and \"response\"" -- "$STRAP" sft --model "$TMP/m" --data "$TMP/noresp.jsonl" --out "$TMP/bad"
"$STRAP" sft --model "$TMP/m" --data "$TMP/noresp.jsonl" --field answer --out "$TMP/field" --steps 1 --threads 1 > /dev/null 2>&1 || fail_test "--field answer"
python3 -c 'import json; print(json.dumps({"prompt": "word " * 80, "response": "ok"}))' > "$TMP/long.jsonl"
expect_error 1 "long.jsonl:1: the prompt takes [0-9]+ tokens, so no answer token fits in a sequence of 32" -- "$STRAP" sft --model "$TMP/m" --data "$TMP/long.jsonl" --seq 32 --out "$TMP/bad"
echo '{"messages": [{"role": "user", "content": "hi"}]}' > "$TMP/noassistant.jsonl"
expect_error 1 "noassistant.jsonl:1: the conversation has no assistant message" -- "$STRAP" sft --model "$TMP/m" --data "$TMP/noassistant.jsonl" --out "$TMP/bad"
expect_error 1 "sequence length 4096: it must lie between 2 and the model's max_position_embeddings \(128\)" -- "$STRAP" sft --model "$TMP/m" --data "$TMP/d.jsonl" --seq 4096 --out "$TMP/bad"
[ ! -e "$TMP/bad" ] || fail_test "a failed sft wrote $TMP/bad"
finish
