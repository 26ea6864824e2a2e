// dpo.c: see dpo.h.
#include "dpo.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/progress.h"
#include "../dist/dist_records.h"
#include "../model/llama.h"
#include "../model/pair_logps.h"
#include "adamw.h"
#include "ckpt.h"
#include "dist_opt.h"
#include "step.h"

void dpo_options_default(DpoOptions *o) {
    memset(o, 0, sizeof *o);
    o->device = "auto";
    o->loss = DPO_SIGMOID;
    o->beta = 0.1f;
    o->batch = 4;
    o->grad_accum = 1;
    o->epochs = 1;
    o->max_len = 512;
    o->lr = 5e-6f;
    o->weight_decay = 0.0f;
    o->grad_clip = 1.0f;
    o->warmup = 0;
    o->seed = 1;
}

// ---- training ----

static const char *dpo_loss_name(DpoLossType t) { return DPO_LOSS_NAMES[t]; }

// The run's identity, checked on resume, and where it stands (in optimizer.safetensors).
static char *dpo_state_json(const DpoOptions *o, int n_pairs, int step, int total) {
    json_t *j =
        json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:f, s:f, s:f, s:i, s:i}", "step", step, "steps", total,
                  "pairs", n_pairs, "batch", o->batch, "grad_accum", o->grad_accum, "world", comm_world(), "epochs",
                  o->epochs, "loss_type", dpo_loss_name(o->loss), "beta", (double)o->beta, "label_smoothing",
                  (double)o->label_smoothing, "lr", (double)o->lr, "max_len", o->max_len, "threads", o->threads);
    CHECK(j != NULL, "json_pack failed");
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(j);
    return text;
}

// Checks that a checkpoint's run is this run; returns its step.
static int dpo_state_check(const char *text, const char *path, const DpoOptions *o, int n_pairs) {
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    if (!j) fail("%s: trainer_state is not valid JSON: %s", path, err.text);
    int step = 0, pairs = 0, batch = 0, accum = 0, world = 0, epochs = 0, max_len = 0, threads = 0;
    const char *loss = NULL;
    double beta = 0;
    if (json_unpack_ex(j, &err, 0, "{s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:F, s:i, s:i}", "step", &step, "pairs", &pairs,
                       "batch", &batch, "grad_accum", &accum, "world", &world, "epochs", &epochs, "loss_type", &loss,
                       "beta", &beta, "max_len", &max_len, "threads", &threads) != 0)
        fail("%s: trainer_state: %s (was it written by strap dpo?)", path, err.text);
    long long global = (long long)batch * accum * world, now = (long long)o->batch * o->grad_accum * comm_world();
    if (pairs != n_pairs || global != now || epochs != o->epochs || max_len != o->max_len ||
        strcmp(loss, dpo_loss_name(o->loss)) != 0 || fabs(beta - (double)o->beta) > 1e-12 * fabs(beta))
        fail("%s: the run was made on %d pairs with a global batch of %lld pairs (batch %d x gradient accumulation %d "
             "x %d rank(s)), %d epoch(s), a maximum length of %d tokens, the %s loss and beta %g; resume it with the "
             "same values (got %d pairs, %lld, %d, %d, %s, %g)",
             path, pairs, global, batch, accum, world, epochs, max_len, loss, beta, n_pairs, now, o->epochs, o->max_len,
             dpo_loss_name(o->loss), (double)o->beta);
    step_warn_if_layout_changed(threads, batch, world, o->threads, o->batch);
    json_decref(j);
    return step;
}

// Collective: the checkpoint (ckpt.h), the same state in both JSON places.
static void dpo_save(const DpoOptions *o, Model *m, DistOpt *opt, int n_pairs, int step, int total) {
    char *state = dpo_state_json(o, n_pairs, step, total);
    ckpt_save(o->out, m, opt, state, NULL, 0);
    free(state);
}

typedef struct { // what dpo_save needs
    const DpoOptions *o;
    Model *m;
    DistOpt *opt;
    int n_pairs, total;
} SaveCtx;

static void save_step(void *ctx, int step, int stopping) {
    (void)stopping;
    SaveCtx *c = ctx;
    dpo_save(c->o, c->m, c->opt, c->n_pairs, step, c->total);
}

