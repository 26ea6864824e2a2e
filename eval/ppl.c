// ppl.c: see ppl.h.
#include "ppl.h"

#include <math.h>
#include <stdlib.h>

#include "../kernels/check.h"

EvalResult eval_loader(Model *m, Loader *l, int B, int T, int max_batches) {
    uint64_t cursor, epoch;
    loader_get_state(l, &cursor, &epoch);
    loader_set_state(l, 0, 0);
    uint64_t batches = loader_batches_per_epoch(l);
    if (max_batches > 0 && (uint64_t)max_batches < batches) batches = (uint64_t)max_batches;
    int *inputs = xmalloc((size_t)B * T * sizeof(int)), *targets = xmalloc((size_t)B * T * sizeof(int));
    double sum = 0;
    uint64_t count = 0;
    for (uint64_t i = 0; i < batches; i++) {
        loader_next(l, inputs, targets);
        float loss = model_forward(m, inputs, targets, B, T);
        sum += (double)loss * B * T;
        count += (uint64_t)B * T;
    }
    free(inputs);
    free(targets);
    loader_set_state(l, cursor, epoch);
    EvalResult r = {0, 0, count};
    r.loss = count ? sum / count : 0;
    r.ppl = exp(r.loss);
    return r;
}

EvalResult eval_tokens(Model *m, const int *ids, int64_t n) {
    EvalResult r = {0, 0, 0};
    if (n < 2) fail("a tokens file needs at least 2 ids to score one prediction (got %lld)", (long long)n);
    int window = m->config.max_seq;
    double sum = 0;
    for (int64_t start = 0; start + 1 < n; start += window) {
        int T = (int)((n - 1 - start) < window ? (n - 1 - start) : window);
        float loss = model_forward(m, ids + start, ids + start + 1, 1, T);
        sum += (double)loss * T;
        r.tokens += (uint64_t)T;
    }
    r.loss = sum / (double)r.tokens;
    r.ppl = exp(r.loss);
    return r;
}
