// test_dist.c: the backward's per-layer hook (Model.on_layer_grads) that data-parallel
// training uses to start gradient all-reduces early: when it reports layer l, every gradient
// from layers[l].attn_norm to the end already has its final value (tied and untied
// embeddings, 3 layers), and the hook changes nothing in the gradients. And which records
// are a rank's (dist/dist_records.h) on one rank.
#include "../base/rng.h"
#include "../dist/dist_records.h"
#include "../model/llama.h"
#include "test.h"

static LlamaConfig small_config(int tied) {
    LlamaConfig c;
    memset(&c, 0, sizeof c);
    c.vocab_size = 40, c.hidden_size = 32, c.intermediate_size = 48, c.n_layers = 3;
    c.n_heads = 4, c.n_kv_heads = 2, c.head_dim = 8, c.max_seq = 16;
    c.rope_theta = 10000, c.rms_norm_eps = 1e-5f, c.tie_embeddings = tied, c.initializer_range = 0.3f;
    c.bos_token_id = -1;
    return c;
}

// What the hook saw: the gradient vector at each call (calls in order: layers L-1..0, then -1).
typedef struct {
    Model *m;
    int calls, layers[8];
    float *seen[8]; // [calls] (n_params)
} HookLog;

static void log_hook(void *ctx, int layer) {
    HookLog *h = ctx;
    if (h->calls == 8) return;
    h->layers[h->calls] = layer;
    h->seen[h->calls] = malloc(h->m->n_params * sizeof(float));
    model_get_grads_host(h->m, h->seen[h->calls]);
    h->calls++;
}

static void run_backward(Model *m, const int *tokens, const int *targets, float *grads) {
    model_zero_grads(m);
    model_forward(m, tokens, targets, 2, 8);
    model_backward(m, 1.0f / 16);
    model_get_grads_host(m, grads);
}

static void test_layer_grads_final_when_reported(void) {
    for (int tied = 0; tied < 2; tied++) {
        LlamaConfig c = small_config(tied);
        Model m;
        model_build(&m, &c, backend_cpu(1));
        model_init_weights(&m, 7);
        model_enable_grads(&m);
        int tokens[16], targets[16];
        Rng r;
        rng_seed(&r, 3);
        for (int i = 0; i < 16; i++) tokens[i] = (int)(rng_u64(&r) % 40), targets[i] = (int)(rng_u64(&r) % 40);
        float *plain = malloc(m.n_params * sizeof(float)), *hooked = malloc(m.n_params * sizeof(float));
        run_backward(&m, tokens, targets, plain);
        HookLog h = {.m = &m};
        m.on_layer_grads = log_hook, m.on_layer_grads_ctx = &h;
        run_backward(&m, tokens, targets, hooked);
        EXPECT(memcmp(plain, hooked, m.n_params * sizeof(float)) == 0, "tied %d: the hook changed the gradients", tied);
        EXPECT(h.calls == c.n_layers + 1, "tied %d: %d hook calls, expected %d", tied, h.calls, c.n_layers + 1);
        for (int k = 0; k < h.calls; k++) {
            int want = k < c.n_layers ? c.n_layers - 1 - k : -1;
            EXPECT(h.layers[k] == want, "tied %d: call %d reported layer %d, expected %d", tied, k, h.layers[k], want);
            size_t from = h.layers[k] >= 0 ? m.layers[h.layers[k]].attn_norm : 0;
            size_t same = 0, nonzero = 0;
            for (size_t i = from; i < m.n_params; i++) same += h.seen[k][i] == hooked[i], nonzero += hooked[i] != 0;
            EXPECT(same == m.n_params - from, "tied %d, layer %d: %zu of %zu gradients from offset %zu not final yet",
                   tied, h.layers[k], m.n_params - from - same, m.n_params - from, from);
            EXPECT(nonzero > (m.n_params - from) / 2, "tied %d: the gradients are mostly zero: a weak test", tied);
            // and the layer below is not final yet (the claim is tight, not vacuous)
            if (h.layers[k] > 0) {
                size_t below = m.layers[h.layers[k] - 1].attn_norm, changed = 0;
                for (size_t i = below; i < from; i++) changed += h.seen[k][i] != hooked[i];
                EXPECT(changed > 0, "tied %d: layer %d's gradients were already complete", tied, h.layers[k] - 1);
            }
            free(h.seen[k]);
        }
        m.on_layer_grads = NULL;
        free(plain), free(hooked);
        model_free(&m);
    }
}

static void test_records_share_one_rank(void) {
    for (int64_t i = 0; i < 5; i++) EXPECT(dist_records_mine(i), "record %lld is not rank 0's of 1", (long long)i);
    EXPECT(dist_records_share(5) == 5 && dist_records_share(0) == 0, "one rank's share of 5 is %lld",
           (long long)dist_records_share(5));
}

int main(void) {
    RUN(test_layer_grads_final_when_reported);
    RUN(test_records_share_one_rank);
    return test_summary();
}
