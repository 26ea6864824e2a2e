// test_model.c: the whole model on the CPU backend against Hugging Face transformers
// fixtures (tests/ref/make_model_fixtures.py, float64 reference), plus overfitting,
// determinism and checkpoint round trips.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/rng.h"
#include "../model/llama.h"
#include "../model/safetensors.h"
#include "../train/adamw.h"
#include "test.h"

// max |a - b| / max |b| over a tensor: errors relative to the tensor's scale, so that
// near-zero entries (sums of many cancelling terms) do not dominate.
static void check_fixture(const char *name) {
    char dir[256];
    snprintf(dir, sizeof dir, "tests/ref/fixtures/%s", name);
    Model m;
    model_load(&m, dir, backend_cpu(0));
    model_enable_grads(&m);

    char *path = path_join(dir, "expected.safetensors");
    SafeTensors st;
    st_open(&st, path);
    const StTensor *tt = st_find(&st, "tokens");
    EXPECT(tt != NULL && tt->ndim == 2, "%s: tokens tensor", name);
    if (!tt) return;
    int B = (int)tt->shape[0], T = (int)tt->shape[1], N = B * T, V = m.config.vocab_size;
    int *tokens = xmalloc((size_t)N * sizeof(int)), *targets = xmalloc((size_t)N * sizeof(int));
    st_read_i32(&st, tt, tokens);
    st_read_i32(&st, st_find(&st, "targets"), targets);
    float ref_loss;
    st_read_f32(&st, st_find(&st, "loss"), &ref_loss);
    float *ref_logits = xmalloc((size_t)N * V * sizeof(float));
    st_read_f32(&st, st_find(&st, "logits"), ref_logits);

    float loss = model_forward(&m, tokens, targets, B, T);
    // fp32 compute against a float64 reference on the same fp32 weights: errors are a few
    // ulps times the depth of the sums (K <= 80 here), so 1e-5 relative is ample margin.
    EXPECT(fabs(loss - ref_loss) <= 1e-5 * fabs(ref_loss), "%s: loss %.7f vs reference %.7f", name, loss, ref_loss);
    float *logits = xmalloc((size_t)N * V * sizeof(float));
    model_logits(&m, logits);
    double e = scaled_err(logits, ref_logits, (size_t)N * V);
    EXPECT(e < 1e-5, "%s: logits scaled error %.3g", name, e);
    // some rows alone (the last position, as the judge reads it; an inner range)
    const int ranges[2][2] = {{N - 1, 1}, {1, N - 2}};
    for (int k = 0; k < 2; k++) {
        int first = ranges[k][0], count = ranges[k][1];
        float *rows = xmalloc((size_t)count * V * sizeof(float));
        model_logits_rows(&m, first, count, rows);
        double er = scaled_err(rows, ref_logits + (size_t)first * V, (size_t)count * V);
        EXPECT(er < 1e-5, "%s: logits of rows [%d, %d): scaled error %.3g", name, first, first + count, er);
        free(rows);
    }

    int counted = 0;
    for (int i = 0; i < N; i++) counted += targets[i] >= 0;
    model_zero_grads(&m);
    model_backward(&m, 1.0f / (float)counted);
    float *grads = xmalloc(m.n_params * sizeof(float));
    m.backend->download_f32(grads, m.grads, m.n_params);
    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; i < m.n_tensors; i++) {
        const ParamTensor *t = &m.tensors[i];
        char gname[128];
        snprintf(gname, sizeof gname, "grad.%s", t->name);
        const StTensor *g = st_find(&st, gname);
        EXPECT(g != NULL && (size_t)g->numel == t->numel, "%s: fixture has %s", name, gname);
        if (!g) continue;
        float *ref = xmalloc(t->numel * sizeof(float));
        st_read_f32(&st, g, ref);
        double err = scaled_err(grads + t->offset, ref, t->numel);
        if (err > worst) worst = err, worst_name = t->name;
        free(ref);
    }
    // gradients go through longer chains (backward through every layer): 1e-4 scaled.
    EXPECT(worst < 1e-4, "%s: worst gradient scaled error %.3g in %s", name, worst, worst_name);
    printf("    %s: loss %.6f (ref %.6f), logits err %.2g, worst grad err %.2g (%s)\n", name, loss, ref_loss, e, worst,
           worst_name);
    free(grads);
    free(logits);
    free(ref_logits);
    free(tokens);
    free(targets);
    st_close(&st);
    free(path);
    model_free(&m);
}

