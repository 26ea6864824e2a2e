// bench_flags.c: the flags of strap bench step, gen, gemm, attention and comm, over their
// options (base/flags.h).
#include <stddef.h>

#include "bench_comm.h"
#include "bench_gen.h"
#include "bench_gpu.h"
#include "bench_step.h"

#define S BenchStepOptions
const Flag BENCH_STEP_FLAGS[] = {
    FLAG(S, model_dir, FLAG_STRING, "--model", "DIR", "checkpoint whose shape to use"),
    FLAG(S, preset, FLAG_STRING, "--preset", "NAME", "or a named shape: tiny, 15m, 125m"),
    FLAG(S, batch, FLAG_INT, "--batch", "B", "sequences per step"),
    FLAG(S, seq, FLAG_INT, "--seq", "T", "tokens per sequence"),
    FLAG(S, steps, FLAG_INT, "--steps", "N", "timed steps (median reported)"),
    FLAG(S, warmup, FLAG_INT, "--warmup", "N", "untimed steps first"),
    FLAG_THREADS(S),
    FLAG_DEVICE(S),
    FLAG(S, zero, FLAG_INT, "--zero", "0|1", "under mpirun: time the ZeRO-1 gradient reduce-scatter instead"),
    FLAG(S, json, FLAG_BOOL, "--json", NULL, "print only the JSON object"),
    {0},
};
#undef S

#define S BenchGenOptions
const Flag BENCH_GEN_FLAGS[] = {
    FLAG(S, model_dir, FLAG_STRING, "--model", "DIR", "checkpoint to run"),
    FLAG(S, preset, FLAG_STRING, "--preset", "NAME", "or a named shape with random weights: tiny, 15m, 125m"),
    FLAG(S, batch, FLAG_INT, "--batch", "B", "sequences decoded together"),
    FLAG(S, prompt_len, FLAG_INT, "--prompt-len", "P", "prompt tokens per sequence"),
    FLAG(S, new_tokens, FLAG_INT, "--new", "N", "decode steps"),
    FLAG_THREADS(S),
    FLAG_DEVICE(S),
    FLAG(S, weights, FLAG_STRING, "--weights", "W", "decode weights: f32, f16 or bf16 (16-bit copies)"),
    FLAG(S, json, FLAG_BOOL, "--json", NULL, "print only the JSON object"),
    {0},
};
#undef S

#define S BenchGemmOptions
const Flag BENCH_GEMM_FLAGS[] = {
    FLAG(S, shapes, FLAG_STRING, "--shapes", "WHICH", "square (4096^3, 8192^3), model, or all"),
    FLAG(S, preset, FLAG_STRING, "--preset", "NAME", "model whose matmul shapes to time: tiny, 15m, 125m"),
    FLAG(S, tokens, FLAG_INT, "--tokens", "N", "rows (batch x sequence) of the model's matmuls"),
    FLAG(S, iters, FLAG_INT, "--iters", "N", "timed samples (median reported)"),
    FLAG(S, warmup, FLAG_INT, "--warmup", "N", "untimed runs first"),
    FLAG(S, no_wgmma, FLAG_BOOL, "--no-wgmma", NULL, "time only mma.sync among the own kernels"),
    FLAG(S, json, FLAG_BOOL, "--json", NULL, "print one JSON object per shape instead of the table"),
    {0},
};
#undef S

#define S BenchAttentionOptions
const Flag BENCH_ATTENTION_FLAGS[] = {
    FLAG(S, max_seq, FLAG_INT, "--max-seq", "T", "skip shapes with longer sequences"),
    FLAG(S, iters, FLAG_INT, "--iters", "N", "timed samples (median reported)"),
    FLAG(S, warmup, FLAG_INT, "--warmup", "N", "untimed runs first"),
    FLAG(S, json, FLAG_BOOL, "--json", NULL, "print one JSON object per shape and pass instead of the table"),
    {0},
};
#undef S

#define S BenchCommOptions
const Flag BENCH_COMM_FLAGS[] = {
    FLAG(S, op, FLAG_STRING, "--op", "OP", "all_reduce, reduce_scatter or all_gather"),
    FLAG(S, min_bytes, FLAG_INT64, "--min-bytes", "B", "smallest buffer"),
    FLAG(S, max_bytes, FLAG_INT64, "--max-bytes", "B", "largest buffer (sizes double in between)"),
    FLAG(S, iters, FLAG_INT, "--iters", "N", "timed calls per size"),
    FLAG(S, warmup, FLAG_INT, "--warmup", "N", "untimed calls per size first"),
    FLAG(S, threads, FLAG_INT, "--threads", "N", "CPU threads (0: the rank's share of the cores)"),
    FLAG(S, device, FLAG_STRING, "--device", "D", "auto, cpu or cuda (one GPU per rank)"),
    FLAG(S, json, FLAG_BOOL, "--json", NULL, "print only one JSON object per size"),
    {0},
};
#undef S
