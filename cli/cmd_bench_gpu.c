// cmd_bench_gpu.c: strap bench gemm | attention (bench/bench_gpu.c): GPU kernel benchmarks.
// Both need a CUDA GPU; without one (or in a build without CUDA) they exit 1 saying so.
#include "cmd_bench_gpu.h"

#include "../bench/bench_gpu.h"
#include "../model/presets.h"
#include "args.h"

int bench_gemm(int argc, char **argv) {
    BenchGemmOptions o;
    bench_gemm_options_default(&o);
    Command cmd = {"strap bench gemm [--shapes square|model|all] [--preset NAME --tokens N] [--json]",
                   "TFLOP/s of strap's own bf16 tensor-core GEMM next to cuBLAS, with random inputs, CUDA events, "
                   "warm-up and the median of many samples. Needs a CUDA GPU.",
                   BENCH_GEMM_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    int sets = bench_gemm_shape_sets(o.shapes);
    if (!sets) args_error(&cmd, "--shapes '%s' is unknown (choose square, model or all)", o.shapes);
    if (o.iters < 1 || o.warmup < 0 || o.tokens < 1)
        args_error(&cmd, "--iters and --tokens must be positive, --warmup >= 0");
    LlamaConfig c;
    if ((sets & BENCH_GEMM_MODEL) && !preset_config(o.preset, &c))
        args_error(&cmd, "--preset '%s' is unknown (choose one of: %s)", o.preset, preset_names());
    return bench_gemm_run(&o);
}

int bench_attention(int argc, char **argv) {
    BenchAttentionOptions o;
    bench_attention_options_default(&o);
    Command cmd = {"strap bench attention [--max-seq T] [--json]",
                   "Causal attention forward and backward: the backend's FlashAttention-2 style kernels next to "
                   "the naive version (scores materialised, cuBLAS matmuls), head dim 64 and 128, sequence "
                   "1024-4096, 8192 tokens per batch. Needs a CUDA GPU.",
                   BENCH_ATTENTION_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    if (o.iters < 1 || o.warmup < 0) args_error(&cmd, "--iters must be positive and --warmup >= 0");
    if (o.max_seq < 1024) args_error(&cmd, "--max-seq %d leaves no shape (the shortest sequence is 1024)", o.max_seq);
    return bench_attention_run(&o);
}
