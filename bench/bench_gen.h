// bench_gen.h: strap bench gen: the speed of generation with the KV cache, greedy, on random
// tokens: prefill (tokens/s over all prompts) and decode (new tokens/s over the batch).
// Prints a table and one JSON line.
#pragma once
#include "../base/flags.h"

typedef struct {
    const char *model_dir; // a checkpoint to run
    const char *preset;    // or a named shape with random weights (model/presets.h)
    int batch;             // sequences decoded together
    int prompt_len;        // prompt tokens per sequence
    int new_tokens;        // decode steps
    int threads;           // CPU threads (0: all cores)
    const char *device;    // auto, cpu or cuda
    const char *weights;   // decode weights: f32, f16 or bf16 (model/generate.h)
    int json;              // print only the JSON line
} BenchGenOptions;

void bench_gen_options_default(BenchGenOptions *o);
extern const Flag BENCH_GEN_FLAGS[]; // bench/bench_flags.c
int bench_gen_run(const BenchGenOptions *o);
