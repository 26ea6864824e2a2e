#!/usr/bin/env bash
# strap pairs: best vs worst answer per prompt; ties, small margins and unscored prompts
# dropped and counted; bad input is a clear error with nothing written.
source "$(dirname "$0")/lib.bash"
cat > "$TMP/judged.jsonl" <<'J'
{"prompt_id": "a", "prompt": "pa", "text": "a0", "score": 3.0, "model": "m0"}
{"prompt_id": "a", "prompt": "pa", "text": "a1 long answer", "score": 5}
{"prompt_id": "a", "prompt": "pa", "text": "a2", "score": 1.5}
{"prompt_id": "b", "prompt": "pb", "text": "b0", "score": 4}
{"prompt_id": "b", "prompt": "pb", "text": "b1", "score": 4}
{"prompt_id": 7, "prompt": "pc", "text": "c0", "score": null}
{"prompt_id": 7, "prompt": "pc", "text": "c1", "score": null}
{"prompt_id": "d", "prompt": "pd", "text": "d0", "score": 3.0}
{"prompt_id": "d", "prompt": "pd", "text": "d1", "score": 2.5}
{"prompt_id": "a", "prompt": "pa", "text": "a3", "score": 1.5}
J
"$STRAP" pairs --in "$TMP/judged.jsonl" --out "$TMP/pairs.jsonl" --min-margin 1 --report "$TMP/report.json" > /dev/null || fail_test "pairs"
python3 - "$TMP/pairs.jsonl" "$TMP/report.json" <<'PY' || fail_test "pairs output"
import json, sys
pairs = [json.loads(l) for l in open(sys.argv[1])]
rep = json.load(open(sys.argv[2]))
assert len(pairs) == 1, pairs
p = pairs[0]
assert (p["prompt_id"], p["chosen"], p["rejected"], p["score_chosen"], p["score_rejected"]) == ("a", "a1 long answer", "a2", 5, 1.5), p
assert rep["prompts"] == 4 and rep["pairs"] == 1 and rep["ties_dropped"] == 1 and rep["under_margin_dropped"] == 1, rep
assert rep["unscored_prompts"] == 1 and rep["missing_scores"] == 2 and rep["answers"] == 10, rep
assert sum(rep["score_histogram"]) == 8, rep
PY
# the pairs feed strap dpo directly (same field names)
grep -q '"chosen"' "$TMP/pairs.jsonl" || fail_test "no chosen field"
echo '{"prompt_id": "x", "prompt": "p", "text": "t", "score": "high"}' > "$TMP/bad.jsonl"
expect_error 1 "bad.jsonl:1: field 'score' must be a number or null" -- "$STRAP" pairs --in "$TMP/bad.jsonl" --out "$TMP/bad_out.jsonl"
: > "$TMP/empty.jsonl"
expect_error 1 "holds no judged answers" -- "$STRAP" pairs --in "$TMP/empty.jsonl" --out "$TMP/bad_out.jsonl"
printf '{"prompt_id": 1, "prompt": "a", "text": "x", "score": null}\n{"prompt_id": 1, "prompt": "a", "text": "y", "score": null}\n' > "$TMP/unparsed.jsonl"
expect_error 1 "unparsed.jsonl: none of its 2 answers has a score" -- "$STRAP" pairs --in "$TMP/unparsed.jsonl" --out "$TMP/bad_out.jsonl"
printf '{"prompt_id": 7, "prompt": "a", "text": "x", "score": 1}\n{"prompt_id": 7, "prompt": "b", "text": "y", "score": 4}\n' > "$TMP/mixed.jsonl"
expect_error 1 "mixed.jsonl:2: prompt_id 7 is the id of another prompt on line 1" -- "$STRAP" pairs --in "$TMP/mixed.jsonl" --out "$TMP/bad_out.jsonl"
# --reward verify | mix: verified constraints decide, the judge breaks ties (mix); an answer
# that loops (cut off, repeated 4-grams) is never chosen whatever its scores
LOOP="the cat sat down the cat sat down the cat sat down the cat sat down the cat sat down"
cat > "$TMP/verified.jsonl" <<J
{"prompt_id": "v", "prompt": "pv", "text": "v0", "score": 5, "verify_score": 0.5, "finish": "eos"}
{"prompt_id": "v", "prompt": "pv", "text": "v1", "score": 1, "verify_score": 1.0, "finish": "eos"}
{"prompt_id": "v", "prompt": "pv", "text": "v2", "score": 3, "verify_score": 0.0, "finish": "eos"}
{"prompt_id": "w", "prompt": "pw", "text": "w0", "score": 2, "verify_score": 1.0, "finish": "eos"}
{"prompt_id": "w", "prompt": "pw", "text": "w1", "score": 4, "verify_score": 1.0, "finish": "eos"}
{"prompt_id": "l", "prompt": "pl", "text": "$LOOP", "score": 5, "verify_score": 1.0, "finish": "length"}
{"prompt_id": "l", "prompt": "pl", "text": "l1", "score": 1, "verify_score": 1.0, "finish": "eos"}
J
"$STRAP" pairs --in "$TMP/verified.jsonl" --out "$TMP/pv.jsonl" --reward verify --report "$TMP/rv.json" > /dev/null || fail_test "pairs --reward verify"
"$STRAP" pairs --in "$TMP/verified.jsonl" --out "$TMP/pm.jsonl" --reward mix --report "$TMP/rm.json" > /dev/null || fail_test "pairs --reward mix"
"$STRAP" pairs --in "$TMP/verified.jsonl" --out "$TMP/pj.jsonl" --reward judge --report "$TMP/rj.json" > /dev/null || fail_test "pairs --reward judge"
python3 - "$TMP" <<'PY' || fail_test "pairs by reward"
import json, sys
t = sys.argv[1]
def pairs(name): return {p["prompt_id"]: (p["chosen"], p["rejected"]) for p in map(json.loads, open(f"{t}/{name}.jsonl"))}
v, m, j = pairs("pv"), pairs("pm"), pairs("pj")
assert v == {"v": ("v1", "v2"), "l": ("l1", v["l"][1])}, v          # w: equal verify scores, a tie
assert v["l"][1].startswith("the cat sat"), v
assert m == {"v": ("v1", "v2"), "w": ("w1", "w0"), "l": v["l"]}, m  # the judge breaks w's tie
assert j["v"] == ("v0", "v1") and j["w"] == ("w1", "w0") and j["l"] == v["l"], j  # judge: the looping answer still loses
rv, rm = json.load(open(f"{t}/rv.json")), json.load(open(f"{t}/rm.json"))
assert rv["reward"] == "verify" and rv["pairs"] == 2 and rv["ties_dropped"] == 1 and rv["looping_answers"] == 1, rv
assert rv["decided_by"] == {"loop": 1, "verify": 1, "judge": 0} and rv["chosen_passes_all"] == 2, rv
assert rm["decided_by"] == {"loop": 1, "verify": 1, "judge": 1}, rm
PY
expect_error 1 "judged.jsonl:1: the verify reward needs \"verify_score\"" -- "$STRAP" pairs --in "$TMP/judged.jsonl" --out "$TMP/bad_out.jsonl" --reward verify
expect_error 2 "--reward must be judge, verify or mix" -- "$STRAP" pairs --in "$TMP/judged.jsonl" --out "$TMP/bad_out.jsonl" --reward best
[ ! -e "$TMP/bad_out.jsonl" ] || fail_test "a failed run wrote its output"
finish
