// ppl.c: see ppl.h.
#include "ppl.h"

#include <math.h>
#include <stdlib.h>

#include "../base/check.h"
#include "../base/progress.h"
#include "../dist/dist.h"
#include "../dist/dist_records.h"

EvalResult eval_loader(Model *m, Loader *l, int B, int T, int max_batches) {
    uint64_t cursor, epoch;
    loader_get_state(l, &cursor, &epoch);
    loader_set_state(l, 0, 0);
    uint64_t batches = loader_batches_per_epoch(l);
    if (max_batches > 0 && (uint64_t)max_batches < batches) batches = (uint64_t)max_batches;
    int *inputs = xmalloc((size_t)B * T * sizeof(int)), *targets = xmalloc((size_t)B * T * sizeof(int));
    double sum = 0;
    uint64_t count = 0;
    Progress prog;
    int lead = comm_rank() == 0;
    if (lead) progress_start(&prog, "eval ppl", (int64_t)batches);
    for (uint64_t i = 0; i < batches; i++) {
        loader_next(l, inputs, targets); // every rank reads every batch: the loader's order
        if (!dist_records_mine((int64_t)i)) continue;
        float loss = model_forward(m, inputs, targets, B, T);
        sum += (double)loss * B * T;
        count += (uint64_t)B * T;
        if (lead) progress_update(&prog, (int64_t)i + 1, NULL);
    }
    if (lead) progress_finish(&prog, NULL);
    free(inputs);
    free(targets);
    loader_set_state(l, cursor, epoch);
    double totals[2] = {sum, (double)count};
    dist_sum(totals, 2);
    EvalResult r = {0, 0, (uint64_t)totals[1]};
    r.loss = totals[1] > 0 ? totals[0] / totals[1] : 0;
    r.ppl = exp(r.loss);
    return r;
}

EvalResult eval_tokens(Model *m, const int *ids, int64_t n) {
    EvalResult r = {0, 0, 0};
    if (n < 2) fail("a tokens file needs at least 2 ids to score one prediction (got %lld)", (long long)n);
    int window = m->config.max_seq;
    double totals[2] = {0, 0}; // loss sum, tokens
    for (int64_t start = 0, k = 0; start + 1 < n; start += window, k++) {
        int T = (int)((n - 1 - start) < window ? (n - 1 - start) : window);
        if (!dist_records_mine(k)) continue;
        float loss = model_forward(m, ids + start, ids + start + 1, 1, T);
        totals[0] += (double)loss * T;
        totals[1] += T;
    }
    dist_sum(totals, 2);
    r.tokens = (uint64_t)totals[1];
    r.loss = totals[0] / totals[1];
    r.ppl = exp(r.loss);
    return r;
}
