// step.c: see step.h.
#include "step.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "ckpt.h"

int step_run_dir(const char *out, int resume, const char *a_checkpoint) {
    char *opt_path = path_join(out, "optimizer.safetensors");
    int resuming = path_exists(opt_path);
    free(opt_path);
    if (resuming && !resume)
        fail("%s already holds %s: resume that run, or choose another output directory", out, a_checkpoint);
    if (dist_any(resuming) != resuming)
        fail("rank %d %s %s but another rank does not: the output directory must be on a filesystem "
             "every rank sees",
             comm_rank(), resuming ? "finds a checkpoint in" : "finds no checkpoint in", out);
    return resuming;
}

void step_warn_if_layout_changed(int threads, int batch, int world, int threads_now, int batch_now) {
    if (comm_rank() == 0 && (threads != threads_now || batch != batch_now || world != comm_world()))
        fprintf(stderr,
                "strap: warning: the run used %d thread(s) and batch %d on %d rank(s), now %d and %d on %d: "
                "results stay correct but are no longer bit-identical to an uninterrupted run\n",
                threads, batch, world, threads_now, batch_now, comm_world());
}

void step_run_open(StepRun *r, const char *model_dir, int resuming, int step) {
    r->start_step = step;
    r->metrics = NULL, r->finished = 0;
    r->metrics_path = path_join(r->out, "metrics.jsonl");
    if (comm_rank() == 0) {
        make_dirs(r->out);
        remove_stale_temps(r->out);
        if (!resuming) copy_model_files(model_dir, r->out);
        metrics_truncate(r->metrics_path, step);
        r->metrics = fopen(r->metrics_path, "a");
        if (!r->metrics) fail("cannot write %s: %s", r->metrics_path, strerror(errno));
        if (r->progress) progress_start(&r->prog, r->what, r->total);
    }
    stop_signals_install();
}

StepDone step_finish(StepRun *r, int step, double loss) {
    StepDone d;
    d.norm = dist_reduce_grads(r->opt);
    float clip = (r->grad_clip > 0 && d.norm > r->grad_clip) ? r->grad_clip / d.norm : 1.0f;
    d.lr = lr_at(&r->sched, step);
    dist_opt_step(r->opt, d.lr, clip);
    r->backend->synchronize();
    if (!isfinite(loss) || !isfinite(d.norm))
        ckpt_diverged(r->what, step, r->start_step + 1, loss, d.norm, r->out, r->diverge_hint);
    return d;
}

void step_log(StepRun *r, int step, const char *line, const char *extra) {
    if (comm_rank() != 0) return;
    fputs(line, r->metrics);
    fflush(r->metrics);
    if (r->progress) progress_update(&r->prog, step, extra);
}

int step_checkpoint(StepRun *r, int step, void (*save)(void *ctx, int step, int stopping), void *ctx) {
    int stop = ckpt_stop_reason(step, r->start_step, r->total, r->stop_after);
    if (step == r->total || stop || (r->save_every > 0 && step % r->save_every == 0)) save(ctx, step, stop != 0);
    if (!stop) return -1;
    if (comm_rank() == 0 && r->progress) progress_finish(&r->prog, NULL), r->finished = 1;
    return ckpt_stopped(stop, step, r->stop_after, r->out);
}

void step_run_close(StepRun *r, int step) {
    if (comm_rank() == 0 && r->progress && step == r->total && !r->finished) progress_finish(&r->prog, NULL);
    if (r->metrics) fclose(r->metrics);
    r->metrics = NULL;
}

void step_run_free(StepRun *r) {
    free(r->metrics_path);
    r->metrics_path = NULL;
}
