// dpo_eval.c: see dpo_eval.h.
#include "dpo_eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../dist/dist.h"
#include "../dist/dist_records.h"
#include "../model/dpo_loss.h"
#include "../model/pair_logps.h"
#include "eval_report.h"

void dpo_eval_options_default(DpoEvalOptions *o) {
    memset(o, 0, sizeof *o);
    o->device = "auto";
    o->beta = 0.1f;
    o->batch = 4, o->max_len = 512;
}

json_t *dpo_eval(const DpoEvalOptions *opts) {
    DpoEvalOptions o = *opts;
    DpoLoss loss = {DPO_SIGMOID, o.beta, 0.0};
    if (!o.ref_dir) fail("a reference model is required: the margins are measured against it");
    Backend *backend = dist_backend_select(o.device, o.threads); // a rank's share of the cores, its own GPU
    int n_pairs, max_T;
    Pair *pairs = pairs_load(o.pairs, o.model_dir, o.chat_template, o.max_len, &n_pairs, &max_T);
    PairScratch s = pair_scratch_build(o.batch, max_T);
    // under mpirun slice q (pairs [q batch, (q + 1) batch)) is rank q % world's; the sums are added up
    int n_slices = (n_pairs + o.batch - 1) / o.batch;
    char *owned = xmalloc((size_t)n_slices);
    for (int q = 0; q < n_slices; q++) owned[q] = (char)dist_records_mine(q);
    double *ref = xcalloc(2 * (size_t)n_pairs, sizeof(double)), *pol = xcalloc(2 * (size_t)n_pairs, sizeof(double));
    pairs_logps(o.ref_dir, backend, pairs, n_pairs, o.batch, max_T, &s, ref, owned);
    pairs_logps(o.model_dir, backend, pairs, n_pairs, o.batch, max_T, &s, pol, owned);
    double sums[6] = {0, 0, 0, 0, 0, 0}; // accuracy, margin, loss, rewards chosen, rewards rejected, logp accuracy
    for (int i = 0; i < n_pairs; i++) {
        if (!owned[i / o.batch]) continue;
        double dc, dr, reward_c = (double)o.beta * (pol[2 * i] - ref[2 * i]),
                       reward_r = (double)o.beta * (pol[2 * i + 1] - ref[2 * i + 1]);
        sums[2] += dpo_pair_loss(&loss, pol[2 * i], pol[2 * i + 1], ref[2 * i], ref[2 * i + 1], &dc, &dr);
        sums[0] += reward_c > reward_r;
        sums[1] += reward_c - reward_r;
        sums[3] += reward_c, sums[4] += reward_r;
        sums[5] += pol[2 * i] > pol[2 * i + 1]; // the model alone prefers the chosen answer
    }
    dist_sum(sums, 6);
    double n = n_pairs;
    for (int k = 0; k < 6; k++)
        if (!isfinite(sums[k]))
            fail("eval pairs: %s or %s gives log-probabilities that are not finite numbers (NaN or infinity) on %s: "
                 "its weights or activations overflow; nothing is reported",
                 o.model_dir, o.ref_dir ? o.ref_dir : o.model_dir, o.pairs);
    json_t *res = json_pack("{s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "pairs", n_pairs, "accuracy", sums[0] / n,
                            "margin", sums[1] / n, "rewards_chosen", sums[3] / n, "rewards_rejected", sums[4] / n,
                            "loss", sums[2] / n, "logp_accuracy", sums[5] / n, "beta", (double)o.beta);
    free(ref), free(pol), free(owned);
    pair_scratch_free(&s);
    pairs_free(pairs, n_pairs);
    return res;
}

int eval_pairs_run(const DpoEvalOptions *o) {
    json_t *res = dpo_eval(o);
    char title[512];
    snprintf(title, sizeof title, "Preference accuracy of %s against %s on %s", o->model_dir, o->ref_dir, o->pairs);
    if (comm_rank() == 0) eval_report(res, title, o->json, o->out, o->markdown);
    json_decref(res);
    return 0;
}
