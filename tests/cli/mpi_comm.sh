#!/usr/bin/env bash
# The MPI collectives (dist/comm.h) on 2 and 3 ranks: tests/test_comm.c under mpirun checks
# all-reduce (SUM, AVG, MAX), reduce-scatter, all-gather, broadcast and the started
# reductions of the gradient buckets against sums it computes, in f32, f64 and i32; then
# strap bench comm, whose every size is checked before it is timed.
source "$(dirname "$0")/lib.bash"
need_mpi
bin=
for dir in "$(dirname "$STRAP")/tests" "$(dirname "$STRAP")/build/tests"; do
    [ -x "$dir/test_comm" ] && bin=$dir/test_comm && break
done
[ -n "$bin" ] || { fail_test "build/tests/test_comm not found next to $STRAP (make test builds it)"; finish; }
for np in 2 3; do
    timeout 120 mpirun --oversubscribe -np "$np" "$bin" > "$TMP/comm$np.log" 2>&1
    rc=$?
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$TMP/comm$np.log" | tail -n 1)
    echo "$np ranks: $summary"
    [ "$rc" -eq 0 ] || fail_test "test_comm on $np ranks exited $rc: $(grep -v '^ok' "$TMP/comm$np.log" | head -n 20)"
    [ "$(grep -cE '^[0-9]+ passed' "$TMP/comm$np.log")" -eq 1 ] || fail_test "$np ranks: not one summary line (rank 0 alone prints)"
    case "$summary" in
    "40 passed, 0 failed") ;;
    *) fail_test "test_comm on $np ranks: '$summary', expected 40 passed, 0 failed" ;;
    esac
done

# strap bench comm: each size checked for the right sums, then timed; rank 0 prints one JSON
# line per size (8 B to 64 KiB: 14 sizes)
for op in all_reduce reduce_scatter all_gather; do
    timeout 120 mpirun --oversubscribe -np 2 "$STRAP" bench comm --op "$op" --max-bytes 65536 --iters 2 --warmup 1 \
        --threads 1 --json > "$TMP/bench-$op.log" 2>&1 || fail_test "bench comm --op $op: $(tail -n 5 "$TMP/bench-$op.log")"
    python3 - "$TMP/bench-$op.log" "$op" <<'PY' || fail_test "bench comm --op $op: not 14 sizes of JSON from rank 0: $(head -n 3 "$TMP/bench-$op.log")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["bytes"] for r in rows] == [2 ** k for k in range(3, 17)], [r["bytes"] for r in rows]
f = 1.0 if sys.argv[2] == "all_reduce" else 0.5  # busbw / algbw on 2 ranks
for r in rows:
    assert r["op"] == sys.argv[2] and r["world"] == 2 and r["via"] == "mpi" and r["time_us"] > 0, r
    assert abs(r["busbw_gbs"] - f * r["algbw_gbs"]) <= 1e-3 * r["algbw_gbs"] + 1e-4, r
PY
done
expect_error 1 "start it with mpirun -np N" -- "$STRAP" bench comm
finish
