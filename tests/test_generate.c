// test_generate.c: KV-cache decoding against the full forward, greedy generation against a
// cache-free loop, and the sampler's rules.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/rng.h"
#include "../model/generate.h"
#include "../model/llama.h"
#include "../model/sample.h"
#include "test.h"

static void tiny_model(Model *m) {
    LlamaConfig c;
    memset(&c, 0, sizeof c);
    c.vocab_size = 50, c.hidden_size = 32, c.intermediate_size = 48, c.n_layers = 2, c.n_heads = 4, c.n_kv_heads = 2;
    c.head_dim = 8, c.max_seq = 64, c.rope_theta = 10000, c.rms_norm_eps = 1e-5f, c.initializer_range = 0.3f;
    c.bos_token_id = -1;
    model_build(m, &c, backend_cpu(0));
    model_init_weights(m, 5);
}

// logits of the last position of tokens[0..n) by the full forward
static void full_last_logits(Model *m, const int *tokens, int n, float *out) {
    float *all = xmalloc((size_t)n * m->config.vocab_size * sizeof(float));
    model_forward(m, tokens, NULL, 1, n);
    model_logits(m, all);
    memcpy(out, all + (size_t)(n - 1) * m->config.vocab_size, (size_t)m->config.vocab_size * sizeof(float));
    free(all);
}

static double max_scaled_diff(const float *a, const float *b, int n) {
    double worst = 0, scale = 1e-9;
    for (int i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
    for (int i = 0; i < n; i++) worst = fmax(worst, fabs((double)a[i] - b[i]));
    return worst / scale;
}

static void test_decode_matches_full_forward(void) {
    Model m;
    tiny_model(&m);
    int V = m.config.vocab_size;
    Generator g;
    generator_build(&g, &m, 2, 32);
    int seqs[2][20];
    Rng r;
    rng_seed(&r, 9);
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 20; i++) seqs[b][i] = (int)(rng_u64(&r) % V);
    int plen[2] = {5, 9};
    float *ref = xmalloc((size_t)V * sizeof(float));
    double worst = 0;
    for (int b = 0; b < 2; b++) {
        generator_prefill(&g, b, seqs[b], plen[b]);
        full_last_logits(&m, seqs[b], plen[b], ref);
        worst = fmax(worst, max_scaled_diff(g.logits + (size_t)b * V, ref, V));
    }
    for (int step = 0; step < 8; step++) { // both sequences advance together, at different positions
        int tokens[2] = {seqs[0][plen[0] + step], seqs[1][plen[1] + step]};
        int pos[2] = {plen[0] + step, plen[1] + step};
        generator_step(&g, tokens, pos, 2);
        float *got = xmalloc((size_t)2 * V * sizeof(float));
        memcpy(got, g.logits, (size_t)2 * V * sizeof(float));
        for (int b = 0; b < 2; b++) {
            full_last_logits(&m, seqs[b], pos[b] + 1, ref);
            worst = fmax(worst, max_scaled_diff(got + (size_t)b * V, ref, V));
        }
        free(got);
    }
    // fp32 on both paths, different summation orders: a few ulps of the logit scale
    EXPECT(worst < 1e-5, "KV-cache logits differ from the full forward by %.3g (scaled)", worst);
    free(ref);
    generator_free(&g);
    model_free(&m);
}

static void test_greedy_matches_cache_free_loop(void) {
    Model m;
    tiny_model(&m);
    int V = m.config.vocab_size;
    Generator g;
    generator_build(&g, &m, 3, 48);
    int p0[] = {1, 2, 3}, p1[] = {7, 7, 7, 7, 7, 8}, p2[] = {4};
    const int *prompts[] = {p0, p1, p2};
    int lens[] = {3, 6, 1}, n_out[3], *out[3];
    FinishReason fin[3];
    for (int b = 0; b < 3; b++) out[b] = xmalloc(20 * sizeof(int));
    GenerateOptions o = {0};
    sample_options_default(&o.sample);
    o.sample.temperature = 0;
    o.max_new = 20;
    generate(&g, prompts, lens, 3, &o, out, n_out, fin, NULL, NULL);
    float *logits = xmalloc((size_t)V * sizeof(float));
    int bad = 0;
    for (int b = 0; b < 3; b++) {
        int seq[64], n = lens[b];
        memcpy(seq, prompts[b], (size_t)n * sizeof(int));
        EXPECT(n_out[b] == 20 && fin[b] == FINISH_LENGTH, "sequence %d: %d tokens, finish %s", b, n_out[b],
               finish_reason_name(fin[b]));
        for (int i = 0; i < n_out[b]; i++) {
            full_last_logits(&m, seq, n, logits);
            int best = 0;
            for (int v = 1; v < V; v++)
                if (logits[v] > logits[best]) best = v;
            bad += best != out[b][i];
            seq[n++] = out[b][i]; // follow the generated text
        }
    }
    EXPECT(bad == 0, "%d greedy tokens differ from the cache-free argmax loop", bad);
    // EOS stops a sequence and is kept
    int eos = out[0][4];
    o.eos_ids = &eos;
    o.n_eos = 1;
    generate(&g, prompts, lens, 1, &o, out, n_out, fin, NULL, NULL);
    EXPECT(fin[0] == FINISH_EOS && out[0][n_out[0] - 1] == eos && n_out[0] <= 5, "EOS: %d tokens, finish %s", n_out[0],
           finish_reason_name(fin[0]));
    for (int b = 0; b < 3; b++) free(out[b]);
    free(logits);
    generator_free(&g);
    model_free(&m);
}

