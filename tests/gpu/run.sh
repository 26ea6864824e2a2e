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
    # Some tests run more than once, each run with one environment setting:
    # test_cuda_ops again with strap's own GEMMs behind the backend's matmuls (own: wgmma on
    # an sm_90 GPU, else mma.sync; own-mma: mma.sync everywhere); test_gemm once per kernel,
    # so that one kernel's fault does not hide the other's results.
    runs=("STRAP_MATMUL=cublas")
    [ "$name" = test_cuda_ops ] && runs+=("STRAP_MATMUL=own" "STRAP_MATMUL=own-mma")
    [ "$name" = test_gemm ] && runs=("STRAP_GEMM_KERNEL=mma" "STRAP_GEMM_KERNEL=wgmma")
    for setting in "${runs[@]}"; do
        run_name=$name log=build/tests/gpu/$name.log
        if [ "$setting" != "${runs[0]}" ] || [ "$name" = test_gemm ]; then
            run_name="$name ($setting)" log=build/tests/gpu/$name.${setting#*=}.log
            echo "== $run_name"
        fi
        start=$(date +%s)
        env "$setting" "$bin" 2>&1 | tee "$log"
        rc=${PIPESTATUS[0]}
        summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
        if [ -n "$summary" ]; then
            p=$(echo "$summary" | cut -d' ' -f1)
            f=$(echo "$summary" | cut -d' ' -f3)
            passed=$((passed + p))
            failed=$((failed + f))
            [ "$f" -gt 0 ] && failures+=("$run_name")
            if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); failures+=("$run_name (exit $rc)"); fi
        else
            echo "   no summary (exit $rc): counted as one failure"
            failed=$((failed + 1))
            failures+=("$run_name (crashed, exit $rc)")
        fi
        echo "   ($(( $(date +%s) - start ))s)"
    done
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
