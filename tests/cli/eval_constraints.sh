#!/usr/bin/env bash
# strap eval constraints on two tiny random models: the report's counts (prompt- and
# instruction-level, per family, discordant pairs, cut-offs) agree with its per-prompt
# records, the McNemar p-value with an exact binomial sum computed here, every check with
# strap verify on the same answer; 2 ranks write the same bytes as one process.
source "$(dirname "$0")/lib.bash"
for s in 3 4; do
    "$STRAP" init --out "$TMP/m$s" --vocab 700 --dim 32 --layers 2 --heads 4 --kv-heads 2 --ffn 64 --max-seq 512 --seed $s > /dev/null
    cp tests/ref/fixtures/tok/llama3.tokenizer.json "$TMP/m$s/tokenizer.json"
done
"$STRAP" verify --prompts-from data/synth/seed_prompts.jsonl --constraints 3 --count 24 --seed 7 --out "$TMP/held.jsonl" > /dev/null \
    || fail_test "verify --prompts-from"
ev() { "$STRAP" eval constraints --model "$TMP/m3" --baseline "$TMP/m4" --prompts "$TMP/held.jsonl" --max-new 12 --batch 4 --threads 1 "$@"; }
ev --out "$TMP/r.json" --markdown "$TMP/r.md" --records "$TMP/rec.jsonl" > "$TMP/log" 2>&1 || fail_test "eval constraints: $(tail -3 "$TMP/log")"
grep -q "exact McNemar p" "$TMP/r.md" || fail_test "no McNemar line in the Markdown report"
# every answer checked again by strap verify, as a record of its own
python3 - "$TMP/rec.jsonl" "$TMP/held.jsonl" "$TMP/answers.jsonl" <<'PY'
import json, sys
with open(sys.argv[3], "w") as out:
    for r, h in zip(map(json.loads, open(sys.argv[1])), map(json.loads, open(sys.argv[2]))):
        for side in ("model", "baseline"):
            out.write(json.dumps({"id": f'{r["prompt_id"]}-{side}', "constraints": r["constraints"], "prompt": r["prompt"],
                                  "base_prompt": h["base_prompt"], "text": r["answer_" + side]}) + "\n")
PY
"$STRAP" verify --in "$TMP/answers.jsonl" --out "$TMP/checked.jsonl" > /dev/null || fail_test "strap verify of the answers"
python3 - "$TMP" <<'PY' || fail_test "report vs records"
import json, sys
from math import comb
t = sys.argv[1]
rep = json.load(open(f"{t}/r.json"))
recs = [json.loads(l) for l in open(f"{t}/rec.jsonl")]
held = [json.loads(l) for l in open(f"{t}/held.jsonl")]
checked = [json.loads(l) for l in open(f"{t}/checked.jsonl")]
assert len(recs) == rep["prompts"] == 24 and [r["prompt_id"] for r in recs] == [h["id"] for h in held]
n_instr = sum(len(h["constraints"]) for h in held)
assert rep["instructions"] == n_instr
for k, side in enumerate(("model", "baseline")):
    s = rep[side]
    passed = sum(r["pass_" + side] for r in recs)
    ipassed = sum(v["pass"] for r in recs for v in r["verify_" + side])
    assert s["prompts_passed"] == passed and abs(s["prompt_accuracy"] - passed / 24) < 1e-12, (s, passed)
    assert s["instructions_passed"] == ipassed and abs(s["instruction_accuracy"] - ipassed / n_instr) < 1e-12
    assert s["cut_off"] == sum(r["finish_" + side] not in ("eos", "stop") for r in recs)
    assert s["loops"] == sum(r["loops_" + side] for r in recs)
    fam = {}
    for r in recs:
        for v in r["verify_" + side]:
            n, p = fam.get(v["kind"], (0, 0))
            fam[v["kind"]] = (n + 1, p + v["pass"])
    assert {f: (x["n"], x["passed"]) for f, x in s["families"].items()} == fam, (s["families"], fam)
    for r in recs:
        assert r["pass_" + side] == all(v["pass"] for v in r["verify_" + side])
    # strap verify agrees with every check
    for r, c in zip(recs, checked[k::2]):
        assert [v["pass"] for v in r["verify_" + side]] == [v["pass"] for v in c["verify"]], (r, c)
b = sum(r["pass_model"] and not r["pass_baseline"] for r in recs)
c = sum(r["pass_baseline"] and not r["pass_model"] for r in recs)
assert (rep["model_only_passes"], rep["baseline_only_passes"]) == (b, c)
p = min(1.0, 2 * sum(comb(b + c, i) for i in range(min(b, c) + 1)) / 2 ** (b + c)) if b + c else 1.0
assert abs(rep["mcnemar_p"] - p) < 1e-12, (rep["mcnemar_p"], p)
assert abs(rep["prompt_accuracy_delta"] - (b - c) / 24) < 1e-12
PY
# the baseline's answers taken from the records of the run above: the same report and records
ev --baseline-answers "$TMP/rec.jsonl" --out "$TMP/reuse.json" --records "$TMP/reuse.jsonl" > /dev/null 2>&1 || fail_test "--baseline-answers"
cmp -s "$TMP/rec.jsonl" "$TMP/reuse.jsonl" || fail_test "--baseline-answers: the records differ"
python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); b.pop("baseline_answers"); assert a == b, (a, b)' \
    "$TMP/r.json" "$TMP/reuse.json" || fail_test "--baseline-answers: the report differs"
head -n 3 "$TMP/rec.jsonl" > "$TMP/short.jsonl"
expect_error 1 "short.jsonl holds 3 answers, the prompts file 24" -- "$STRAP" eval constraints --model "$TMP/m3" --baseline "$TMP/m4" \
    --prompts "$TMP/held.jsonl" --baseline-answers "$TMP/short.jsonl"
# the model alone: no baseline fields
ev --baseline "$TMP/m3" --out "$TMP/self.json" > /dev/null 2>&1 || fail_test "eval against itself"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["mcnemar_p"] == 1 and r["model_only_passes"] == r["baseline_only_passes"] == 0, r' "$TMP/self.json" \
    || fail_test "a model against itself must have no discordant pairs"
if have_mpi; then
    mpirun --oversubscribe -np 2 "$STRAP" eval constraints --model "$TMP/m3" --baseline "$TMP/m4" --prompts "$TMP/held.jsonl" \
        --max-new 12 --batch 4 --threads 1 --out "$TMP/r2.json" --records "$TMP/rec2.jsonl" > "$TMP/log2" 2>&1 || fail_test "2 ranks: $(tail -3 "$TMP/log2")"
    cmp -s "$TMP/r.json" "$TMP/r2.json" || fail_test "2 ranks: the report differs from one process"
    cmp -s "$TMP/rec.jsonl" "$TMP/rec2.jsonl" || fail_test "2 ranks: the records differ from one process"
fi
echo '{"prompt": "no constraints here"}' > "$TMP/plain.jsonl"
expect_error 1 "plain.jsonl:1: a held-out prompt needs \"prompt\" and a non-empty \"constraints\" list" -- \
    "$STRAP" eval constraints --model "$TMP/m3" --prompts "$TMP/plain.jsonl"
finish
