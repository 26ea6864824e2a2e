// generate.c: see generate.h.
#include "generate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "safetensors.h"

const char *finish_reason_name(FinishReason r) {
    switch (r) {
    case FINISH_EOS: return "eos";
    case FINISH_STOP: return "stop";
    case FINISH_CONTEXT: return "context";
    default: return "length";
    }
}

void generator_build(Generator *g, Model *m, int max_batch, int capacity) {
    memset(g, 0, sizeof *g);
    const LlamaConfig *c = &m->config;
    Backend *b = m->backend;
    if (capacity > c->max_seq) capacity = c->max_seq;
    CHECK(max_batch > 0 && capacity > 0, "generator needs a batch and a capacity");
    g->model = m;
    g->max_batch = max_batch;
    g->capacity = capacity;
    size_t e = b->elem_bytes, B = (size_t)max_batch, C = c->hidden_size, F = c->intermediate_size,
           qd = (size_t)c->n_heads * c->head_dim, kvd = (size_t)c->n_kv_heads * c->head_dim, V = c->vocab_size,
           rows = B > (size_t)capacity ? B : (size_t)capacity;
    g->k_cache = xcalloc((size_t)c->n_layers, sizeof(void *));
    g->v_cache = xcalloc((size_t)c->n_layers, sizeof(void *));
    for (int l = 0; l < c->n_layers; l++) {
        g->k_cache[l] = b->alloc(B * capacity * kvd * e);
        g->v_cache[l] = b->alloc(B * capacity * kvd * e);
    }
    g->x = b->alloc(B * C * e);
    g->xn = b->alloc(B * C * e);
    g->qkv = b->alloc(B * (qd + 2 * kvd) * e);
    g->att = b->alloc(B * qd * e);
    g->proj = b->alloc(B * C * e);
    g->gate_up = b->alloc(B * 2 * F * e);
    g->act = b->alloc(B * F * e);
    g->logits_dev = b->alloc(B * V * e);
    g->rstd = b->alloc(B * sizeof(float));
    g->tokens_dev = b->alloc(rows * sizeof(int));
    g->pos_dev = b->alloc(rows * sizeof(int));
    g->seq_dev = b->alloc(rows * sizeof(int));
    g->len_dev = b->alloc(rows * sizeof(int));
    g->logits = xmalloc(B * V * sizeof(float));
    g->sample_scratch = xmalloc(sample_scratch_bytes((int)V));
    const char *env = getenv("STRAP_GEN_WEIGHTS");
    if (env && *env) {
        int w = generator_weights_parse(env);
        if (w < 0) fail("STRAP_GEN_WEIGHTS='%s': give f32, f16 or bf16 (or unset it)", env);
        generator_set_weights(g, w);
    }
}

uint16_t f32_to_f16_rne(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return sign | 0x7e00u;  // NaN (quiet)
    if (ax >= 0x477ff000u) return sign | 0x7c00u; // >= 65520 rounds to inf
    if (ax < 0x38800000u) {                       // below 2^-14: a subnormal (or zero) result, mant = round(|f| 2^24)
        float a;
        memcpy(&a, &ax, 4);
        return sign | (uint16_t)rintf(a * 16777216.0f); // exact product; rintf rounds to even
    }
    uint32_t r = ax - (112u << 23); // rebias the exponent (127 -> 15)
    r += 0xfffu + ((r >> 13) & 1u); // round the 13 dropped bits to nearest even
    return sign | (uint16_t)(r >> 13);
}

int generator_weights_parse(const char *name) {
    if (strcmp(name, "f32") == 0 || strcmp(name, "fp32") == 0) return 0;
    if (strcmp(name, "f16") == 0 || strcmp(name, "fp16") == 0) return WEIGHTS_F16;
    if (strcmp(name, "bf16") == 0) return WEIGHTS_BF16;
    return -1;
}

const char *generator_weights_name(int wtype) {
    return wtype == WEIGHTS_F16 ? "f16" : wtype == WEIGHTS_BF16 ? "bf16" : "f32";
}

