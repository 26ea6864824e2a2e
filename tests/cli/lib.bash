# tests/cli/lib.bash: helpers for the CLI test scripts (sourced, not run as a test).
set -u
STRAP=${STRAP:-$PWD/strap}
TMP=$(mktemp -d /tmp/strap-cli-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
failures=0

fail_test() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_error EXIT_CODE PATTERN -- command...: the command must exit with EXIT_CODE and
# print PATTERN (grep -E) on stderr.
expect_error() {
    local code=$1 pattern=$2
    shift 3
    local err rc
    err=$("$@" 2>&1 >/dev/null)
    rc=$?
    if [ "$rc" -ne "$code" ]; then
        fail_test "'$*' exited $rc, expected $code; stderr: $err"
    elif ! echo "$err" | grep -qE -- "$pattern"; then
        fail_test "'$*' stderr lacks /$pattern/: $err"
    elif [ "$(echo "$err" | grep -c 'strap: error')" -lt 1 ]; then
        fail_test "'$*' printed no 'strap: error' line: $err"
    fi
}

# no temp files left behind by atomic writes
expect_no_tmp() {
    if find "$1" -name '*.tmp.*' | grep -q .; then fail_test "temp files left in $1: $(find "$1" -name '*.tmp.*')"; fi
}

finish() {
    if [ "$failures" -gt 0 ]; then echo "$failures check(s) failed"; exit 1; fi
    echo "all checks passed"
}

# same_metrics A B: two metrics.jsonl files agree except for the wall-clock fields
# ("tokens_per_s"), which no two runs share
same_metrics() {
    cmp -s <(sed -E 's/, "tokens_per_s": [0-9.e+-]+//' "$1") <(sed -E 's/, "tokens_per_s": [0-9.e+-]+//' "$2")
}

# have_mpi: true when mpirun is installed and $STRAP was built with MPI; it then sets Open
# MPI up for containers (run as root, shared memory without cross-memory attach, more ranks
# than cores).
have_mpi() {
    command -v mpirun >/dev/null 2>&1 && "$STRAP" --version | grep -q '^distributed: mpi' || return 1
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader \
        OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
}

# skip_test REASON: ends the test as skipped (exit 77, counted apart by tests/run.sh).
skip_test() {
    echo "skipped: $*"
    exit 77
}

# need_mpi: ends the test as skipped without mpirun or with a strap built with MPI=0.
need_mpi() {
    have_mpi || skip_test "needs mpirun (apt-get install openmpi-bin libopenmpi-dev) and a strap built with MPI"
}

# expect_sigterm_checkpoint NAME OUT -- command...: starts the (long) training command in
# the background, sends SIGTERM once OUT/metrics.jsonl has 2 steps, and expects exit status
# 143, a "stopped by SIGTERM" message, a checkpoint in OUT and no temp files.
expect_sigterm_checkpoint() {
    local name=$1 out=$2
    shift 3
    "$@" > "$out.log" 2>&1 &
    local pid=$! rc
    for _ in $(seq 1 200); do
        [ -f "$out/metrics.jsonl" ] && [ "$(wc -l < "$out/metrics.jsonl")" -ge 2 ] && break
        sleep 0.05
    done
    kill -TERM "$pid"
    wait "$pid"
    rc=$?
    [ "$rc" -eq 143 ] || fail_test "$name after SIGTERM exited $rc, expected 143"
    grep -q "stopped by SIGTERM" "$out.log" || fail_test "$name: no SIGTERM message: $(tail -n 2 "$out.log")"
    [ -f "$out/optimizer.safetensors" ] || fail_test "$name: no checkpoint after SIGTERM"
    expect_no_tmp "$out"
}
