#!/usr/bin/env bash
# strap eval winrate and strap eval judge-accuracy on tiny models. A random judge only has
# position bias, so judged in both orders every prompt is a tie. Then three tiny models are
# fine-tuned with strap sft: one always answers "Yes, gladly.", one "No.", and a judge that
# prefers the "Yes" answer wherever it is shown: the first model wins every prompt, swapped
# it loses every one, and the judge is right on every labelled pair. The reports are checked
# against the per-prompt records (outcomes, counts, Wilson interval recomputed in Python).
source "$(dirname "$0")/lib.bash"
chatml='{"chat_template": "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"}'
for m in m0 base; do
    "$STRAP" init --out "$TMP/$m" --vocab 700 --dim 48 --layers 2 --heads 4 --kv-heads 2 --ffn 96 --max-seq 2048 --seed $([ $m = m0 ] && echo 3 || echo 5) > /dev/null || fail_test "init"
    cp tests/ref/fixtures/tok/llama3.tokenizer.json "$TMP/$m/tokenizer.json"
    echo "$chatml" > "$TMP/$m/tokenizer_config.json"
done
printf 'Question: {prompt}\nAnswer A: {answer_a}\nAnswer B: {answer_b}\nWhich answer is better?' > "$TMP/tpl.txt"
python3 - "$TMP" <<'PY'
import json, sys
d = sys.argv[1]
tpl = open(d + "/tpl.txt").read()
qs = ["Can you help me?", "Will you come?", "Is it ready?", "Can I borrow it?", "Shall we go?", "May I ask?"]
good, bad = "Yes, gladly.", "No."
def write(name, recs):
    with open(d + "/" + name, "w") as f:
        for r in recs: f.write(json.dumps(r) + "\n")
write("prompts.jsonl", [{"id": "q%d" % i, "prompt": q} for i, q in enumerate(qs)])
write("yes.jsonl", [{"prompt": q, "response": good} for q in qs])
write("no.jsonl", [{"prompt": q, "response": bad} for q in qs])
fill = lambda q, a, b: tpl.replace("{prompt}", q).replace("{answer_a}", a).replace("{answer_b}", b)
write("judge.jsonl", [{"prompt": fill(q, a, b), "response": "Verdict: Assistant " + w}
                      for q in qs for a, b, w in ((good, bad, "A"), (bad, good, "B"))])
write("labelled.jsonl", [{"prompt_id": i, "prompt": q, "chosen": good, "rejected": bad} for i, q in enumerate(qs)])
PY

check_report() { # report.json records.jsonl(.zst) kind
    python3 - "$@" <<'PY'
import json, math, subprocess, sys
rep = json.load(open(sys.argv[1]))
recs = [json.loads(l) for l in subprocess.run(["zstd", "-dcf", sys.argv[2]], capture_output=True, check=True).stdout.splitlines()]
kind = sys.argv[3]
n = len(recs)
if kind == "winrate":
    a, b, win, loss = "verdict_model_first", "verdict_baseline_first", "win", "loss"
    assert rep["prompts"] == n
else:
    a, b, win, loss = "verdict_chosen_first", "verdict_rejected_first", "correct", "wrong"
    assert rep["pairs"] == n
wins = losses = ties = unparseable = 0
for r in recs:
    va, vb = r[a], r[b]
    # A wins when its answer is preferred in both orders: first in order ab, second in order ba
    want = win if (va, vb) == ("first", "second") else loss if (va, vb) == ("second", "first") else "tie"
    assert r["outcome"] == want, r
    wins += want == win; losses += want == loss; ties += want == "tie"
    unparseable += va is None or vb is None
keys = ("wins", "losses") if kind == "winrate" else ("correct", "wrong")
assert (rep[keys[0]], rep["ties"], rep[keys[1]], rep["unparseable"]) == (wins, ties, losses, unparseable), rep
p = (wins + ties / 2) / n
rate = rep["win_rate"] if kind == "winrate" else rep["accuracy"]
z = 1.959963984540054  # Wilson score interval: the roots of (p - q)^2 = z^2 q (1 - q) / n
A, B, C = 1 + z * z / n, -(2 * p + z * z / n), p * p
lo, hi = (-B - math.sqrt(B * B - 4 * A * C)) / (2 * A), (-B + math.sqrt(B * B - 4 * A * C)) / (2 * A)
assert abs(rate - p) < 1e-9 and abs(rep["ci_low"] - max(lo, 0)) < 1e-7 and abs(rep["ci_high"] - min(hi, 1)) < 1e-7, (rep, lo, hi)
if kind == "winrate":
    assert abs(rep["mean_tokens_model"] - sum(r["tokens_model"] for r in recs) / n) < 1e-9
    assert abs(rep["mean_tokens_baseline"] - sum(r["tokens_baseline"] for r in recs) / n) < 1e-9
print(kind, {k: rep[k] for k in keys + ("ties", "unparseable")})
PY
}

