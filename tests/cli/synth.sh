#!/usr/bin/env bash
# strap synth on a tiny random model: records carry their provenance, the run is deterministic
# for a seed, earlier prompts are not written again, brainstorm output that is not a JSON list
# is dropped, and a run where nothing passes writes nothing.
source "$(dirname "$0")/lib.bash"
"$STRAP" init --out "$TMP/m" --vocab 700 --dim 32 --layers 2 --heads 4 --kv-heads 2 --ffn 64 --max-seq 1024 --seed 3 > /dev/null
cp tests/ref/fixtures/tok/llama3.tokenizer.json "$TMP/m/tokenizer.json"
synth() { "$STRAP" synth --model "$TMP/m" --max-new 6 --max-attempts 200 --keep-truncated --min-words 1 --no-blacklist --threads 2 "$@"; }
synth --out "$TMP/p1.jsonl.zst" --count 6 --seed 5 --iteration 2 --id-prefix it02 --report "$TMP/r1.json" > /dev/null 2>&1 || fail_test "synth"
synth --out "$TMP/p3.jsonl.zst" --count 6 --seed 5 --iteration 2 --id-prefix it02 > /dev/null 2>&1 || fail_test "synth third"
cmp -s <(zstd -dc "$TMP/p1.jsonl.zst") <(zstd -dc "$TMP/p3.jsonl.zst") || fail_test "the same seed and options gave other prompts"
synth --out "$TMP/p4.jsonl" --count 6 --seed 6 --existing "$TMP/p1.jsonl.zst" > /dev/null 2>&1 || fail_test "synth with --existing"
python3 - "$TMP" <<'PY' || fail_test "synth records"
import json, subprocess, sys
d = sys.argv[1]
recs = [json.loads(l) for l in subprocess.run(["zstd", "-dc", d + "/p1.jsonl.zst"], capture_output=True, check=True).stdout.splitlines()]
assert len(recs) == 6, len(recs)
roles = {l.strip() for l in open("data/synth/roles.txt") if l.strip() and not l.startswith("#")}
tasks = {l.split("|")[0].strip() for l in open("data/synth/tasks.txt") if l.strip() and not l.startswith("#")}
seeds = {json.loads(l)["id"] for l in open("data/synth/seed_prompts.jsonl")}
for i, r in enumerate(recs):
    assert r["id"] == "it02-%05d" % i, r["id"]
    assert r["role"] in roles and r["task"] in tasks, r
    assert set(r["attributes"]) == {"difficulty", "length", "format", "language"}, r["attributes"]
    assert r["mode"] == "self-instruct" and r["iteration"] == 2 and r["source"] == "synth" and r["model"].endswith("/m")
    assert 1 <= len(r["examples"]) <= 3 and all(e in seeds or e.startswith("it02-") for e in r["examples"]), r["examples"]
    assert r["prompt"].strip() == r["prompt"] and r["prompt"]
rep = json.load(open(d + "/r1.json"))
assert rep["accepted"] == 6 and rep["generated"] >= 6 and rep["catalog"]["roles"] >= 200, rep
earlier = {r["prompt"] for r in recs}
later = [json.loads(l) for l in open(d + "/p4.jsonl")]
assert not earlier & {r["prompt"] for r in later}, "an earlier prompt was written again"
PY
# --rejects: every dropped generation with its reason, as many of each reason as the report counts
synth --out "$TMP/p5.jsonl" --count 4 --seed 5 --max-new 4 --min-words 4 --rejects "$TMP/rej.jsonl.zst" --report "$TMP/r5.json" > /dev/null 2>&1 || fail_test "synth --rejects"
python3 - "$TMP/r5.json" "$TMP/rej.jsonl.zst" <<'PY' || fail_test "synth --rejects vs the report"
import collections, json, subprocess, sys
rep = json.load(open(sys.argv[1]))
rej = [json.loads(l) for l in subprocess.run(["zstd", "-dc", sys.argv[2]], capture_output=True, check=True).stdout.splitlines()]
assert len(rej) == rep["generated"] - rep["accepted"] > 0, (len(rej), rep)
assert collections.Counter(r["reason"] for r in rej) == {k: v for k, v in rep["dropped"].items() if v}, (rej, rep)
assert all(r["role"] and r["task"] and r["finish"] in ("eos", "length") and isinstance(r["text"], str) for r in rej), rej[0]
PY
expect_error 2 "name it .jsonl or .jsonl.zst" -- synth --out "$TMP/x.jsonl" --count 2 --rejects "$TMP/rej.txt"
# brainstorm: a random model writes no JSON list, so nothing passes and nothing is written
expect_error 1 "no prompt passed the filters.*invalid_json" -- synth --out "$TMP/b.jsonl" --count 2 --mode brainstorm --max-attempts 3
[ ! -e "$TMP/b.jsonl" ] || fail_test "a failed synth wrote its output"
expect_error 2 "--mode must be self-instruct or brainstorm" -- synth --out "$TMP/x.jsonl" --count 2 --mode vibes
expect_error 1 "roles.txt" -- synth --out "$TMP/x.jsonl" --count 2 --catalog "$TMP/nowhere"
expect_no_tmp "$TMP"
finish
