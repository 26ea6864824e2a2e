// sample.c: see sample.h.
#include "sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sample_options_default(SampleOptions *o) {
    o->temperature = 0.7f;
    o->top_k = 0;
    o->top_p = 0.9f;
    o->min_p = 0.0f;
    o->repetition_penalty = 1.0f;
}

size_t sample_scratch_bytes(int V) { return (size_t)V * (sizeof(int) + sizeof(float)); }

static const float *sort_keys;
static int by_logit_desc(const void *a, const void *b) {
    float x = sort_keys[*(const int *)a], y = sort_keys[*(const int *)b];
    if (x != y) return x > y ? -1 : 1;
    return *(const int *)a - *(const int *)b; // ties: the smaller id first (deterministic)
}

int sample_token(float *logits, int V, const SampleOptions *o, const int *history, int n_history, Rng *rng,
                 void *scratch) {
    if (o->repetition_penalty != 1.0f) // each distinct earlier token once
        for (int i = 0; i < n_history; i++) {
            int t = history[i], seen = 0;
            for (int j = 0; j < i && !seen; j++) seen = history[j] == t;
            if (t < 0 || t >= V || seen) continue;
            logits[t] = logits[t] > 0 ? logits[t] / o->repetition_penalty : logits[t] * o->repetition_penalty;
        }
    if (o->temperature <= 0 || o->top_k == 1) {
        int best = 0;
        for (int v = 1; v < V; v++)
            if (logits[v] > logits[best]) best = v;
        return best;
    }
    int *idx = scratch;
    float *p = (float *)(idx + V);
    for (int v = 0; v < V; v++) idx[v] = v;
    sort_keys = logits;
    qsort(idx, (size_t)V, sizeof(int), by_logit_desc);
    int n = o->top_k > 0 && o->top_k < V ? o->top_k : V;
    double sum = 0;
    float mx = logits[idx[0]];
    for (int i = 0; i < n; i++) {
        p[i] = expf((logits[idx[i]] - mx) / o->temperature);
        sum += p[i];
    }
    int keep = n;
    if (o->min_p > 0) { // relative to the most likely token (p[0] = 1 before normalising)
        for (int i = 1; i < n; i++)
            if (p[i] < o->min_p) {
                keep = i;
                break;
            }
    }
    if (o->top_p < 1.0f) { // the smallest prefix whose mass reaches top_p
        double acc = 0;
        for (int i = 0; i < keep; i++) {
            acc += p[i] / sum;
            if (acc >= o->top_p) {
                keep = i + 1;
                break;
            }
        }
    }
    double total = 0;
    for (int i = 0; i < keep; i++) total += p[i];
    double r = rng_uniform(rng) * total, acc = 0;
    for (int i = 0; i < keep; i++) {
        acc += p[i];
        if (r < acc) return idx[i];
    }
    return idx[keep - 1];
}