# a random judge: pure position bias, every prompt a tie (both orders pick the first answer)
wr=(--prompts "$TMP/prompts.jsonl" --max-new 16 --threads 2)
"$STRAP" eval winrate --model "$TMP/m0" --baseline "$TMP/base" --judge "$TMP/m0" "${wr[@]}" --out "$TMP/r0.json" --markdown "$TMP/r0.md" --records "$TMP/r0.jsonl.zst" > "$TMP/r0.log" 2>&1 || fail_test "winrate: $(tail -n 3 "$TMP/r0.log")"
check_report "$TMP/r0.json" "$TMP/r0.jsonl.zst" winrate || fail_test "winrate report vs records (random judge)"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["ties"] == 6 and r["win_rate"] == 0.5 and r["first_position_rate"] in (0, 1), r' "$TMP/r0.json" || fail_test "a random judge should give 6 ties"
grep -q "^| 6 | 0 | 6 | 0 | 0 | 0.500 | 0.188-0.812 |" "$TMP/r0.md" || fail_test "winrate.md lacks the table row: $(cat "$TMP/r0.md")"
# text verdicts from a random judge: unparseable, counted separately and as ties
"$STRAP" eval winrate --model "$TMP/m0" --baseline "$TMP/base" --judge "$TMP/m0" "${wr[@]}" --judge-method text --judge-max-new 6 --limit 3 --out "$TMP/rt.json" --records "$TMP/rt.jsonl" > /dev/null 2>&1 || fail_test "winrate --judge-method text"
check_report "$TMP/rt.json" "$TMP/rt.jsonl" winrate || fail_test "winrate report vs records (text judge)"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["prompts"] == 3 and r["unparseable"] == 3 == r["ties"], r' "$TMP/rt.json" || fail_test "text verdicts of a random judge should be unparseable"

