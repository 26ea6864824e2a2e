#!/usr/bin/env bash
# strap verify: prompts with constraints made deterministically from requests; answers
# checked with the expected verdicts and report; bad input is a clear error naming the line.
source "$(dirname "$0")/lib.bash"
"$STRAP" verify --prompts-from data/synth/heldout_requests.jsonl --count 200 --seed 9 --out "$TMP/a.jsonl" > /dev/null || fail_test "prompts-from"
"$STRAP" verify --prompts-from data/synth/heldout_requests.jsonl --count 200 --seed 9 --out "$TMP/b.jsonl.zst" > /dev/null || fail_test "prompts-from (zst)"
cmp -s "$TMP/a.jsonl" <(zstd -dc "$TMP/b.jsonl.zst") || fail_test "the same seed made different prompts"
"$STRAP" verify --prompts-from data/synth/heldout_requests.jsonl --count 20 --seed 9 --out "$TMP/c.jsonl" > /dev/null
cmp -s "$TMP/c.jsonl" <(head -n 20 "$TMP/a.jsonl") || fail_test "prompt i depends on --count"
"$STRAP" verify --prompts-from data/synth/heldout_requests.jsonl --count 40 --seed 9 --constraints 1 --families no_commas,title --out "$TMP/f.jsonl" > /dev/null
python3 - "$TMP" <<'PY' || fail_test "prompts-from records"
import json, sys
t = sys.argv[1]
a = [json.loads(l) for l in open(f"{t}/a.jsonl")]
req = [json.loads(l) for l in open("data/synth/heldout_requests.jsonl")]
assert len(a) == 200
for i, r in enumerate(a):
    base = req[i % len(req)]
    assert r["id"] == f'{base["id"]}-c{i // len(req)}' and r["base_prompt"] == base["prompt"], r
    assert 1 <= len(r["constraints"]) <= 3 and r["prompt"] == base["prompt"] + "\n\n" + "\n".join(c["instruction"] for c in r["constraints"]), r
