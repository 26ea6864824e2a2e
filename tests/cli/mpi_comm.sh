#!/usr/bin/env bash
# The MPI collectives (train/comm.h) on 2 and 3 ranks: tests/test_comm.c under mpirun checks
# all-reduce (SUM, AVG, MAX), reduce-scatter, all-gather, broadcast and the started
# reductions of the gradient buckets against sums it computes, in f32, f64 and i32.
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
finish
