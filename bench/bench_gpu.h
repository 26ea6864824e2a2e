// bench_gpu.h: GPU kernel benchmarks (both need a CUDA GPU; without one, or in a build
// without CUDA, they fail saying so).
//
//   strap bench gemm       TFLOP/s of strap's own tensor-core GEMM next to cuBLAS, on
//                          4096^3 / 8192^3 and on a model's real matmul shapes (forward,
//                          dinp and dweight of every linear layer)
//   strap bench attention  causal attention forward and backward: the FlashAttention-2
//                          style kernels of the backend next to the naive (materialised
//                          scores + cuBLAS) version, head dim 64 / 128, sequence 1024-4096
//
// The own GEMM is timed as both kernels: mma.sync (gemm_mma.cu, every GPU) and wgmma
// (gemm_wgmma.cu, sm_90 with sm_90a code); the ratio is the faster one over cuBLAS.
// Method: random inputs (never zeros), a few untimed warm-up runs, then >= 20 samples
// timed with CUDA events on the backend's stream; a sample repeats the call until it lasts
// about 1 ms (short kernels), and the median is reported. Each row also carries the max
// relative difference between the two implementations' outputs, as a sanity check (the
// correctness tests are tests/gpu/test_gemm.c and test_cuda_ops.c).
#pragma once
#include "../base/flags.h"

typedef struct {
    const char *shapes; // which shapes: "square" (4096^3, 8192^3), "model" or "all"
    const char *preset; // the model whose matmul shapes to time (model/presets.h)
    int tokens;         // rows (batch x sequence) of the model's matmuls
    int iters;          // timed samples per shape (the median is reported)
    int warmup;         // untimed runs first
    int no_wgmma;       // time only mma.sync among the own kernels
    int json;           // one JSON object per shape instead of the table
} BenchGemmOptions;

// The shape sets a name selects ("square", "model", "all"): BENCH_GEMM_SQUARE | BENCH_GEMM_MODEL; 0 if unknown.
enum { BENCH_GEMM_SQUARE = 1, BENCH_GEMM_MODEL = 2 };
int bench_gemm_shape_sets(const char *name);

void bench_gemm_options_default(BenchGemmOptions *o);
extern const Flag BENCH_GEMM_FLAGS[]; // bench/bench_flags.c
int bench_gemm_run(const BenchGemmOptions *o);

typedef struct {
    int max_seq; // skip shapes with longer sequences (the shortest is 1024)
    int iters;   // timed samples per shape and pass (the median is reported)
    int warmup;  // untimed runs first
    int json;    // one JSON object per shape and pass instead of the table
} BenchAttentionOptions;

void bench_attention_options_default(BenchAttentionOptions *o);
extern const Flag BENCH_ATTENTION_FLAGS[]; // bench/bench_flags.c
int bench_attention_run(const BenchAttentionOptions *o);