void generator_set_weights(Generator *g, int wtype) {
    Model *m = g->model;
    Backend *b = m->backend;
    CHECK(wtype == 0 || wtype == WEIGHTS_F16 || wtype == WEIGHTS_BF16, "unknown weight type %d", wtype);
    if (g->w16) b->free(g->w16);
    g->w16 = NULL;
    g->wtype = wtype;
    if (!wtype) return;
    g->w16 = b->alloc(m->n_params * sizeof(uint16_t));
    // chunk by chunk: params -> fp32 on the host -> 16 bits -> the backend
    size_t chunk = (size_t)1 << 20;
    float *f = xmalloc(chunk * sizeof(float));
    uint16_t *h = xmalloc(chunk * sizeof(uint16_t));
    for (size_t i = 0; i < m->n_params; i += chunk) {
        size_t n = m->n_params - i < chunk ? m->n_params - i : chunk;
        b->download_f32(f, backend_at(b, m->params, i), n);
        if (wtype == WEIGHTS_F16) {
#pragma omp parallel for schedule(static)
            for (size_t j = 0; j < n; j++) h[j] = f32_to_f16_rne(f[j]);
        } else {
#pragma omp parallel for schedule(static)
            for (size_t j = 0; j < n; j++) h[j] = f32_to_bf16(f[j]);
        }
        b->upload((uint16_t *)g->w16 + i, h, n * sizeof(uint16_t));
    }
    free(f);
    free(h);
}

void generator_free(Generator *g) {
    Backend *b = g->model->backend;
    for (int l = 0; l < g->model->config.n_layers; l++) {
        b->free(g->k_cache[l]);
        b->free(g->v_cache[l]);
    }
    free(g->k_cache), free(g->v_cache);
    void *bufs[] = {g->x,          g->xn,   g->qkv,        g->att,     g->proj,    g->gate_up, g->act,
                    g->logits_dev, g->rstd, g->tokens_dev, g->pos_dev, g->seq_dev, g->len_dev};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) b->free(bufs[i]);
    free(g->logits);
    free(g->pad);
    free(g->sample_scratch);
    if (g->w16) b->free(g->w16);
    memset(g, 0, sizeof *g);
}

#define P(off) backend_at(b, m->params, (off))

// out (N,OC) = inp (N,C) @ the weight at params offset w^T, from the 16-bit copy when set
static void decode_matmul(Generator *g, void *out, const void *inp, size_t w, int N, int C, int OC) {
    Backend *b = g->model->backend;
    if (g->wtype)
        b->matmul_forward_w16(out, inp, (const uint16_t *)g->w16 + w, g->wtype, N, C, OC);
    else
        b->matmul_forward(out, inp, backend_at(b, g->model->params, w), N, C, OC);
}

void generator_prefill(Generator *g, int slot, const int *prompt, int len) {
    Model *m = g->model;
    Backend *b = m->backend;
    const LlamaConfig *c = &m->config;
    CHECK(slot >= 0 && slot < g->max_batch, "prefill slot %d out of range", slot);
    if (len < 1) fail("an empty prompt cannot be continued (give at least one token, e.g. BOS)");
    if (len > g->capacity)
        fail(
            "the prompt has %d tokens but the context holds %d (max_position_embeddings, or the smaller context asked for)",
            len, g->capacity);
    // pad to a multiple of 64 positions (causal attention: the padding cannot change the
    // prompt's positions) so prompts of similar lengths reuse one activation shape
    int padded = ((len + 63) / 64) * 64;
    if (padded > c->max_seq) padded = len;
    if (padded > g->pad_cap) {
        g->pad = xrealloc(g->pad, (size_t)padded * sizeof(int));
        CHECK(g->pad != NULL, "out of memory");
        g->pad_cap = padded;
    }
    memcpy(g->pad, prompt, (size_t)len * sizeof(int));
    for (int i = len; i < padded; i++) g->pad[i] = 0;
    model_forward(m, g->pad, NULL, 1, padded);
    int *seq = xmalloc((size_t)len * sizeof(int)), *pos = xmalloc((size_t)len * sizeof(int));
    for (int i = 0; i < len; i++) seq[i] = slot, pos[i] = i;
    b->upload(g->seq_dev, seq, (size_t)len * sizeof(int));
    b->upload(g->pos_dev, pos, (size_t)len * sizeof(int));
    for (int l = 0; l < c->n_layers; l++) // the training forward keeps each layer's post-RoPE qkv
        b->kv_store(g->k_cache[l], g->v_cache[l], m->acts.layers[l].qkv, g->seq_dev, g->pos_dev, len, g->capacity,
                    c->n_heads, c->n_kv_heads, c->head_dim);
    const void *last = backend_at(b, m->acts.xn_final, (size_t)(len - 1) * c->hidden_size);
    decode_matmul(g, g->logits_dev, last, m->lm_head, 1, c->hidden_size, c->vocab_size);
    b->download_f32(g->logits + (size_t)slot * c->vocab_size, g->logits_dev, (size_t)c->vocab_size);
    free(seq);
    free(pos);
}

