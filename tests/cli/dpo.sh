#!/usr/bin/env bash
# strap dpo on a tiny model: the implicit-reward accuracy on its own training pairs rises
# above 0.9, the margin grows, the checkpoint loads; --resume is byte-identical, SIGTERM
# saves and stops; bad pairs are clear errors.
source "$(dirname "$0")/lib.bash"
"$STRAP" init --out "$TMP/m" --vocab 700 --dim 48 --layers 2 --heads 4 --kv-heads 2 --ffn 96 --max-seq 128 --seed 4 > /dev/null || fail_test "init"
cp tests/ref/fixtures/tok/llama3.tokenizer.json "$TMP/m/tokenizer.json"
echo '{"chat_template": "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"}' > "$TMP/m/tokenizer_config.json"
python3 - "$TMP/pairs.jsonl" <<'PY'
import json, random, sys
random.seed(1)
names = ["Tom", "Mia", "Lena", "Sam", "Ava", "Ben", "Nora", "Leo"]
with open(sys.argv[1], "w") as f:
    for n in names:
        f.write(json.dumps({"prompt": f"Say something kind about {n}.",
                            "chosen": f"{n} is a good friend and helps everyone.",
                            "rejected": f"{n} is rude and never helps."}) + "\n")
PY
"$STRAP" dpo --model "$TMP/m" --pairs "$TMP/pairs.jsonl" --out "$TMP/m1" --epochs 12 --batch 4 --lr 2e-3 --beta 0.5 --threads 2 > "$TMP/dpo.log" 2>&1 || fail_test "dpo: $(tail -n 3 "$TMP/dpo.log")"
python3 - "$TMP/m1/metrics.jsonl" <<'PY' || fail_test "DPO did not learn its pairs"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 24, len(rows)
first, last = rows[0], rows[-1]
assert abs(first["rewards_margin"]) < 1e-4, first  # policy == reference at the start
assert last["rewards_accuracy"] > 0.9 and last["rewards_margin"] > 0.5 and last["loss"] < first["loss"], (first, last)
print("DPO: loss %.3f -> %.3f, accuracy %.2f, margin %.3f" % (first["loss"], last["loss"], last["rewards_accuracy"], last["rewards_margin"]))
PY
"$STRAP" eval pairs --model "$TMP/m1" --ref "$TMP/m" --pairs "$TMP/pairs.jsonl" --beta 0.5 --json > "$TMP/ev.json" || fail_test "eval pairs"
"$STRAP" eval pairs --model "$TMP/m" --ref "$TMP/m" --pairs "$TMP/pairs.jsonl" --json > "$TMP/ev0.json" || fail_test "eval pairs (same model)"
python3 - "$TMP/ev.json" "$TMP/ev0.json" <<'PY' || fail_test "eval pairs numbers"
import json, sys
e, e0 = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert e["pairs"] == 8 and e["accuracy"] > 0.9 and e["margin"] > 0.5, e
assert abs(e0["margin"]) < 1e-6 and e0["accuracy"] == 0, e0  # a model against itself: no margin
PY
"$STRAP" eval pairs --model "$TMP/m1" --ref "$TMP/m" --pairs "$TMP/pairs.jsonl" --beta 0.5 --out "$TMP/ev.out.json" --markdown "$TMP/ev.md" > /dev/null || fail_test "eval pairs --out --markdown"
python3 - "$TMP/ev.json" "$TMP/ev.out.json" "$TMP/ev.md" <<'PY' || fail_test "eval pairs report files"
import json, sys
a, b, md = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), open(sys.argv[3]).read()
assert a == b, (a, b)
assert "| accuracy | %.4f |" % a["accuracy"] in md and md.startswith("### Preference accuracy"), md
PY
for f in config.json model.safetensors tokenizer.json; do [ -f "$TMP/m1/$f" ] || fail_test "dpo output lacks $f"; done
"$STRAP" gen --model "$TMP/m1" --prompt "hi" --max-new 3 > /dev/null 2>&1 || fail_test "the DPO checkpoint does not generate"
"$STRAP" dpo --model "$TMP/m" --pairs "$TMP/pairs.jsonl" --out "$TMP/m2" --epochs 1 --loss ipo --threads 1 > /dev/null 2>&1 || fail_test "ipo loss"
"$STRAP" dpo --model "$TMP/m" --pairs "$TMP/pairs.jsonl" --out "$TMP/m3" --epochs 1 --loss robust --label-smoothing 0.1 --threads 1 > /dev/null 2>&1 || fail_test "robust loss"
# resume: --stop-after then --resume gives the bytes of an uninterrupted run (model, optimizer
# state, metrics); a SIGTERM saves and exits 143; a finished run has nothing to do; an existing
# checkpoint is never overwritten without --resume
rargs=(--model "$TMP/m" --pairs "$TMP/pairs.jsonl" --epochs 3 --batch 3 --lr 2e-3 --beta 0.5 --threads 1)
"$STRAP" dpo "${rargs[@]}" --out "$TMP/full" > /dev/null 2>&1 || fail_test "dpo (uninterrupted)"
"$STRAP" dpo "${rargs[@]}" --out "$TMP/split" --stop-after 4 > "$TMP/split1.log" 2>&1 || fail_test "dpo --stop-after"
grep -q "stopped after 4 steps" "$TMP/split1.log" || fail_test "no --stop-after message: $(tail -n 2 "$TMP/split1.log")"
grep -q '"step": 4' "$TMP/split/trainer_state.json" || fail_test "trainer_state.json not at step 4"
expect_error 1 "already holds a DPO checkpoint" -- "$STRAP" dpo "${rargs[@]}" --out "$TMP/split"
expect_error 1 "resume it with the same values" -- "$STRAP" dpo "${rargs[@]}" --out "$TMP/split" --resume --batch 2
"$STRAP" dpo "${rargs[@]}" --out "$TMP/split" --resume > "$TMP/split2.log" 2>&1 || fail_test "dpo --resume: $(tail -n 2 "$TMP/split2.log")"
grep -q "resuming .* at step 4 of 9" "$TMP/split2.log" || fail_test "dpo did not resume at step 4 of 9"
for f in model.safetensors optimizer.safetensors; do
    cmp -s "$TMP/full/$f" "$TMP/split/$f" || fail_test "dpo: $f after --stop-after + --resume differs from the uninterrupted run"
