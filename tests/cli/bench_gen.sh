#!/usr/bin/env bash
# strap bench gen: the JSON line, --weights f32|f16|bf16 (16-bit decode weights), and the
# errors for a bad --weights or STRAP_GEN_WEIGHTS. Speed itself is never asserted.
source "$(dirname "$0")/lib.bash"
for w in f32 f16 bf16; do
    out=$("$STRAP" bench gen --preset tiny --batch 3 --prompt-len 8 --new 4 --threads 1 --device cpu --weights $w --json) ||
        fail_test "bench gen --weights $w failed"
    echo "$out" | python3 -c "
import json, sys
r = json.loads(sys.stdin.read())
assert r['bench'] == 'gen' and r['impl'] == 'strap' and r['weights'] == '$w', r
assert r['batch'] == 3 and r['prompt_len'] == 8 and r['new'] == 4, r
assert r['prefill_tokens_per_s'] > 0 and r['decode_tokens_per_s'] > 0, r
" || fail_test "bench gen --weights $w JSON: $out"
done
"$STRAP" bench gen --preset tiny --prompt-len 8 --new 2 --threads 1 --device cpu --weights f16 > "$TMP/table.txt" ||
    fail_test "bench gen table failed"
grep -qE "weights.*decode tok/s" "$TMP/table.txt" || fail_test "bench gen table lacks its header: $(cat "$TMP/table.txt")"
expect_error 2 "--weights: give f32, f16 or bf16" -- "$STRAP" bench gen --preset tiny --weights q4
expect_error 1 "STRAP_GEN_WEIGHTS='q4'" -- env STRAP_GEN_WEIGHTS=q4 "$STRAP" bench gen --preset tiny --new 2
finish
