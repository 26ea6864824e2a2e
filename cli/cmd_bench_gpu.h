// cmd_bench_gpu.h: `strap bench gemm` and `strap bench attention` (cli/cmd_bench_gpu.c, the
// benchmarks themselves bench/bench_gpu.c), dispatched from cmd_bench(). argv[0] is the kind
// ("gemm" or "attention").
#pragma once

int bench_gemm(int argc, char **argv);
int bench_attention(int argc, char **argv);
