// trainer.h: pretraining / SFT on token shards: AdamW, warmup + cosine schedule, global
// norm clipping, gradient accumulation, periodic evaluation, checkpoints that resume
// bit-identically, and clean exits on SIGINT / SIGTERM. Under mpirun / srun, data parallel
// over the ranks (train/dist_opt.h): --batch is per rank, the global batch of a step is
// batch x grad_accum x world sequences, read in the same order at any world size.
#pragma once
#include "../base/flags.h"

typedef struct {
    const char *model_dir; // initial checkpoint (config.json + model.safetensors)
    const char *data;      // directory of .tok.zst shards or a quoted glob
    const char *out;       // output directory: latest checkpoint + metrics.jsonl
    const char *eval_data; // optional held-out shards
    const char *device;    // auto | cpu | cuda
    int steps;             // total optimizer steps of the run
    int batch, seq, grad_accum;
    float lr, min_lr, weight_decay, grad_clip, beta1, beta2, eps;
    int warmup;
    int save_every, eval_every, eval_batches;
    int resume;
    int seed;
    int threads;
    int save_bf16;  // write model.safetensors as BF16 (optimizer state stays F32)
    int stop_after; // > 0: checkpoint and stop after this many steps of this invocation
    int zero;       // 1: ZeRO-1 (optimizer state sharded over the ranks)
} TrainOptions;

void train_options_default(TrainOptions *o);
extern const Flag TRAIN_FLAGS[]; // strap train (train/train_flags.c)
// Runs training; returns the process exit status (0, or 128+signal after a clean stop).
int train_run(const TrainOptions *o);
