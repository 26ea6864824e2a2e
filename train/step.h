// step.h: the skeleton of an optimizer step that strap train, strap sft and strap dpo share.
// Each trainer keeps its own data and loss: it zeroes the gradients, runs its forward and
// backward passes (arming the bucket overlap before the last backward), then
//
//   StepDone d = step_finish(&run, step, loss);   // reduce, clip, lr, optimizer step, sync,
//                                                 // stop on a non-finite loss or norm
//   step_log(&run, step, metrics_line, extra);    // rank 0: metrics.jsonl line and progress
//   int status = step_checkpoint(&run, step, save, ctx); // save and stop when it is time
//
// The run directory: step_run_dir checks whether OUT holds a checkpoint (continued only with
// resume; every rank must see the same), step_run_open makes OUT, copies the model's files to
// a new run and opens metrics.jsonl cut back to the step the run continues from.
#pragma once
#include <stdio.h>

#include "../base/progress.h"
#include "dist_opt.h"
#include "schedule.h"

typedef struct {
    const char *what;         // "train", "sft", "dpo": messages and the progress label
    const char *out;          // the run directory
    const char *diverge_hint; // what to change when the run diverges, e.g. "lower --lr"
    Backend *backend;
    DistOpt *opt;
    LrSchedule sched;
    float grad_clip; // <= 0: no clipping
    int total;       // the run's last step
    int start_step;  // the step this invocation started from
    int save_every;  // a checkpoint every N steps (0: at the end only)
    int stop_after;  // > 0: checkpoint and stop after N steps of this invocation
    int progress;    // rank 0 shows a progress bar (strap train prints a line per step)
    // set by step_run_open (rank 0)
    FILE *metrics;
    char *metrics_path;
    Progress prog;
    int finished; // the progress bar is done
} StepRun;

typedef struct {
    float norm, lr; // the gradient norm before clipping; the step's learning rate
} StepDone;

// Whether OUT holds a checkpoint (OUT/optimizer.safetensors): fails when it does and
// !resume ("OUT already holds <a_checkpoint>; pass --resume ...") or when the ranks disagree.
int step_run_dir(const char *out, int resume, const char *a_checkpoint);
// Rank 0, resuming: warns when the checkpoint's run used other threads, another per-rank
// batch or another number of ranks (the results stay correct but no longer bit-identical).
void step_warn_if_layout_changed(int threads, int batch, int world, int threads_now, int batch_now);
// Rank 0: makes OUT, removes stale temporary files, copies the model's tokenizer and
// generation files to a new run (!resuming), cuts metrics.jsonl back to `step` and opens it
// for appending; starts the progress bar when r->progress. Every rank: installs the stop
// signals and records `step` as the start.
void step_run_open(StepRun *r, const char *model_dir, int resuming, int step);
StepDone step_finish(StepRun *r, int step, double loss);
// Rank 0: appends `line` (one JSON object, newline included) to metrics.jsonl, flushed, and
// moves the progress bar with `extra`.
void step_log(StepRun *r, int step, const char *line, const char *extra);
// Saves (save(ctx, step, stopping), collective) at the last step, every save_every steps
// and when the run stops; returns the exit status when it stops (ckpt_stopped), -1 to go on.
int step_checkpoint(StepRun *r, int step, void (*save)(void *ctx, int step, int stopping), void *ctx);
// Rank 0 finishes the progress bar when the run reached its end; closes the metrics file
// (metrics_path stays for the summary line until step_run_free).
void step_run_close(StepRun *r, int step);
void step_run_free(StepRun *r);