static void test_hf_fixture_gqa_untied(void) { check_fixture("gqa_untied"); }
static void test_hf_fixture_gqa_tied(void) { check_fixture("gqa_tied"); }

static LlamaConfig tiny_config(int tied) {
    LlamaConfig c;
    memset(&c, 0, sizeof c);
    c.vocab_size = 32;
    c.hidden_size = 32;
    c.intermediate_size = 64;
    c.n_layers = 2;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.head_dim = 8;
    c.max_seq = 32;
    c.rope_theta = 10000;
    c.rms_norm_eps = 1e-5f;
    c.tie_embeddings = tied;
    c.initializer_range = 0.02f;
    c.bos_token_id = -1;
    return c;
}

static void random_tokens(int *tokens, int *targets, int n, int V, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < n + 1; i++) {
        int t = (int)(rng_u64(&r) % (uint64_t)V);
        if (i < n) tokens[i] = t;
        if (i > 0) targets[i - 1] = t;
    }
}

static void test_overfit_one_batch(void) {
    LlamaConfig c = tiny_config(0);
    Model m;
    model_build(&m, &c, backend_cpu(0));
    model_init_weights(&m, 7);
    model_enable_grads(&m);
    AdamW opt;
    adamw_build(&opt, &m, NULL, 0.9f, 0.95f, 1e-8f, 0.0f);
    int B = 2, T = 16, N = B * T;
    int tokens[32], targets[32];
    random_tokens(tokens, targets, N, c.vocab_size, 3);
    float first = 0, loss = 0;
    for (int step = 1; step <= 300; step++) {
        model_zero_grads(&m);
        loss = model_forward(&m, tokens, targets, B, T);
        if (step == 1) first = loss;
        model_backward(&m, 1.0f / N);
        adamw_step(&opt, &m, 1e-2f, 1.0f);
        if (loss < 0.05f) break;
    }
    EXPECT(fabsf(first - logf(32)) < 0.3f, "initial loss %.3f should be near ln(32) = %.3f", first, logf(32));
    EXPECT(loss < 0.1f, "loss after overfitting one batch: %.4f (from %.4f)", loss, first);
    adamw_free(&opt, &m);
    model_free(&m);
}

static void test_deterministic_step(void) {
    LlamaConfig c = tiny_config(1);
    float *g[2];
    for (int run = 0; run < 2; run++) {
        Model m;
        model_build(&m, &c, backend_cpu(0));
        model_init_weights(&m, 11);
        model_enable_grads(&m);
        int tokens[64], targets[64];
        random_tokens(tokens, targets, 64, c.vocab_size, 5);
        model_zero_grads(&m);
        model_forward(&m, tokens, targets, 2, 32);
        model_backward(&m, 1.0f / 64);
        g[run] = xmalloc(m.n_params * sizeof(float));
        m.backend->download_f32(g[run], m.grads, m.n_params);
        if (run == 1)
            EXPECT(memcmp(g[0], g[1], m.n_params * sizeof(float)) == 0, "two identical steps gave different gradients");
        model_free(&m);
    }
    free(g[0]);
    free(g[1]);
}

static void test_checkpoint_round_trip(void) {
    char dir[] = "/tmp/strap_test_ckpt_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    for (int tied = 0; tied < 2; tied++) {
        LlamaConfig c = tiny_config(tied);
        Model a, b;
        model_build(&a, &c, backend_cpu(0));
        model_init_weights(&a, 99);
        model_save(&a, dir, 0, NULL);
        model_load(&b, dir, backend_cpu(0));
        float *pa = xmalloc(a.n_params * sizeof(float)), *pb = xmalloc(b.n_params * sizeof(float));
        model_get_params(&a, pa);
        model_get_params(&b, pb);
        EXPECT(a.n_params == b.n_params && memcmp(pa, pb, a.n_params * sizeof(float)) == 0,
               "F32 checkpoint (tied=%d) did not reload bit-identically", tied);
        EXPECT(b.config.tie_embeddings == tied, "tie_word_embeddings not kept");
        model_free(&b);
        // BF16: each value reloads as its round-to-nearest-even bf16
        model_save(&a, dir, 1, NULL);
        model_load(&b, dir, backend_cpu(0));
        model_get_params(&b, pb);
        int bad = 0;
        for (size_t i = 0; i < a.n_params; i++) bad += pb[i] != bf16_to_f32(f32_to_bf16(pa[i]));
        EXPECT(bad == 0, "BF16 checkpoint: %d values differ from their bf16 rounding", bad);
        free(pa);
        free(pb);
        model_free(&a);
        model_free(&b);
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    EXPECT(system(cmd) == 0, "cleanup");
}

