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
    o->no_repeat_ngram = 0;
}

int sample_ban_repeated_ngrams(float *logits, int V, int n, const int *tokens, int n_tokens) {
    if (n < 1 || n_tokens < n - 1) return 0;
    const int *tail = tokens + n_tokens - (n - 1); // the n-1 tokens the next one would follow
    int banned = 0;
    for (int i = 0; i + n - 1 < n_tokens; i++) { // tokens[i .. i+n-1] is an earlier n-gram
        if (memcmp(tokens + i, tail, (size_t)(n - 1) * sizeof(int)) != 0) continue;
        int t = tokens[i + n - 1];
        if (t >= 0 && t < V && logits[t] != -INFINITY) logits[t] = -INFINITY, banned++;
    }
    return banned;
}

size_t sample_scratch_bytes(int V) { return (size_t)V * (sizeof(int) + sizeof(float)); }

static int by_logit_desc(const void *a, const void *b, void *keys) {
    const float *l = keys;
    float x = l[*(const int *)a], y = l[*(const int *)b];
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
    const float T = o->temperature;
    int top_k = o->top_k > 0 && o->top_k < V ? o->top_k : 0;
    int use_p = o->top_p<1.0f, use_min_p = o->min_p> 0;
    float mx = logits[0];
    for (int v = 1; v < V; v++) mx = logits[v] > mx ? logits[v] : mx;
    double sum_all = 0;
    for (int v = 0; v < V; v++) sum_all += expf((logits[v] - mx) / T);
    if (!top_k && !use_p && !use_min_p) { // the whole distribution: no order needed
        double r = rng_uniform(rng) * sum_all, acc = 0;
        for (int v = 0; v < V; v++) {
            acc += expf((logits[v] - mx) / T);
            if (r < acc) return v;
        }
        return V - 1;
    }
    // Only the head of the distribution needs sorting (a full sort of SmolLM2's 49152 logits
    // took longer than the decode step itself): the candidates within `gap` nats (after
    // temperature) of the best, widened until they hold every token a cut can keep: at least
    // top_k of them, or all tokens above the min_p threshold, or the top_p mass.
    int *idx = scratch;
    float *p = (float *)(idx + V);
    int n_c = V;
    for (float gap = 8; gap < 200; gap *= 2) {
        float tau = mx - gap * T;
        double mass = 0;
        int n = 0;
        for (int v = 0; v < V; v++)
            if (logits[v] >= tau) idx[n++] = v, mass += expf((logits[v] - mx) / T);
        int enough = (top_k && n >= top_k) || (use_min_p && gap >= -logf(o->min_p)) ||
                     (use_p && !top_k && mass >= (double)o->top_p * sum_all * (1 + 1e-6));
        if (enough) {
            n_c = n;
            break;
        }
    }
    if (n_c == V)
        for (int v = 0; v < V; v++) idx[v] = v;
    qsort_r(idx, (size_t)n_c, sizeof(int), by_logit_desc, logits);
    int n = top_k && top_k < n_c ? top_k : n_c;
    double sum = top_k ? 0 : sum_all; // top_p is relative to the mass the top_k cut keeps
    for (int i = 0; i < n; i++) {
        p[i] = expf((logits[idx[i]] - mx) / T);
        if (top_k) sum += p[i];
    }
    int keep = n;
    if (use_min_p) { // relative to the most likely token (p[0] = 1 before normalising)
        for (int i = 1; i < n; i++)
            if (p[i] < o->min_p) {
                keep = i;
                break;
            }
    }
    if (use_p) { // the smallest prefix whose mass reaches top_p
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
