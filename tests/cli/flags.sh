#!/usr/bin/env bash
# Numeric flags: every command's --help works (args_parse first checks that each of its
# numeric flags has an allowed range), and a value outside the range is a usage error naming
# the flag and the range, before any work.
source "$(dirname "$0")/lib.bash"
for c in init train sft dpo pairs synth verify loop judge "data pack" "data inspect" "data clean" "tok train" \
    "tok encode" "tok decode" gen chat "eval ppl" "eval logits" "eval pairs" "eval winrate" "eval judge-accuracy" \
    "eval constraints" "bench step" "bench gen" "bench gemm" "bench attention" "bench comm" convert; do
    # shellcheck disable=SC2086
    "$STRAP" $c --help > /dev/null 2> "$TMP/err" || fail_test "strap $c --help: $(head -n 2 "$TMP/err")"
done
expect_error 2 "--lr -1 is out of range: it must be above 0" -- "$STRAP" train --data x --out y --lr -1
expect_error 2 "--lr 0 is out of range: it must be above 0" -- "$STRAP" sft --model x --data y --out z --lr 0
expect_error 2 "--lr -1 is out of range" -- "$STRAP" dpo --model x --pairs y --out z --lr -1
expect_error 2 "--min-lr -0.1 is out of range: it must be at least 0" -- "$STRAP" train --data x --out y --min-lr -0.1
expect_error 2 "--warmup -5 is out of range: it must be at least 0" -- "$STRAP" sft --model x --data y --out z --warmup -5
expect_error 2 "--top-p 0 is out of range: it must be in \\(0, 1\\]" -- "$STRAP" gen --model x --top-p 0
expect_error 2 "--temperature -1 is out of range" -- "$STRAP" eval winrate --model a --baseline b --judge c --prompts d --temperature -1
expect_error 2 "--beta2 1 is out of range: it must be in \\[0, 1\\)" -- "$STRAP" train --data x --out y --beta2 1
expect_error 2 "--threads -2 is out of range" -- "$STRAP" eval ppl --model x --data y --threads -2
expect_error 2 "--candidates 1 is out of range: it must be at least 2" -- "$STRAP" loop --init x --workdir y --candidates 1
expect_error 2 "--constraints 4 is out of range: it must be in \\[0, 3\\]" -- "$STRAP" synth --model x --out y.jsonl --count 1 --constraints 4
finish