// Forward and backward of this rank's slices of the step's pairs [first, first + n_step);
// sums[7] gets (every rank's) loss, accuracy, reward chosen, reward rejected, logp chosen,
// logp rejected, tokens.
static void dpo_step_passes(const DpoOptions *o, Model *m, DistOpt *opt, Pair *pairs, PairScratch *s, int first,
                            int n_step, double sums[7]) {
    int rank = comm_rank(), world = comm_world();
    for (int k = 0; k < 7; k++) sums[k] = 0;
    model_zero_grads(m);
    for (int micro = 0; micro < o->grad_accum; micro++) {
        int b0 = first + (micro * world + rank) * o->batch;
        int nb = first + n_step - b0 < o->batch ? first + n_step - b0 : o->batch;
        if (nb <= 0) continue; // a short last step: nothing left for this slice
        for (int i = 0; i < nb; i++)
            s->seqs[2 * i] = &pairs[b0 + i].chosen, s->seqs[2 * i + 1] = &pairs[b0 + i].rejected;
        int T = seqs_max_len(s->seqs, 2 * nb);
        seqs_forward_logps(m, s->seqs, 2 * nb, T, s->tokens, s->targets, s->logp);
        const double *logp = s->logp;
        DpoLoss loss = {o->loss, o->beta, o->label_smoothing};
        for (int i = 0; i < nb; i++) {
            const Pair *p = &pairs[b0 + i];
            double dc, dr;
            sums[0] += dpo_pair_loss(&loss, logp[2 * i], logp[2 * i + 1], p->ref_chosen, p->ref_rejected, &dc, &dr);
            double reward_c = (double)o->beta * (logp[2 * i] - p->ref_chosen),
                   reward_r = (double)o->beta * (logp[2 * i + 1] - p->ref_rejected);
            sums[2] += reward_c, sums[3] += reward_r, sums[1] += reward_c > reward_r;
            sums[4] += logp[2 * i], sums[5] += logp[2 * i + 1];
            sums[6] += p->chosen.len + p->rejected.len;
            // d(mean loss over the step's pairs)/d(token loss) = -(d loss / d logp) / n_step:
            // a token loss is -log p
            for (int t = 0; t < T; t++) {
                s->weights[(2 * i) * T + t] = s->targets[(2 * i) * T + t] >= 0 ? (float)(-dc / n_step) : 0.0f;
                s->weights[(2 * i + 1) * T + t] = s->targets[(2 * i + 1) * T + t] >= 0 ? (float)(-dr / n_step) : 0.0f;
            }
        }
        if (micro == o->grad_accum - 1) dist_overlap_arm(opt); // reduce buckets during this backward
        model_backward_weighted(m, s->weights);
    }
    dist_sum(sums, 7);
}

