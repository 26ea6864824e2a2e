// dpo.h: Direct Preference Optimization on (prompt, chosen, rejected) records.
//
// Each pair becomes two sequences, [chat prompt | answer + end-of-turn], truncated to
// max_len; only answer tokens count (prompt and template tokens get weight 0). The
// reference model's sequence log-probabilities are computed once, before training, so a
// DPO step costs one policy forward and backward on both sequences.
#pragma once

#include "dpo_loss.h"

typedef struct {
    const char *model_dir; // the policy's starting point
    const char *ref_dir;   // the frozen reference (default: model_dir)
    const char *pairs;     // .jsonl(.zst) with prompt, chosen, rejected
    const char *out;
    const char *device;
    const char *chat_template; // NULL: from the model's files
    DpoLoss loss;
    int batch;   // pairs per step
    int epochs;
    int max_len; // tokens per sequence
    float lr, weight_decay, grad_clip;
    int warmup;
    int seed, threads;
} DpoOptions;

void dpo_options_default(DpoOptions *o);
// Trains and writes OUT (checkpoint, metrics.jsonl with loss, rewards, accuracy, margin per
// step). Returns the process exit status.
int dpo_run(const DpoOptions *o);
// strap eval pairs: preference accuracy (the implicit reward of the chosen answer above the
// rejected one), mean reward margin and loss of model_dir against ref_dir on the pairs; also
// the share of pairs where the model alone gives the chosen answer the higher log-prob.
int dpo_eval(const DpoOptions *o, int json);
