#!/usr/bin/env bash
# tests/run.sh: runs every C test binary (build/tests/test_*) and every CLI test script
# (tests/cli/*.sh), then prints one summary line "N passed, N failed, N skipped". A CLI
# script that cannot run here (no model fetched, no mpirun) exits 77 (skip_test in
# tests/cli/lib.bash): counted as skipped, never as passed.
# Usage: bash tests/run.sh [FILTER...]   (run only tests whose name contains one of the FILTERs;
#        =NAME selects the test NAME alone, e.g. =gen but not bench_gen)
set -u
cd "$(dirname "$0")/.."
filters=("$@")
# 0 when the test's name contains one of the filters (or none was given)
selected() {
    [ ${#filters[@]} -eq 0 ] && return 0
    for f in "${filters[@]}"; do
        if [[ "$f" == =* ]]; then [[ "$1" == "${f#=}" ]] && return 0; # =NAME: that test alone
        elif [[ "$1" == *"$f"* ]]; then return 0; fi
    done
    return 1
}
passed=0
failed=0
skipped=0
failures=()
# another build (the sanitizer one in .ci/run): TEST_BUILD=build-asan STRAP=$PWD/build-asan/strap
export STRAP="${STRAP:-$PWD/strap}"
build=${TEST_BUILD:-build}

for bin in "$build"/tests/test_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    selected "$name" || continue
    echo "== $name"
    out=$("$bin" 2>&1)
    rc=$?
    echo "$out" | grep -v '^ok ' | grep -v -E '^[0-9]+ passed, [0-9]+ failed$' || true
    summary=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
    if [ -n "$summary" ]; then
        p=$(echo "$summary" | cut -d' ' -f1)
        f=$(echo "$summary" | cut -d' ' -f3)
        passed=$((passed + p))
        failed=$((failed + f))
        echo "   $summary"
        [ "$f" -gt 0 ] && failures+=("$name")
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); failures+=("$name (exit $rc)"); fi
    else
        echo "   no summary (exit $rc): counted as one failure"
        failed=$((failed + 1))
        failures+=("$name (crashed, exit $rc)")
    fi
done

for script in tests/cli/*.sh; do
    [ -f "$script" ] || continue
    name=$(basename "$script" .sh)
    selected "$name" || continue
    echo "== cli/$name"
    start=$(date +%s)
    out=$(bash "$script" 2>&1)
    rc=$?
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        echo "   ok ($(( $(date +%s) - start ))s)"
    elif [ "$rc" -eq 77 ]; then
        skipped=$((skipped + 1))
        echo "   $(echo "$out" | grep '^skipped' | tail -n 1)"
    else
        failed=$((failed + 1))
        failures+=("cli/$name")
        echo "$out" | tail -n 30 | sed 's/^/   | /'
        echo "   FAIL"
    fi
done

if [ ${#failures[@]} -gt 0 ]; then
    echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
