#!/usr/bin/env bash
# strap judge on a tiny random model: logprob scores are expectations over a distribution on
# 0..5 that sums to 1; text judgements without a parseable verdict are missing (null), not 0.
source "$(dirname "$0")/lib.bash"
"$STRAP" init --out "$TMP/m" --vocab 700 --dim 32 --layers 2 --heads 4 --kv-heads 2 --ffn 64 --max-seq 2048 --seed 2 > /dev/null
cp tests/ref/fixtures/tok/llama3.tokenizer.json "$TMP/m/tokenizer.json"
printf '{"prompt_id": 1, "prompt": "What is 2+2?", "text": "4"}\n{"prompt_id": 1, "prompt": "What is 2+2?", "text": "five"}\n' > "$TMP/a.jsonl"
"$STRAP" judge --model "$TMP/m" --in "$TMP/a.jsonl" --out "$TMP/lp.jsonl" --method logprob > /dev/null 2>&1 || fail_test "judge logprob"
"$STRAP" judge --model "$TMP/m" --in "$TMP/a.jsonl" --out "$TMP/tx.jsonl.zst" --samples 2 --max-new 8 > /dev/null 2>&1 || fail_test "judge text"
python3 - "$TMP/lp.jsonl" "$TMP/tx.jsonl.zst" <<'PY' || fail_test "judge records"
import json, subprocess, sys
lp = [json.loads(l) for l in open(sys.argv[1])]
assert len(lp) == 2
for r in lp:
    assert abs(sum(r["score_probs"]) - 1) < 1e-9 and len(r["score_probs"]) == 6, r
    assert 0 <= r["score"] <= 5 and abs(r["score"] - sum(k * p for k, p in enumerate(r["score_probs"]))) < 1e-9, r
    assert r["judge_method"] == "logprob" and r["text"] in ("4", "five")
tx = [json.loads(l) for l in subprocess.run(["zstd", "-dc", sys.argv[2]], capture_output=True, check=True).stdout.splitlines()]
for r in tx:
    assert len(r["scores"]) == 2 and len(r["judgements"]) == 2, r
    parsed = [s for s in r["scores"] if s is not None]
    assert r["score"] == (sum(parsed) / len(parsed) if parsed else None), r  # missing verdicts are not zeros
PY
echo '{"prompt": "p"}' > "$TMP/bad.jsonl"
expect_error 1 "bad.jsonl:1: an answer record needs prompt and text" -- "$STRAP" judge --model "$TMP/m" --in "$TMP/bad.jsonl" --out "$TMP/bad_out.jsonl"
[ ! -e "$TMP/bad_out.jsonl" ] || fail_test "a failed judge wrote its output"
expect_error 2 "--method must be text or logprob" -- "$STRAP" judge --model "$TMP/m" --in "$TMP/a.jsonl" --out "$TMP/x.jsonl" --method vibes
finish