// A token n-gram that occurs twice in tokens[0..n)?
static int has_repeated_ngram(const int *t, int n, int N) {
    for (int i = 0; i + N <= n; i++)
        for (int j = i + 1; j + N <= n; j++)
            if (memcmp(t + i, t + j, (size_t)N * sizeof(int)) == 0) return 1;
    return 0;
}

static void test_no_repeat_ngram(void) {
    // the rule: after "... 3 4", with "3 4 5" and "3 4 9" seen, 5 and 9 are banned, nothing else
    float l[10];
    for (int v = 0; v < 10; v++) l[v] = (float)v;
    int toks[] = {3, 4, 5, 1, 3, 4, 9, 2, 3, 4};
    int banned = sample_ban_repeated_ngrams(l, 10, 3, toks, 10);
    EXPECT(banned == 2 && l[5] == -INFINITY && l[9] == -INFINITY && l[8] == 8.0f && l[4] == 4.0f,
           "banned %d, l[5] %g l[9] %g l[8] %g", banned, l[5], l[9], l[8]);
    float one[4] = {1, 2, 3, 4};
    int few[] = {2};
    EXPECT(sample_ban_repeated_ngrams(one, 4, 3, few, 1) == 0, "too few tokens for a 3-gram: nothing banned");
    EXPECT(sample_ban_repeated_ngrams(one, 4, 1, few, 1) == 1 && one[2] == -INFINITY, "1-gram: every earlier token");

    // generation: greedy decoding of the tiny model repeats itself; with N = 2 no 2-gram repeats
    Model m;
    tiny_model(&m);
    Generator g;
    generator_build(&g, &m, 1, 64);
    int p0[] = {1, 2, 3}, *out = xmalloc(40 * sizeof(int)), n_out;
    const int *prompts[] = {p0};
    int lens[] = {3};
    FinishReason fin;
    GenerateOptions o = {0};
    sample_options_default(&o.sample);
    o.sample.temperature = 0;
    o.max_new = 40;
    generate(&g, prompts, lens, 1, &o, &out, &n_out, &fin, NULL, NULL);
    EXPECT(has_repeated_ngram(out, n_out, 2), "the test needs a model whose greedy output repeats a 2-gram");
    o.sample.no_repeat_ngram = 2;
    generate(&g, prompts, lens, 1, &o, &out, &n_out, &fin, NULL, NULL);
    EXPECT(n_out == 40 && !has_repeated_ngram(out, n_out, 2), "--no-repeat-ngram 2: %d tokens, a 2-gram repeats",
           n_out);
    free(out);
    generator_free(&g);
    model_free(&m);
}

