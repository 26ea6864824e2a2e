// ckpt.h: what the resumable training commands (strap train, strap sft, strap dpo) share
// around their checkpoint directory: writing a checkpoint, the stop signals, metrics.jsonl on
// resume, the files a checkpoint copies from the model it started from.
#pragma once
#include "../model/llama.h"
#include "dist_opt.h"

// Collective (every rank calls it: a sharded optimizer state is gathered); rank 0 writes
// into out_dir, each file atomically:
//   1. optimizer.safetensors, with `resume_state` (JSON) in its metadata: it alone holds
//      everything a resume needs, so it goes first and a crash between the files below
//      leaves a resumable directory;
//   2. model.safetensors from the fp32 master weights (bf16 when save_bf16) + config.json;
//   3. trainer_state.json: `final_state` (JSON; NULL: resume_state).
void ckpt_save(const char *out_dir, Model *m, DistOpt *opt, const char *resume_state, const char *final_state,
               int save_bf16);

// A model to fine-tune (strap sft, strap dpo): built on `backend` with `config`, holding the
// weights of model_dir (unless resuming: dist_opt_load then brings the checkpoint's), with
// gradients, and `opt`, its AdamW (beta 0.9, 0.999, eps 1e-8) over the ranks (zero: ZeRO-1).
void ckpt_start_from(Model *m, const LlamaConfig *config, Backend *backend, const char *model_dir, int resuming,
                     DistOpt *opt, float weight_decay, int zero);

// Collective, after `step` of `total` (this invocation started at start_step): 0 to go on,
// or why every rank stops now: the signal any rank received (SIGINT, SIGTERM), or
// CKPT_STOP_AFTER once --stop-after N steps are done short of the last step.
#define CKPT_STOP_AFTER (-1)
int ckpt_stop_reason(int step, int start_step, int total, int stop_after);
// Rank 0 says how the run stopped, that the checkpoint in `out` holds it and how to go on;
// returns the exit status: 128 + the signal, 0 for --stop-after.
int ckpt_stopped(int reason, int step, int stop_after, const char *out);

// Ends a run whose loss or gradient norm is not finite at `step` (`first_step`: the first
// step of this invocation), saying what is to blame (at the first step, before any update:
// the starting model or the data, not the learning rate; later: `hint`, e.g. "lower --lr")
// and whether `out` holds a checkpoint to go back to. `what` names the command ("sft").
void ckpt_diverged(const char *what, int step, int first_step, double loss, double norm, const char *out,
                   const char *hint) __attribute__((noreturn));

// The first SIGINT/SIGTERM only records the signal (the loop saves a checkpoint and exits
// with 128+signal); a second one ends the process at once.
void stop_signals_install(void);
// The signal received so far (0: none).
int stop_signal_received(void);

// Keeps only the lines of PATH (JSON lines with a "step") with step <= last_step; a resumed
// run re-does the later steps. Atomic; no-op when PATH does not exist.
void metrics_truncate(const char *path, int last_step);

// Copies tokenizer.json, tokenizer_config.json and generation_config.json (those present)
// from `from_dir` to `to_dir`, atomically.
void copy_model_files(const char *from_dir, const char *to_dir);
