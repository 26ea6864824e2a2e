#!/usr/bin/env bash
# strap bench gemm|attention without a GPU (CI, or a build without CUDA): a clear
# "needs a CUDA GPU" error and exit 1; --help and bad flags work everywhere.
# (On a GPU machine the benchmarks themselves run from bench/run.sh, not here.)
source "$(dirname "$0")/lib.bash"
for kind in gemm attention; do
    "$STRAP" bench "$kind" --help > "$TMP/help.txt" 2>&1 || fail_test "bench $kind --help failed"
    grep -q "CUDA GPU" "$TMP/help.txt" || fail_test "bench $kind --help does not say it needs a GPU"
    expect_error 2 "unknown" -- "$STRAP" bench "$kind" --no-such-flag
    if ! nvidia-smi -L > /dev/null 2>&1; then
        expect_error 1 "strap bench $kind needs a CUDA GPU" -- "$STRAP" bench "$kind"
        expect_error 1 "needs a CUDA GPU" -- "$STRAP" bench "$kind" --json
    fi
done
expect_error 2 "--shapes 'cubes' is unknown" -- "$STRAP" bench gemm --shapes cubes
expect_error 2 "--preset 'huge' is unknown" -- "$STRAP" bench gemm --preset huge
expect_error 2 "leaves no shape" -- "$STRAP" bench attention --max-seq 100
finish