// Continuous batching: 6 prompts through 2 slots, sampled, some ending early on an EOS id,
// give exactly what each prompt gives alone.
static void test_continuous_batching(void) {
    Model m;
    tiny_model(&m);
    Generator g2, g1;
    generator_build(&g2, &m, 2, 48);
    generator_build(&g1, &m, 1, 48);
    int p0[] = {1, 2, 3}, p1[] = {7, 7, 7, 7, 7, 8}, p2[] = {4}, p3[] = {9, 10}, p4[] = {11, 3, 5, 2}, p5[] = {6};
    const int *prompts[] = {p0, p1, p2, p3, p4, p5};
    int lens[] = {3, 6, 1, 2, 4, 1}, n_all[6], n_one, *all[6], *one = xmalloc(16 * sizeof(int));
    FinishReason fin_all[6], fin_one;
    for (int i = 0; i < 6; i++) all[i] = xmalloc(16 * sizeof(int));
    uint64_t seeds[6] = {11, 12, 13, 14, 15, 16};
    int eos[] = {5};
    GenerateOptions o = {0};
    sample_options_default(&o.sample);
    o.sample.temperature = 1.5f, o.sample.top_p = 1.0f;
    o.max_new = 16, o.seeds = seeds, o.eos_ids = eos, o.n_eos = 1;
    generate(&g2, prompts, lens, 6, &o, all, n_all, fin_all, NULL, NULL);
    int differ = 0, ended = 0;
    for (int i = 0; i < 6; i++) {
        GenerateOptions alone = o;
        alone.seeds = &seeds[i];
        generate(&g1, &prompts[i], &lens[i], 1, &alone, &one, &n_one, &fin_one, NULL, NULL);
        differ += n_one != n_all[i] || fin_one != fin_all[i] || memcmp(one, all[i], (size_t)n_one * sizeof(int)) != 0;
        ended += fin_all[i] == FINISH_EOS;
    }
    EXPECT(differ == 0, "%d of 6 answers differ between 2 slots and one at a time", differ);
    EXPECT(ended >= 1 && ended <= 5, "the test needs answers that end early and answers that do not (%d ended)", ended);
    for (int i = 0; i < 6; i++) free(all[i]);
    free(one);
    generator_free(&g1), generator_free(&g2);
    model_free(&m);
}

static void test_sampling_rules(void) {
    int V = 6;
    void *scratch = xmalloc(sample_scratch_bytes(V));
    float base[6] = {logf(0.5f), logf(0.3f), logf(0.15f), logf(0.05f), -INFINITY, -INFINITY};
    float l[6];
    Rng r;
    rng_seed(&r, 1);
    SampleOptions o;
    sample_options_default(&o);
    o.temperature = 0;
    memcpy(l, base, sizeof l);
    EXPECT(sample_token(l, V, &o, NULL, 0, &r, scratch) == 0, "greedy picks the argmax");
    o.temperature = 1, o.top_p = 0.75f, o.top_k = 0;
    int counts[6] = {0};
    for (int i = 0; i < 4000; i++) {
        memcpy(l, base, sizeof l);
        counts[sample_token(l, V, &o, NULL, 0, &r, scratch)]++;
    }
    // top_p 0.75: the prefix {0.5, 0.3} reaches it; probabilities renormalised to 5/8, 3/8
    EXPECT(counts[2] == 0 && counts[3] == 0, "top-p let through tokens 2/3: %d %d", counts[2], counts[3]);
    EXPECT(fabs(counts[0] / 4000.0 - 0.625) < 0.03, "token 0 frequency %.3f, expected 0.625", counts[0] / 4000.0);
    o.top_p = 1, o.min_p = 0.5f; // keep p >= 0.25: tokens 0 and 1
    memset(counts, 0, sizeof counts);
    for (int i = 0; i < 2000; i++) {
        memcpy(l, base, sizeof l);
        counts[sample_token(l, V, &o, NULL, 0, &r, scratch)]++;
    }
    EXPECT(counts[2] == 0 && counts[3] == 0 && counts[1] > 0, "min-p: %d %d %d", counts[1], counts[2], counts[3]);
    o.min_p = 0, o.top_k = 3;
    memset(counts, 0, sizeof counts);
    for (int i = 0; i < 2000; i++) {
        memcpy(l, base, sizeof l);
        counts[sample_token(l, V, &o, NULL, 0, &r, scratch)]++;
    }
    EXPECT(counts[3] == 0 && counts[2] > 0, "top-k 3: %d %d", counts[2], counts[3]);
    // the same seed gives the same draws
    Rng a, b;
    rng_seed(&a, 42), rng_seed(&b, 42);
    o.top_k = 0;
    int same = 1;
    for (int i = 0; i < 100; i++) {
        float l1[6], l2[6];
        memcpy(l1, base, sizeof l1), memcpy(l2, base, sizeof l2);
        same &= sample_token(l1, V, &o, NULL, 0, &a, scratch) == sample_token(l2, V, &o, NULL, 0, &b, scratch);
    }
    EXPECT(same, "seeded sampling is not reproducible");
    // repetition penalty: a strong one moves greedy off the repeated token
    o.temperature = 0, o.repetition_penalty = 10;
    float flat[6] = {2.0f, 1.9f, 0, 0, 0, 0};
    int hist[] = {0, 0, 3};
    EXPECT(sample_token(flat, V, &o, hist, 3, &r, scratch) == 1, "repetition penalty did not apply");
    EXPECT(fabsf(flat[0] - 0.2f) < 1e-6f, "penalty applied %s (logit %.3f)", flat[0] < 0.2f ? "twice" : "wrongly",
           flat[0]);
    free(scratch);
}