// Hugging Face's sharded layout (model.safetensors.index.json + shards) loads the same weights.
static void test_sharded_checkpoint(void) {
    Model a, b;
    model_load(&a, "tests/ref/fixtures/gqa_untied", backend_cpu(0));
    model_load(&b, "tests/ref/fixtures/gqa_untied_sharded", backend_cpu(0));
    float *pa = xmalloc(a.n_params * sizeof(float)), *pb = xmalloc(b.n_params * sizeof(float));
    model_get_params(&a, pa);
    model_get_params(&b, pb);
    EXPECT(a.n_params == b.n_params && memcmp(pa, pb, a.n_params * sizeof(float)) == 0,
           "sharded checkpoint weights differ from the single-file ones");
    free(pa), free(pb);
    model_free(&a), model_free(&b);
}

// Per-token weights: weights w on the "response" rows and 0 elsewhere give the same
// gradients as masking the other targets (-1) and weighting each kept row by w; and the
// gradient is linear in the weights.
static void test_weighted_backward(void) {
    LlamaConfig c = tiny_config(1);
    Model m;
    model_build(&m, &c, backend_cpu(0));
    model_init_weights(&m, 21);
    model_enable_grads(&m);
    int B = 2, T = 16, N = B * T;
    int tokens[32], targets[32], masked[32];
    float w[32], w2[32], wsum[32];
    random_tokens(tokens, targets, N, c.vocab_size, 8);
    for (int i = 0; i < N; i++) {
        int response = (i % T) >= 6; // the first 6 positions of each row are the "prompt"
        w[i] = response ? (i < T ? 0.3f : -0.7f) : 0.0f;
        w2[i] = 0.01f * (float)(i % 5);
        wsum[i] = w[i] + w2[i];
        masked[i] = response ? targets[i] : -1;
    }
    size_t n = m.n_params;
    float *g1 = xmalloc(n * sizeof(float)), *g2 = xmalloc(n * sizeof(float)), *g3 = xmalloc(n * sizeof(float));
    // (a) weights on all targets, zero on the prompt rows
    model_zero_grads(&m);
    model_forward(&m, tokens, targets, B, T);
    model_backward_weighted(&m, w);
    model_get_grads_host(&m, g1);
    // (b) the prompt rows masked out instead
    model_zero_grads(&m);
    model_forward(&m, tokens, masked, B, T);
    model_backward_weighted(&m, w);
    model_get_grads_host(&m, g2);
    double worst = 0, scale = 1e-12;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(g2[i])), worst = fmax(worst, fabs(g1[i] - g2[i]));
    EXPECT(worst / scale < 1e-6, "zero weights and masked targets differ by %.3g (scaled)", worst / scale);
    // (c) linearity: grad(w + w2) == grad(w) + grad(w2)
    model_zero_grads(&m);
    model_forward(&m, tokens, targets, B, T);
    model_backward_weighted(&m, w2);
    model_get_grads_host(&m, g2);
    model_zero_grads(&m);
    model_backward_weighted(&m, wsum);
    model_get_grads_host(&m, g3);
    worst = 0, scale = 1e-12;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(g3[i])), worst = fmax(worst, fabs(g3[i] - (g1[i] + g2[i])));
    EXPECT(worst / scale < 1e-5, "weighted backward is not linear in the weights: %.3g (scaled)", worst / scale);
    free(g1), free(g2), free(g3);
    model_free(&m);
}

int main(void) {
    RUN(test_hf_fixture_gqa_untied);
    RUN(test_hf_fixture_gqa_tied);
    RUN(test_overfit_one_batch);
    RUN(test_deterministic_step);
    RUN(test_checkpoint_round_trip);
    RUN(test_sharded_checkpoint);
    RUN(test_weighted_backward);
    return test_summary();
}