void generator_step(Generator *g, const int *tokens, const int *pos, int B) {
    Model *m = g->model;
    Backend *b = m->backend;
    const LlamaConfig *c = &m->config;
    int C = c->hidden_size, F = c->intermediate_size, H = c->n_heads, KV = c->n_kv_heads, D = c->head_dim,
        V = c->vocab_size, qkv_dim = (H + 2 * KV) * D;
    CHECK(B > 0 && B <= g->max_batch, "decode batch %d out of range", B);
    int seq[B], len[B];
    for (int i = 0; i < B; i++) {
        CHECK(pos[i] >= 0 && pos[i] < g->capacity, "position %d outside the cache", pos[i]);
        CHECK(tokens[i] >= 0 && tokens[i] < V, "token %d outside the vocabulary", tokens[i]);
        seq[i] = i;
        len[i] = pos[i] + 1;
    }
    b->upload(g->tokens_dev, tokens, (size_t)B * sizeof(int));
    b->upload(g->pos_dev, pos, (size_t)B * sizeof(int));
    b->upload(g->seq_dev, seq, (size_t)B * sizeof(int));
    b->upload(g->len_dev, len, (size_t)B * sizeof(int));
    b->embedding_forward(g->x, g->tokens_dev, P(m->embed), B, C);
    for (int l = 0; l < c->n_layers; l++) {
        const LayerParams *lp = &m->layers[l];
        b->rmsnorm_forward(g->xn, g->rstd, g->x, P(lp->attn_norm), B, C, c->rms_norm_eps);
        decode_matmul(g, g->qkv, g->xn, lp->wqkv, B, C, qkv_dim);
        b->rope_forward_at(g->qkv, m->rope_cos, m->rope_sin, g->pos_dev, B, H, KV, D);
        b->kv_store(g->k_cache[l], g->v_cache[l], g->qkv, g->seq_dev, g->pos_dev, B, g->capacity, H, KV, D);
        b->attention_decode(g->att, g->qkv, g->k_cache[l], g->v_cache[l], g->len_dev, B, g->capacity, H, KV, D);
        decode_matmul(g, g->proj, g->att, lp->wo, B, H * D, C);
        b->residual_forward(g->x, g->x, g->proj, (size_t)B * C);
        b->rmsnorm_forward(g->xn, g->rstd, g->x, P(lp->mlp_norm), B, C, c->rms_norm_eps);
        decode_matmul(g, g->gate_up, g->xn, lp->wgate_up, B, C, 2 * F);
        b->swiglu_forward(g->act, g->gate_up, B, F);
        decode_matmul(g, g->proj, g->act, lp->wdown, B, F, C);
        b->residual_forward(g->x, g->x, g->proj, (size_t)B * C);
    }
    b->rmsnorm_forward(g->xn, g->rstd, g->x, P(m->final_norm), B, C, c->rms_norm_eps);
    decode_matmul(g, g->logits_dev, g->xn, m->lm_head, B, C, V);
    b->download_f32(g->logits, g->logits_dev, (size_t)B * V);
}

// The state of the sequence in each cache slot while generate() runs.
typedef struct {
    int seq;      // the prompt it answers (-1: the slot is free)
    int pos;      // the position of its next token
    int *history; // prompt + answer so far (repetition penalty), capacity prompt + max_new + 1
    int n_hist;
    Rng rng;
} Slot;

// Samples the next token of the sequence in slot s from logits row s; 1 if it goes on.
static int slot_take(Generator *g, Slot *sl, int s, const GenerateOptions *o, float *row_logits, int **out, int *n_out,
                     FinishReason *finish, TokenCallback cb, void *cb_ctx) {
    int V = g->model->config.vocab_size, i = sl->seq;
    memcpy(row_logits, g->logits + (size_t)s * V, (size_t)V * sizeof(float));
    for (int v = 0; v < V; v++)
        if (!isfinite(row_logits[v]))
            fail("generation: the model's logits for token %d of answer %d are not finite (logit %d is %g): its "
                 "weights or activations overflow; nothing more is generated",
                 n_out[i] + 1, i + 1, v, row_logits[v]);
    if (o->sample.no_repeat_ngram > 0)
        sample_ban_repeated_ngrams(row_logits, V, o->sample.no_repeat_ngram, out[i], n_out[i]);
    int tok = sample_token(row_logits, V, &o->sample, sl->history, sl->n_hist, &sl->rng, g->sample_scratch);
    out[i][n_out[i]++] = tok;
    sl->history[sl->n_hist++] = tok;
    int stop = cb ? cb(cb_ctx, i, tok) : 0;
    for (int e = 0; e < o->n_eos; e++)
        if (tok == o->eos_ids[e]) finish[i] = FINISH_EOS, stop = 1;
    if (stop && finish[i] != FINISH_EOS) finish[i] = FINISH_STOP;
    if (!stop && n_out[i] == o->max_new) stop = 1;
    if (!stop && sl->pos >= g->capacity) finish[i] = FINISH_CONTEXT, stop = 1;
    if (stop) sl->seq = -1;
    return !stop;
}