# trained models and judge
sft() { "$STRAP" sft --model "$TMP/$1" --data "$TMP/$2" --out "$TMP/$3" --seq "$5" --batch 2 --epochs "$4" --lr 1e-2 --threads 2 > "$TMP/$3.log" 2>&1 || fail_test "sft $3: $(tail -n 3 "$TMP/$3.log")"; }
sft m0 yes.jsonl yes 40 64
sft m0 no.jsonl no 40 64
sft base judge.jsonl judge 30 128
"$STRAP" eval winrate --model "$TMP/yes" --baseline "$TMP/no" --judge "$TMP/judge" --template "$TMP/tpl.txt" "${wr[@]}" --out "$TMP/r1.json" --markdown "$TMP/r1.md" --records "$TMP/r1.jsonl" > "$TMP/r1.log" 2>&1 || fail_test "winrate (trained): $(tail -n 3 "$TMP/r1.log")"
check_report "$TMP/r1.json" "$TMP/r1.jsonl" winrate || fail_test "winrate report vs records (trained)"
"$STRAP" eval winrate --model "$TMP/no" --baseline "$TMP/yes" --judge "$TMP/judge" --template "$TMP/tpl.txt" "${wr[@]}" -n 4 --out "$TMP/r2.json" --records "$TMP/r2.jsonl" > /dev/null 2>&1 || fail_test "winrate (swapped)"
check_report "$TMP/r2.json" "$TMP/r2.jsonl" winrate || fail_test "winrate report vs records (swapped)"
python3 - "$TMP/r1.json" "$TMP/r2.json" "$TMP/r1.jsonl" <<'PY' || fail_test "the trained judge should prefer the Yes answers in both orders"
import json, sys
r1, r2 = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
recs = [json.loads(l) for l in open(sys.argv[3])]
assert all(r["answer_model"] == "Yes, gladly." and r["answer_baseline"] == "No." for r in recs), recs[0]
assert r1["wins"] == 6 and r1["win_rate"] == 1 and r1["position_consistency"] == 1, r1
assert r2["prompts"] == 4 and r2["losses"] == 4 and r2["win_rate"] == 0, r2
assert r1["mean_tokens_model"] > r1["mean_tokens_baseline"], r1
PY
# pointwise (--judge-method rubric): each answer scored alone with the 5-point rubric; the
# outcome is the sign of the score difference, and each score is the one strap judge
# --method logprob gives that answer (a full forward there, the KV-cache prefill here)
"$STRAP" eval winrate --model "$TMP/yes" --baseline "$TMP/no" --judge "$TMP/m0" "${wr[@]}" --judge-method rubric --out "$TMP/rr.json" --markdown "$TMP/rr.md" --records "$TMP/rr.jsonl" > "$TMP/rr.log" 2>&1 || fail_test "winrate rubric: $(tail -n 3 "$TMP/rr.log")"
python3 - "$TMP/rr.json" "$TMP/rr.jsonl" "$TMP/rr_answers.jsonl" <<'PY' || fail_test "winrate rubric: report vs records"
import json, sys
rep = json.load(open(sys.argv[1]))
recs = [json.loads(l) for l in open(sys.argv[2])]
assert rep["judge_method"] == "rubric" and rep["prompts"] == len(recs) == 6, rep
assert rep["position_consistency"] is None and rep["first_position_rate"] is None, rep
out = {"win": 0, "tie": 0, "loss": 0}
for r in recs:
    m, b = r["rubric_model"], r["rubric_baseline"]
    assert 0 <= m <= 5 and 0 <= b <= 5 and "verdict_model_first" not in r, r
    want = "win" if m > b else "loss" if m < b else "tie"
    assert r["outcome"] == want, r
    out[want] += 1
assert (rep["wins"], rep["ties"], rep["losses"], rep["unparseable"]) == (out["win"], out["tie"], out["loss"], 0), rep
assert abs(rep["win_rate"] - (out["win"] + out["tie"] / 2) / 6) < 1e-12, rep
assert abs(rep["mean_rubric_model"] - sum(r["rubric_model"] for r in recs) / 6) < 1e-9, rep
assert len({r["rubric_model"] for r in recs} | {r["rubric_baseline"] for r in recs}) > 2, "every score is the same"
with open(sys.argv[3], "w") as f:
    for r in recs:
        for side in ("model", "baseline"):
            f.write(json.dumps({"prompt_id": r["prompt_id"], "prompt": r["prompt"], "text": r["answer_" + side], "side": side}) + "\n")
PY
grep -q "^| 6 | .* | - | - | " "$TMP/rr.md" || fail_test "rr.md: the position columns should be '-': $(cat "$TMP/rr.md")"
"$STRAP" judge --model "$TMP/m0" --in "$TMP/rr_answers.jsonl" --method logprob --out "$TMP/rr_judged.jsonl" --threads 2 > /dev/null 2>&1 || fail_test "judge the rubric answers"
python3 - "$TMP/rr.jsonl" "$TMP/rr_judged.jsonl" <<'PY' || fail_test "winrate rubric scores differ from strap judge --method logprob"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
judged = [json.loads(l) for l in open(sys.argv[2])]
worst = 0
for i, r in enumerate(recs):
    for k, side in enumerate(("model", "baseline")):
        j = judged[2 * i + k]
        assert j["side"] == side and j["text"] == r["answer_" + side], (j, r)
        worst = max(worst, abs(j["score"] - r["rubric_" + side]))
assert worst < 1e-4, worst
print("rubric scores: winrate vs strap judge, max difference %.2g" % worst)
PY
expect_error 2 "must be logprob or text" -- "$STRAP" eval judge-accuracy --judge "$TMP/m0" --labelled "$TMP/labelled.jsonl" --judge-method rubric