kinds = {c["kind"] for r in a for c in r["constraints"]}
assert len(kinds) >= 20, kinds
f = [json.loads(l) for l in open(f"{t}/f.jsonl")]
assert all(len(r["constraints"]) == 1 and r["constraints"][0]["kind"] in ("no_commas", "title") for r in f)
PY
cat > "$TMP/answers.jsonl" <<'J'
{"id": 1, "prompt": "p", "base_prompt": "Say hi.", "constraints": [{"kind": "lowercase"}, {"kind": "no_commas"}], "text": "hi there friend\n"}
{"id": 2, "prompt": "p", "base_prompt": "Say hi.", "constraints": [{"kind": "lowercase"}, {"kind": "end_with", "phrase": "Bye."}], "text": "Hi. Bye."}
{"id": 3, "prompt": "p", "base_prompt": "Say hi.", "constraints": [{"kind": "repeat_request"}], "answer": "x", "text": "Say hi. Hi!"}
{"id": 4, "prompt": "p", "constraints": [{"kind": "json_format"}, {"kind": "nonsense"}], "text": "{\"a\": 1}"}
J
"$STRAP" verify --in "$TMP/answers.jsonl" --out "$TMP/scored.jsonl.zst" --report "$TMP/report.json" > "$TMP/log" || fail_test "verify --in"
grep -q "4 answers, 2 pass all their constraints" "$TMP/log" || fail_test "summary line: $(cat "$TMP/log")"
python3 - "$TMP" <<'PY' || fail_test "verify records and report"
import json, subprocess, sys
t = sys.argv[1]
recs = [json.loads(l) for l in subprocess.run(["zstd", "-dc", f"{t}/scored.jsonl.zst"], capture_output=True, check=True).stdout.splitlines()]
got = [(r["verify_pass"], r["verify_total"], r["verify_all"]) for r in recs]
assert got == [(2, 2, True), (1, 2, False), (1, 1, True), (1, 2, False)], got
assert recs[1]["verify_score"] == 0.5 and [v["pass"] for v in recs[1]["verify"]] == [False, True]
assert "error" in recs[3]["verify"][1] and recs[3]["verify"][1]["kind"] == "nonsense"
rep = json.load(open(f"{t}/report.json"))
assert rep["records"] == 4 and rep["all_passed"] == 2 and rep["instructions"] == 7 and rep["instructions_passed"] == 5, rep
assert rep["malformed"] == 1 and rep["families"]["lowercase"] == {"n": 2, "passed": 1, "accuracy": 0.5}, rep
PY
# --repair: failing answers with an edit for every failed constraint are edited and re-checked;
# the others stay as they were; the record keeps the original
cat > "$TMP/rep.jsonl" <<'J'
{"prompt_id": "a", "base_prompt": "Say hi.", "constraints": [{"kind": "lowercase"}, {"kind": "end_with", "phrase": "Bye."}], "text": "Hi there."}
{"prompt_id": "a", "base_prompt": "Say hi.", "constraints": [{"kind": "two_responses"}], "text": "Hello."}
{"prompt_id": "b", "base_prompt": "Say hi.", "constraints": [{"kind": "two_responses"}], "text": "Alone."}
{"prompt_id": "b", "base_prompt": "Say hi.", "constraints": [{"kind": "bullet_count", "n": 2}, {"kind": "quotes"}], "text": "No bullets."}
{"prompt_id": "b", "base_prompt": "Say hi.", "constraints": [{"kind": "quotes"}], "text": "\"Already.\""}
J
"$STRAP" verify --in "$TMP/rep.jsonl" --out "$TMP/rep-out.jsonl" --report "$TMP/rep.json" --repair > "$TMP/log" || fail_test "verify --repair"
grep -q "2 answers repaired" "$TMP/log" || fail_test "repair summary: $(cat "$TMP/log")"
python3 - "$TMP" <<'PY' || fail_test "verify --repair records"
import json, sys
t = sys.argv[1]
recs = [json.loads(l) for l in open(f"{t}/rep-out.jsonl")]
assert recs[0]["text"] == "hi there. bye." and recs[0]["original_text"] == "Hi there." and recs[0]["repaired"] == ["end_with", "lowercase"], recs[0]
assert recs[0]["verify_all"] is True
assert recs[1]["text"] == "Hello.\n\n******\n\nHi there." and recs[1]["repaired"] == ["two_responses"], recs[1]
assert "repaired" not in recs[2] and recs[2]["verify_all"] is False, recs[2]          # no other answer to this prompt before it
assert "repaired" not in recs[3] and recs[3]["text"] == "No bullets." and recs[3]["verify_pass"] == 0, recs[3]
assert "repaired" not in recs[4] and recs[4]["verify_all"] is True
rep = json.load(open(f"{t}/rep.json"))
assert rep["repaired"] == 2 and rep["all_passed"] == 3, rep
PY
expect_error 2 "--repair goes with --in" -- "$STRAP" verify --prompts-from data/synth/heldout_requests.jsonl --repair --out "$TMP/bad.jsonl"
# --text-field reads another field
"$STRAP" verify --in "$TMP/answers.jsonl" --out "$TMP/s2.jsonl" --text-field answer > /dev/null 2>&1 && fail_test "a record without the --text-field field must fail"
echo '{"prompt": "p", "text": "no constraints"}' > "$TMP/plain.jsonl"
expect_error 1 "plain.jsonl:1: no \"constraints\" list" -- "$STRAP" verify --in "$TMP/plain.jsonl" --out "$TMP/bad.jsonl"
expect_error 1 "answers.jsonl:1: the answer field \"answer\"" -- "$STRAP" verify --in "$TMP/answers.jsonl" --out "$TMP/bad.jsonl" --text-field answer
expect_error 2 "either --in" -- "$STRAP" verify --out "$TMP/bad.jsonl"
expect_error 1 "the family \"shouting\" asked for is not one of .*constraints.json" -- "$STRAP" verify --prompts-from data/synth/heldout_requests.jsonl --families shouting --out "$TMP/bad.jsonl"
[ ! -e "$TMP/bad.jsonl" ] && [ ! -e "$TMP/s2.jsonl" ] || fail_test "a failed run wrote its output"
expect_no_tmp "$TMP"
finish