done
same_metrics "$TMP/full/metrics.jsonl" "$TMP/split/metrics.jsonl" || fail_test "dpo: metrics.jsonl after --stop-after + --resume differs from the uninterrupted run"
"$STRAP" dpo "${rargs[@]}" --out "$TMP/split" --resume | grep -q "nothing to do" || fail_test "a finished dpo run resumed again"
expect_no_tmp "$TMP/split"
expect_sigterm_checkpoint dpo "$TMP/term" -- "$STRAP" dpo "${rargs[@]}" --epochs 200 --out "$TMP/term"

echo '{"prompt": "p", "chosen": "a"}' > "$TMP/bad.jsonl"
expect_error 1 "bad.jsonl:1: field 'rejected' missing" -- "$STRAP" dpo --model "$TMP/m" --pairs "$TMP/bad.jsonl" --out "$TMP/bad"
expect_error 2 "--loss must be sigmoid, ipo or robust, got 'hinge'" -- "$STRAP" dpo --model "$TMP/m" --pairs "$TMP/pairs.jsonl" --out "$TMP/bad" --loss hinge
: > "$TMP/empty.jsonl"
expect_error 1 "holds no pairs" -- "$STRAP" dpo --model "$TMP/m" --pairs "$TMP/empty.jsonl" --out "$TMP/bad"
[ ! -e "$TMP/bad/model.safetensors" ] || fail_test "a failed dpo left a checkpoint"
finish