"$STRAP" eval judge-accuracy --judge "$TMP/judge" --template "$TMP/tpl.txt" --labelled "$TMP/labelled.jsonl" --out "$TMP/acc.json" --markdown "$TMP/acc.md" --records "$TMP/acc.jsonl" --threads 2 > "$TMP/acc.log" 2>&1 || fail_test "judge-accuracy: $(tail -n 3 "$TMP/acc.log")"
check_report "$TMP/acc.json" "$TMP/acc.jsonl" accuracy || fail_test "judge-accuracy report vs records"
python3 - "$TMP/acc.json" "$TMP/acc.jsonl" <<'PY' || fail_test "judge-accuracy numbers"
import json, sys
a = json.load(open(sys.argv[1]))
recs = [json.loads(l) for l in open(sys.argv[2])]
assert a["accuracy"] == 1 and a["correct"] == 6, a
ru = a["rubric"]  # the 5-point rubric by log-prob, scores in [0, 5]
assert ru["scored"] == 6 and all(0 <= r["rubric_chosen"] <= 5 and 0 <= r["rubric_rejected"] <= 5 for r in recs), ru
won = sum(r["rubric_chosen"] > r["rubric_rejected"] for r in recs) + 0.5 * sum(r["rubric_chosen"] == r["rubric_rejected"] for r in recs)
assert abs(ru["accuracy"] - won / 6) < 1e-12, (ru, won)
PY
grep -q "^| pairwise, both orders | 6 | 6 | 0 | 0 | 1.000 |" "$TMP/acc.md" || fail_test "acc.md lacks the table row: $(cat "$TMP/acc.md")"
"$STRAP" eval judge-accuracy --judge "$TMP/m0" --labelled "$TMP/labelled.jsonl" --no-rubric --threads 1 > "$TMP/acc0.log" 2>&1 || fail_test "judge-accuracy (random judge, printed)"
grep -q '"accuracy": 0.5' <(tail -n 1 "$TMP/acc0.log" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))') || fail_test "a random judge: accuracy 0.5 expected"

# bad input: clear errors, nothing written
echo '{"text": "no prompt"}' > "$TMP/bad.jsonl"
expect_error 1 "bad.jsonl:1: field 'prompt' missing" -- "$STRAP" eval winrate --model "$TMP/m0" --baseline "$TMP/base" --judge "$TMP/m0" --prompts "$TMP/bad.jsonl" --out "$TMP/x.json"
: > "$TMP/empty.jsonl"
expect_error 1 "empty.jsonl holds no records" -- "$STRAP" eval winrate --model "$TMP/m0" --baseline "$TMP/base" --judge "$TMP/m0" --prompts "$TMP/empty.jsonl" --out "$TMP/x.json"
echo '{"prompt": "p", "chosen": "a"}' > "$TMP/badpair.jsonl"
expect_error 1 "badpair.jsonl:1: field 'rejected' missing" -- "$STRAP" eval judge-accuracy --judge "$TMP/m0" --labelled "$TMP/badpair.jsonl" --out "$TMP/x.json"
printf 'Which is better: {answer_a} or {answer_b}?' > "$TMP/badtpl.txt"
expect_error 1 "must contain \{prompt\}" -- "$STRAP" eval winrate --model "$TMP/m0" --baseline "$TMP/base" --judge "$TMP/m0" --prompts "$TMP/prompts.jsonl" --template "$TMP/badtpl.txt" --out "$TMP/x.json"
expect_error 2 "--judge-method must be logprob, text or rubric, got 'vibes'" -- "$STRAP" eval winrate --model "$TMP/m0" --baseline "$TMP/base" --judge "$TMP/m0" --prompts "$TMP/prompts.jsonl" --judge-method vibes
expect_error 2 "--baseline is required" -- "$STRAP" eval winrate --model "$TMP/m0" --judge "$TMP/m0" --prompts "$TMP/prompts.jsonl"
expect_error 1 "records file .*r.txt: name it .jsonl or .jsonl.zst" -- "$STRAP" eval winrate --model "$TMP/m0" --baseline "$TMP/base" --judge "$TMP/m0" --prompts "$TMP/prompts.jsonl" --records "$TMP/r.txt" --out "$TMP/x.json"
[ ! -e "$TMP/x.json" ] || fail_test "a failed eval wrote its report"
expect_no_tmp "$TMP"
finish