int dpo_run(const DpoOptions *opts) {
    DpoOptions o = *opts;
    if (!o.ref_dir) o.ref_dir = o.model_dir;
    if (o.batch < 1 || o.epochs < 1 || o.max_len < 2 || o.grad_accum < 1)
        fail("the batch, gradient accumulation and epochs must be positive and the maximum length at least 2 "
             "(got %d, %d, %d, %d)",
             o.batch, o.grad_accum, o.epochs, o.max_len);
    if (o.zero != 0 && o.zero != 1) fail("ZeRO stage %d: only stage 1 is implemented (choose stage 0 or 1)", o.zero);
    int rank = comm_rank(), world = comm_world(), lead = rank == 0;
    Backend *backend = dist_backend_select(o.device, o.threads);
    int n_pairs, max_T;
    Pair *pairs = pairs_load(o.pairs, o.model_dir, o.chat_template, o.max_len, &n_pairs, &max_T); // 1. pairs
    PairScratch s = pair_scratch_build(o.batch, max_T);
    // the run directory: a checkpoint there is continued with --resume, never overwritten
    int resuming = step_run_dir(o.out, o.resume, "a DPO checkpoint");

    // slices of `batch` pairs: slice q is at index q % (accum x world) of its step, and that
    // index modulo world is the rank that computes it
    int per_step = o.grad_accum * world, n_slices = (n_pairs + o.batch - 1) / o.batch;
    char *owned = xmalloc((size_t)n_slices);
    for (int q = 0; q < n_slices; q++) owned[q] = (q % per_step) % world == rank;

    // 2. reference log-probabilities, once, of this rank's pairs
    double *ref = xcalloc(2 * (size_t)n_pairs, sizeof(double));
    pairs_logps(o.ref_dir, backend, pairs, n_pairs, o.batch, max_T, &s, ref, owned);
    for (int i = 0; i < n_pairs; i++) pairs[i].ref_chosen = ref[2 * i], pairs[i].ref_rejected = ref[2 * i + 1];
    free(ref);
    free(owned);

    // 3. training
    Model m;
    LlamaConfig config;
    config_read(&config, o.model_dir);
    DistOpt opt;
    ckpt_start_from(&m, &config, backend, o.model_dir, resuming, &opt, o.weight_decay, o.zero);
    int global = o.batch * per_step; // pairs per step
    int steps_per_epoch = (n_pairs + global - 1) / global, total = steps_per_epoch * o.epochs;
    int step = 0;
    if (resuming) {
        char *opt_path = path_join(o.out, "optimizer.safetensors"), *state = dist_opt_load(&opt, opt_path);
        step = dpo_state_check(state, opt_path, &o, n_pairs);
        if (opt.opt.step != step)
            fail("%s: optimizer step %d and trainer_state step %d disagree", opt_path, opt.opt.step, step);
        free(state), free(opt_path);
        if (step >= total) {
            if (lead) printf("dpo run in %s is already at step %d of %d; nothing to do\n", o.out, step, total);
            dist_opt_free(&opt), model_free(&m), pair_scratch_free(&s), pairs_free(pairs, n_pairs);
            return 0;
        }
        if (lead) printf("resuming %s at step %d of %d\n", o.out, step, total);
    }
    StepRun run = {.what = "dpo",
                   .out = o.out,
                   .diverge_hint = "lower the learning rate or beta",
                   .backend = backend,
                   .opt = &opt,
                   .sched = {o.lr, 0.0f, o.warmup, total},
                   .grad_clip = o.grad_clip,
                   .total = total,
                   .save_every = o.save_every,
                   .stop_after = o.stop_after,
                   .progress = 1};
    step_run_open(&run, o.model_dir, resuming, step);
    SaveCtx sc = {&o, &m, &opt, n_pairs, total};
    int exit_status = -1;
    while (step < total && exit_status < 0) {
        int epoch = step / steps_per_epoch, first = (step % steps_per_epoch) * global;
        int n_step = n_pairs - first < global ? n_pairs - first : global; // pairs in this step
        double t0 = now_seconds(), sums[7];
        dpo_step_passes(&o, &m, &opt, pairs, &s, first, n_step, sums);
        double loss = sums[0] / n_step, acc = sums[1] / n_step, rc = sums[2] / n_step, rr = sums[3] / n_step;
        StepDone d = step_finish(&run, ++step, loss);
        double tok_s = sums[6] / (now_seconds() - t0);
        // the names of TRL's DPO logs, with '_' for '/': rewards_*, logps_* (mean sequence
        // log-probability of the answers under the policy), tokens (prompt + answer, all ranks)
        char line[512], extra[96];
        snprintf(
            line, sizeof line,
            "{\"step\": %d, \"epoch\": %d, \"loss\": %.6f, \"rewards_chosen\": %.6f, \"rewards_rejected\": %.6f, "
            "\"rewards_margin\": %.6f, \"rewards_accuracy\": %.4f, \"logps_chosen\": %.4f, \"logps_rejected\": %.4f, "
            "\"lr\": %.3e, \"grad_norm\": %.4f, \"tokens\": %.0f, \"tokens_per_s\": %.1f}\n",
            step, epoch, loss, rc, rr, rc - rr, acc, sums[4] / n_step, sums[5] / n_step, d.lr, d.norm, sums[6], tok_s);
        snprintf(extra, sizeof extra, "loss %.4f acc %.2f margin %.3f %.0f tok/s", loss, acc, rc - rr, tok_s);
        step_log(&run, step, line, extra);
        exit_status = step_checkpoint(&run, step, save_step, &sc);
    }
    step_run_close(&run, step);
    if (exit_status < 0) exit_status = 0;
    if (lead && !exit_status && step == total)
        printf("dpo: %d pairs, %d steps, checkpoint in %s, metrics in %s\n", n_pairs, step, o.out, run.metrics_path);
    step_run_free(&run);
    pairs_free(pairs, n_pairs);
    pair_scratch_free(&s);
    dist_opt_free(&opt);
    model_free(&m);
    return exit_status;
}