// A large vocabulary (8000 tokens; the head within 8 nats of the best is 1600 of them), where
// the sampler sorts only the head of the distribution: the kept set
// and the frequencies match a float64 computation over the whole, sorted distribution.
static void test_sampling_large_vocab(void) {
    int V = 8000, N = 4000;
    float *l = xmalloc((size_t)V * sizeof(float)), *base = xmalloc((size_t)V * sizeof(float));
    double *prob = xmalloc((size_t)V * sizeof(double)), z = 0;
    for (int v = 0; v < V; v++) base[v] = -(float)((v * 7919) % V) / 200.0f; // a permutation of a smooth decay
    for (int v = 0; v < V; v++) z += exp(base[v]);
    for (int v = 0; v < V; v++) prob[v] = exp(base[v]) / z;
    void *scratch = xmalloc(sample_scratch_bytes(V));
    SampleOptions o;
    sample_options_default(&o);
    o.temperature = 1, o.top_k = 0, o.min_p = 0;
    float top_ps[3] = {0.5f, 0.9f, 1.0f};
    for (int c = 0; c < 3; c++) {
        o.top_p = top_ps[c];
        // reference: rank r (0 = most likely) has probability p_r; keep the smallest prefix reaching top_p
        double acc = 0, kept_mass = 0;
        int cut = V; // tokens of rank < cut are kept
        for (int r = 0; r < V; r++) {
            acc += exp(-r / 200.0) / z;
            if (o.top_p < 1 && acc >= o.top_p) {
                cut = r + 1;
                break;
            }
        }
        for (int r = 0; r < cut; r++) kept_mass += exp(-r / 200.0) / z;
        Rng rng;
        rng_seed(&rng, 5 + (uint64_t)c);
        long beyond = 0;
        double mean_rank = 0, want_mean = 0;
        for (int r = 0; r < cut; r++) want_mean += r * exp(-r / 200.0) / z / kept_mass;
        for (int i = 0; i < N; i++) {
            memcpy(l, base, (size_t)V * sizeof(float));
            int t = sample_token(l, V, &o, NULL, 0, &rng, scratch);
            int rank = (int)(-base[t] * 200.0f + 0.5f);
            beyond += rank >= cut + 1;
            mean_rank += rank / (double)N;
        }
        EXPECT(beyond == 0, "top_p %.2f: %ld draws beyond the nucleus (%d tokens)", o.top_p, beyond, cut);
        // the mean rank of a draw: standard error about sd/sqrt(N) < 200/63 = 3.2
        EXPECT(fabs(mean_rank - want_mean) < 15, "top_p %.2f: mean rank %.1f, expected %.1f", o.top_p, mean_rank,
               want_mean);
    }
    // a heavy tail beyond the first candidate gap: one token at 0, the rest near -9 (half the
    // mass); top_p 0.9 must reach into the tail, so the candidates have to widen
    for (int v = 0; v < V; v++) base[v] = v == 0 ? 0.0f : -9.0f - (float)v * 1e-4f;
    z = 0;
    for (int v = 0; v < V; v++) z += exp((double)base[v]);
    o.top_p = 0.9f;
    double acc = 0, kept = 0;
    int cut = V;
    for (int v = 0; v < V; v++) {
        acc += exp((double)base[v]) / z;
        if (acc >= o.top_p) {
            cut = v + 1;
            break;
        }
    }
    for (int v = 0; v < cut; v++) kept += exp((double)base[v]) / z;
    Rng rng;
    rng_seed(&rng, 11);
    long head = 0, beyond = 0;
    for (int i = 0; i < N; i++) {
        memcpy(l, base, (size_t)V * sizeof(float));
        int t = sample_token(l, V, &o, NULL, 0, &rng, scratch);
        head += t == 0, beyond += t > cut;
    }
    double want = 1 / z / kept; // the head token's share of the nucleus
    EXPECT(beyond == 0, "heavy tail: %ld draws beyond the nucleus (%d tokens)", beyond, cut);
    EXPECT(fabs(head / (double)N - want) < 0.04, "heavy tail: head token drawn %.3f of the time, expected %.3f",
           head / (double)N, want);
    free(l), free(base), free(prob), free(scratch);
}

int main(void) {
    RUN(test_decode_matches_full_forward);
    RUN(test_greedy_matches_cache_free_loop);
    RUN(test_no_repeat_ngram);
    RUN(test_continuous_batching);
    RUN(test_sampling_rules);
    RUN(test_sampling_large_vocab);
    return test_summary();
}
