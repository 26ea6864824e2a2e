#!/usr/bin/env bash
# tests/gpu/run.sh: builds every GPU test (tests/gpu/test_*.c) with the Makefile's own
# flags into build/tests/gpu/, runs them, and prints one summary line "N passed, N failed"
# (the sum of the binaries' own summary lines). Exits non-zero on any failure.
# `make test-gpu` calls it; it is meant for machines with a CUDA GPU.
# Usage: bash tests/gpu/run.sh [FILTER]   (FILTER: only tests whose name contains it)
set -u
cd "$(dirname "$0")/../.." || exit 1
filter=${1:-}

# the library and the CLI first (make test-gpu has already done it; harmless when run directly)
make -s build/libstrap.a strap || { echo "tests/gpu/run.sh: make failed"; echo "0 passed, 1 failed"; exit 1; }

CC=$(make -s print-CC)
CFLAGS=$(make -s print-CFLAGS)
LDFLAGS=$(make -s print-LDFLAGS)
LDLIBS=$(make -s print-LDLIBS)
case " $CFLAGS " in
*" -DSTRAP_CUDA "*) ;;
*)
    echo "tests/gpu/run.sh: this build has no CUDA backend (nvcc not found, or CUDA=0): nothing to test"
    echo "0 passed, 1 failed"
    exit 1
    ;;
esac

passed=0
failed=0
failures=()
mkdir -p build/tests/gpu
for src in tests/gpu/test_*.c; do
    [ -f "$src" ] || continue
    name=$(basename "$src" .c)
    [[ -n "$filter" && "$name" != *"$filter"* ]] && continue
    bin=build/tests/gpu/$name
    echo "== $name"
    # shellcheck disable=SC2086 # the flag strings are word lists
    if ! $CC $CFLAGS $LDFLAGS -o "$bin" "$src" build/libstrap.a $LDLIBS; then
        echo "   build failed"
        failed=$((failed + 1))
        failures+=("$name (build)")
        continue
    fi
    start=$(date +%s)
    "$bin" 2>&1 | tee "build/tests/gpu/$name.log"
    rc=${PIPESTATUS[0]}
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "build/tests/gpu/$name.log" | tail -n 1)
    if [ -n "$summary" ]; then
        p=$(echo "$summary" | cut -d' ' -f1)
        f=$(echo "$summary" | cut -d' ' -f3)
        passed=$((passed + p))
        failed=$((failed + f))
        [ "$f" -gt 0 ] && failures+=("$name")
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); failures+=("$name (exit $rc)"); fi
    else
        echo "   no summary (exit $rc): counted as one failure"
        failed=$((failed + 1))
        failures+=("$name (crashed, exit $rc)")
    fi
    echo "   ($(( $(date +%s) - start ))s)"
done

# end-to-end scripts (training, resume, evaluation, generation on the GPU against the CPU)
for script in tests/gpu/*.sh; do
    [ "$(basename "$script")" = run.sh ] && continue
    name=$(basename "$script" .sh)
    [[ -n "$filter" && "$name" != *"$filter"* ]] && continue
    echo "== $name"
    start=$(date +%s)
    if STRAP="$PWD/strap" bash "$script" > "build/tests/gpu/$name.log" 2>&1; then
        passed=$((passed + 1))
        echo "   ok ($(( $(date +%s) - start ))s)"
    else
        failed=$((failed + 1))
        failures+=("$name")
        tail -n 30 "build/tests/gpu/$name.log" | sed 's/^/   | /'
        echo "   FAIL"
    fi
done

if [ ${#failures[@]} -gt 0 ]; then
    echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
