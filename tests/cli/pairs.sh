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
[ ! -e "$TMP/bad_out.jsonl" ] || fail_test "a failed run wrote its output"
finish
