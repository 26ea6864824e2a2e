// dpo.h: Direct Preference Optimization on (prompt, chosen, rejected) records.
//
// Each pair becomes two sequences, [chat prompt | answer + end-of-turn], truncated to
// max_len; only answer tokens count (prompt and template tokens get weight 0). The
// reference model's sequence log-probabilities are computed once, before training, so a
// DPO step costs one policy forward and backward on both sequences.
#pragma once

#include <jansson.h>

#include "../base/flags.h"
#include "../model/dpo_loss.h"

typedef struct {
    const char *model_dir; // the policy's starting point
    const char *ref_dir;   // the frozen reference (default: model_dir)
    const char *pairs;     // .jsonl(.zst) with prompt, chosen, rejected
    const char *out;
    const char *device;
    const char *chat_template; // NULL: from the model's files
    DpoLossType loss;          // sigmoid, ipo or robust (model/dpo_loss.h)
    float beta, label_smoothing;
    int batch;      // pairs per micro-batch (per rank)
    int grad_accum; // micro-batches per step: a step takes batch x grad_accum x ranks pairs
    int epochs;
    int max_len; // tokens per sequence
    float lr, weight_decay, grad_clip;
    int warmup;
    int seed, threads;
    int resume;     // continue the run checkpointed in `out`
    int save_every; // checkpoint every N steps (0: only at the end)
    int stop_after; // > 0: checkpoint and stop after this many steps of this invocation
    int zero;       // 1: ZeRO-1 over the ranks
} DpoOptions;

void dpo_options_default(DpoOptions *o);
extern const Flag DPO_FLAGS[]; // strap dpo (train/train_flags.c)
// Trains and writes OUT (checkpoint, metrics.jsonl with loss, rewards, accuracy, margin per
// step). Like strap train: OUT holds the latest complete checkpoint (optimizer.safetensors
// with the run state, model.safetensors, trainer_state.json), SIGINT/SIGTERM and
// --stop-after save and stop, and --resume continues bit-identically. Pairs are taken in
// file order; step s of an epoch takes the pairs [s*G, (s+1)*G) (G = batch x grad_accum x
// ranks, the last step of an epoch may be short), split into slices of `batch` pairs, slice
// k*world + r going to rank r at micro-step k, as train's loader does. Returns the process
// exit status (0, or 128+signal after a clean stop).
int dpo_run(const DpoOptions *o);
