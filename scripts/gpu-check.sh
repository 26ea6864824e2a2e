#!/usr/bin/env bash
# scripts/gpu-check.sh OUTDIR: the one-call check on a GPU machine, done within 10 minutes:
#   1. GPU info (nvidia-smi, nvcc --version)     -> OUTDIR/gpu-info.txt
#   2. build everything (make -j)                -> OUTDIR/build.log
#   3. the GPU tests (make test-gpu)             -> OUTDIR/test-gpu.log
#   4. the GPU kernel benchmarks (strap bench gemm, strap bench attention)
#                                                -> OUTDIR/bench-{gemm,attention}.{jsonl,txt,log}
#   5. the benchmark (make bench), if bench/run.sh exists, with the time left
#                                                -> OUTDIR/bench.log
# Prints a summary (also OUTDIR/summary.txt) and exits non-zero when the build or the
# GPU tests fail. Each step has its own time limit so the whole run stays under 10 min.
set -u
if [ $# -ne 1 ]; then
    echo "usage: scripts/gpu-check.sh OUTDIR" >&2
    exit 2
fi
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
cd "$(dirname "$0")/.." || exit 1
START=$(date +%s)
# A bare GPU machine has no -dev packages: build against the carried deps/ (made here by
# scripts/get-deps.sh; run with carry ["deps"]) and the built-in sgemm.
if [ -d deps/usr/include ]; then
    export DEPS="$PWD/deps" BLAS="${BLAS:-0}"
    echo "using DEPS=$DEPS BLAS=$BLAS"
fi
# No OpenMPI on a bare GPU machine: build the single-rank strap (multi-GPU needs mpirun).
if [ -z "${MPI:-}" ] && ! command -v mpicc >/dev/null 2>&1; then
    export MPI=0
    echo "no mpicc: building with MPI=0 (single rank)"
fi
# NCCL: when the CUDA toolkit lacks it, the nvidia-nccl wheel of the machine's python (the
# PyTorch image has one) gives nccl.h and libnccl.so.2 (the Makefile's NCCL_HOME).
CUDA_DIR=${CUDA_HOME:-/usr/local/cuda}
if [ -z "${NCCL_HOME:-}" ] && [ ! -f "$CUDA_DIR/include/nccl.h" ] && [ ! -f /usr/include/nccl.h ]; then
    nccl_dir=$(python3 -c 'import nvidia.nccl as m; print(list(m.__path__)[0])' 2>/dev/null)
    if [ -n "$nccl_dir" ] && [ -f "$nccl_dir/include/nccl.h" ]; then
        export NCCL_HOME=$nccl_dir
        echo "using NCCL_HOME=$NCCL_HOME"
    else
        echo "no NCCL found (nccl.h): the NCCL test will fail; multi-GPU training needs it"
    fi
fi
TOTAL_S=${GPU_CHECK_SECONDS:-570} # leave a margin under the 10-minute limit
summary=()
status=0

elapsed() { echo $(( $(date +%s) - START )); }
left() { echo $(( TOTAL_S - $(elapsed) )); }

# run NAME LIMIT_S LOG CMD...: runs CMD with a time limit, output to LOG and to stdout
step() {
    local name=$1 limit=$2 log=$3
    shift 3
    if [ "$limit" -le 5 ]; then
        echo "== $name: skipped (no time left)" | tee "$log"
        summary+=("$name: skipped (no time left)")
        return 124
    fi
    echo "== $name (limit ${limit}s)"
    local t0 rc
    t0=$(date +%s)
    timeout --kill-after=10 "$limit" "$@" > "$log" 2>&1
    rc=$?
    tail -n 60 "$log"
    local what="ok"
    [ $rc -ne 0 ] && what="FAILED (exit $rc)"
    [ $rc -eq 124 ] && what="TIMED OUT after ${limit}s"
    summary+=("$name: $what in $(( $(date +%s) - t0 ))s (log: $log)")
    return $rc
}

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo unknown) $(git status --porcelain 2>/dev/null | wc -l) changed files"
    echo "host: $(uname -a)"
    echo "cpus: $(nproc)"
    echo
    if command -v nvidia-smi >/dev/null 2>&1; then
        timeout 30 nvidia-smi
        echo
        timeout 30 nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version,clocks.max.sm --format=csv
    else
        echo "nvidia-smi: not found"
    fi
    echo
    NVCC=$(command -v nvcc || echo "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc")
    "$NVCC" --version 2>&1 || echo "nvcc: not found"
} > "$OUT/gpu-info.txt" 2>&1
cat "$OUT/gpu-info.txt"
summary+=("gpu info: $OUT/gpu-info.txt")

if step "build (make -j$(nproc))" 300 "$OUT/build.log" make -j"$(nproc)"; then
    ./strap --version | tee -a "$OUT/gpu-info.txt"
    if ! step "make test-gpu" "$(( $(left) > 240 ? 240 : $(left) ))" "$OUT/test-gpu.log" make test-gpu; then
        status=1
    fi
    cp build/tests/gpu/*.log "$OUT/" 2>/dev/null || true
    if [ -f bench/run.sh ]; then
        # the GPU kernel benchmarks first, each in a step of its own: JSON lines into
        # OUTDIR/bench-gemm.jsonl and bench-attention.jsonl, their tables into .txt
        for kind in gemm attention; do
            if ! step "strap bench $kind" "$(( $(left) > 180 ? 180 : $(left) ))" "$OUT/bench-$kind.log" \
                ./strap bench "$kind" --json && [ "$kind" = gemm ]; then
                # a fault in the wgmma kernel ends the process: the mma.sync figures without it
                step "strap bench gemm --no-wgmma" "$(( $(left) > 120 ? 120 : $(left) ))" \
                    "$OUT/bench-gemm-mma.log" ./strap bench gemm --json --no-wgmma || true
                cat "$OUT/bench-gemm-mma.log" >> "$OUT/bench-gemm.log"
            fi
            grep '^{' "$OUT/bench-$kind.log" > "$OUT/bench-$kind.jsonl" 2>/dev/null
            python3 bench/gpu_table.py "$OUT/bench-$kind.jsonl" > "$OUT/bench-$kind.txt" 2>&1 && cat "$OUT/bench-$kind.txt"
        done
        export BENCH_GPU_KERNELS=0 # bench/run.sh: already done above
        step "make bench" "$(left)" "$OUT/bench.log" make bench || true
        [ -d build/bench ] && cp -r build/bench "$OUT/bench" 2>/dev/null
    else
        echo "make bench: skipped: bench/run.sh does not exist yet" | tee "$OUT/bench.log"
        summary+=("make bench: skipped (bench/run.sh missing)")
    fi
else
    status=1
fi

{
    echo
    echo "== summary ($(elapsed)s)"
    for line in "${summary[@]}"; do echo "  $line"; done
    grep -hE '^[0-9]+ passed, [0-9]+ failed$' "$OUT/test-gpu.log" 2>/dev/null | tail -n 1 | sed 's/^/  test-gpu: /'
    [ $status -eq 0 ] && echo "  result: ok" || echo "  result: FAILED"
} | tee "$OUT/summary.txt"
exit $status
