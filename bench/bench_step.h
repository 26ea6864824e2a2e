// bench_step.h: strap bench step: the time of a full training step (forward, backward,
// AdamW) on random tokens, as tokens/s and model FLOP/s (6 x matmul parameters + attention
// per token). Under mpirun (one rank per GPU) also the bucketed gradient all-reduce (or the
// ZeRO-1 reduce-scatter): its time after the backward and during it, and the share the
// backward hides. Rank 0 prints a table and one JSON line per measurement.
#pragma once
#include "../base/flags.h"

typedef struct {
    const char *model_dir; // a checkpoint whose shape (and weights) to time
    const char *preset;    // or a named shape with random weights (model/presets.h)
    int batch;             // sequences per step
    int seq;               // tokens per sequence (a preset's context is stretched to it)
    int steps;             // timed steps: the median and the best are reported
    int warmup;            // untimed steps first
    int threads;           // CPU threads (0: all cores)
    const char *device;    // auto, cpu or cuda (under mpirun: the rank's GPU)
    int zero;              // under mpirun: 1 times the ZeRO-1 gradient reduce-scatter instead of the all-reduce
    int json;              // print only the JSON lines
} BenchStepOptions;

void bench_step_options_default(BenchStepOptions *o);
extern const Flag BENCH_STEP_FLAGS[]; // bench/bench_flags.c
int bench_step_run(const BenchStepOptions *o);