// Puts prompt i into the free slot s: its RNG, history and prefill (logits land in row s).
static void slot_start(Generator *g, Slot *sl, int s, int i, const int *const *prompts, const int *prompt_lens,
                       const GenerateOptions *o, int *n_out, FinishReason *finish) {
    sl->seq = i;
    rng_seed(&sl->rng, o->seeds ? o->seeds[i] : o->seed + (uint64_t)i);
    n_out[i] = 0;
    finish[i] = FINISH_LENGTH;
    sl->history = xrealloc(sl->history, (size_t)(prompt_lens[i] + o->max_new + 1) * sizeof(int));
    memcpy(sl->history, prompts[i], (size_t)prompt_lens[i] * sizeof(int));
    sl->n_hist = prompt_lens[i];
    generator_prefill(g, s, prompts[i], prompt_lens[i]);
    sl->pos = prompt_lens[i];
}

void generate(Generator *g, const int *const *prompts, const int *prompt_lens, int n, const GenerateOptions *o,
              int **out, int *n_out, FinishReason *finish, TokenCallback cb, void *cb_ctx) {
    CHECK(n > 0, "generate: no prompts");
    int V = g->model->config.vocab_size, slots = n < g->max_batch ? n : g->max_batch, next = 0;
    Slot *sl = xcalloc((size_t)slots, sizeof(Slot));
    float *row_logits = xmalloc((size_t)V * sizeof(float));
    int *step_tokens = xmalloc((size_t)slots * sizeof(int)), *step_pos = xmalloc((size_t)slots * sizeof(int));
    int *last = xmalloc((size_t)slots * sizeof(int));
    for (int s = 0; s < slots; s++) sl[s].seq = -1;
    if (o->max_new <= 0) { // nothing to generate: every answer is empty
        for (int i = 0; i < n; i++) n_out[i] = 0, finish[i] = FINISH_LENGTH;
        next = n;
    }
    for (int s = 0; s < slots && next < n; s++)
        slot_start(g, &sl[s], s, next++, prompts, prompt_lens, o, n_out, finish);
    for (;;) {
        // every sequence in a slot takes its token from its logits row (a prefill's or the last step's)
        for (int s = 0; s < slots; s++)
            if (sl[s].seq >= 0 && slot_take(g, &sl[s], s, o, row_logits, out, n_out, finish, cb, cb_ctx))
                last[s] = out[sl[s].seq][n_out[sl[s].seq] - 1];
        // continuous batching: a slot freed by a finished sequence takes the next prompt at once
        for (int s = 0; s < slots; s++)
            while (sl[s].seq < 0 && next < n) {
                slot_start(g, &sl[s], s, next++, prompts, prompt_lens, o, n_out, finish);
                if (slot_take(g, &sl[s], s, o, row_logits, out, n_out, finish, cb, cb_ctx))
                    last[s] = out[sl[s].seq][n_out[sl[s].seq] - 1];
            }
        // decode row s is cache slot s; free slots below the highest busy one recompute harmlessly at
        // position 0 (a prefill rewrites a slot's cache before it is read again)
        int hi = 0;
        for (int s = 0; s < slots; s++) {
            int busy = sl[s].seq >= 0;
            step_tokens[s] = busy ? last[s] : 0;
            step_pos[s] = busy ? sl[s].pos : 0;
            if (busy) hi = s + 1;
        }
        if (hi == 0) break;
        generator_step(g, step_tokens, step_pos, hi);
        for (int s = 0; s < slots; s++)
            if (sl[s].seq >= 0) sl[s].pos++;
    }
    for (int s = 0; s < slots; s++) free(sl[s].history);
    free(sl), free(step_tokens), free(step_pos), free(last), free(row_logits);
}
