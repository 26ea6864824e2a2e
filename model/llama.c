// llama.c: parameter layout, init, forward, backward, checkpoint I/O. See llama.h.
#include "llama.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/rng.h"
#include "safetensors.h"

// ---------------------------------------------------------------------------------------
// parameter layout

static size_t add_tensor(Model *m, size_t *cursor, int decay, int64_t rows, int64_t cols, const char *fmt, int layer) {
    ParamTensor *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof t->name, fmt, layer);
    t->offset = *cursor;
    t->ndim = cols > 0 ? 2 : 1;
    t->shape[0] = rows;
    t->shape[1] = cols > 0 ? cols : 0;
    t->numel = (size_t)rows * (size_t)(cols > 0 ? cols : 1);
    t->decay = decay;
    *cursor += t->numel;
    return t->offset;
}

static void build_rope_tables(Model *m) {
    const LlamaConfig *c = &m->config;
    int half = c->head_dim / 2;
    size_t n = (size_t)c->max_seq * half;
    float *cos_h = xmalloc(n * sizeof(float)), *sin_h = xmalloc(n * sizeof(float));
    // Same float32 steps as Hugging Face's LlamaRotaryEmbedding: inv_freq and the angle
    // t * inv_freq are rounded to float32 before cos/sin.
    for (int i = 0; i < half; i++) {
        float inv_freq = (float)(1.0 / pow((double)c->rope_theta, (double)(2 * i) / c->head_dim));
        for (int t = 0; t < c->max_seq; t++) {
            float angle = (float)t * inv_freq;
            cos_h[(size_t)t * half + i] = (float)cos((double)angle);
            sin_h[(size_t)t * half + i] = (float)sin((double)angle);
        }
    }
    Backend *b = m->backend;
    m->rope_cos = b->alloc(n * sizeof(float));
    m->rope_sin = b->alloc(n * sizeof(float));
    b->upload(m->rope_cos, cos_h, n * sizeof(float));
    b->upload(m->rope_sin, sin_h, n * sizeof(float));
    free(cos_h);
    free(sin_h);
}

void model_build(Model *m, const LlamaConfig *config, Backend *backend) {
    memset(m, 0, sizeof *m);
    config_validate(config, "model config");
    m->config = *config;
    m->backend = backend;
    const LlamaConfig *c = &m->config;
    int64_t C = c->hidden_size, F = c->intermediate_size, D = c->head_dim;
    int64_t q_dim = (int64_t)c->n_heads * D, kv_dim = (int64_t)c->n_kv_heads * D;
    size_t cur = 0;
    m->tensors = xcalloc(9 * (size_t)c->n_layers + 3, sizeof(ParamTensor));
    m->embed = add_tensor(m, &cur, 1, c->vocab_size, C, "model.embed_tokens.weight", 0);
    m->layers = xcalloc((size_t)c->n_layers, sizeof(LayerParams));
    for (int l = 0; l < c->n_layers; l++) {
        LayerParams *lp = &m->layers[l];
        lp->attn_norm = add_tensor(m, &cur, 0, C, 0, "model.layers.%d.input_layernorm.weight", l);
        lp->wqkv = add_tensor(m, &cur, 1, q_dim, C, "model.layers.%d.self_attn.q_proj.weight", l);
        add_tensor(m, &cur, 1, kv_dim, C, "model.layers.%d.self_attn.k_proj.weight", l);
        add_tensor(m, &cur, 1, kv_dim, C, "model.layers.%d.self_attn.v_proj.weight", l);
        lp->wo = add_tensor(m, &cur, 1, C, q_dim, "model.layers.%d.self_attn.o_proj.weight", l);
        lp->mlp_norm = add_tensor(m, &cur, 0, C, 0, "model.layers.%d.post_attention_layernorm.weight", l);
        lp->wgate_up = add_tensor(m, &cur, 1, F, C, "model.layers.%d.mlp.gate_proj.weight", l);
        add_tensor(m, &cur, 1, F, C, "model.layers.%d.mlp.up_proj.weight", l);
        lp->wdown = add_tensor(m, &cur, 1, C, F, "model.layers.%d.mlp.down_proj.weight", l);
    }
    m->final_norm = add_tensor(m, &cur, 0, C, 0, "model.norm.weight", 0);
    m->lm_head = c->tie_embeddings ? m->embed : add_tensor(m, &cur, 1, c->vocab_size, C, "lm_head.weight", 0);
    m->n_params = cur;
    m->params = backend->alloc(m->n_params * backend->elem_bytes);
    build_rope_tables(m);
}

static void free_activations(Model *m) {
    if (m->acts.arena) m->backend->free(m->acts.arena);
    free(m->acts.layers);
    free(m->acts.losses_host);
    free(m->acts.dlosses_host);
    memset(&m->acts, 0, sizeof m->acts);
}

void model_free(Model *m) {
    Backend *b = m->backend;
    free_activations(m);
    if (m->params) b->free(m->params);
    if (m->grads) b->free(m->grads);
    if (m->rope_cos) b->free(m->rope_cos);
    if (m->rope_sin) b->free(m->rope_sin);
    free(m->layers);
    free(m->tensors);
    memset(m, 0, sizeof *m);
}

void model_enable_grads(Model *m) {
    if (!m->grads) m->grads = m->backend->alloc(m->n_params * m->backend->elem_bytes);
}

void model_zero_grads(Model *m) {
    CHECK(m->grads != NULL, "model_zero_grads before model_enable_grads");
    m->backend->zero(m->grads, m->n_params * m->backend->elem_bytes);
}

void model_init_weights(Model *m, uint64_t seed) {
    const LlamaConfig *c = &m->config;
    float *host = xmalloc(m->n_params * sizeof(float));
    Rng rng;
    rng_seed(&rng, seed);
    double std = c->initializer_range;
    double resid_std = std / sqrt(2.0 * c->n_layers);
    for (int i = 0; i < m->n_tensors; i++) {
        const ParamTensor *t = &m->tensors[i];
        float *p = host + t->offset;
        if (!t->decay) { // norm weights
            for (size_t j = 0; j < t->numel; j++) p[j] = 1.0f;
            continue;
        }
        int residual_proj = strstr(t->name, "o_proj") || strstr(t->name, "down_proj");
        double s = residual_proj ? resid_std : std;
        for (size_t j = 0; j < t->numel; j++) p[j] = (float)(s * rng_normal(&rng));
    }
    model_set_params(m, host);
    free(host);
}

void model_get_grads_host(const Model *m, float *host) {
    CHECK(m->grads != NULL, "model_get_grads_host before model_enable_grads");
    m->backend->download_f32(host, m->grads, m->n_params);
}

void model_get_params(const Model *m, float *host) { m->backend->download_f32(host, m->params, m->n_params); }

void model_set_params(Model *m, const float *host) { m->backend->upload_f32(m->params, host, m->n_params); }

// ---------------------------------------------------------------------------------------
// checkpoints

// The weight files of a checkpoint directory: model.safetensors, or the shards named by
// model.safetensors.index.json (Hugging Face's sharded layout). Returns the count.
static int open_weight_files(const char *dir, SafeTensors **files_out) {
    char *single = path_join(dir, "model.safetensors"), *index = path_join(dir, "model.safetensors.index.json");
    SafeTensors *files = NULL;
    int n = 0;
    if (path_exists(single)) {
        files = xcalloc(1, sizeof(SafeTensors));
        st_open(&files[n++], single);
    } else if (path_exists(index)) {
        json_error_t err;
        json_t *root = json_load_file(index, 0, &err);
        if (!root) fail("%s:%d: invalid JSON: %s", index, err.line, err.text);
        json_t *map = json_object_get(root, "weight_map");
        if (!json_is_object(map)) fail("%s: no \"weight_map\" object", index);
        files = xcalloc(json_object_size(map) + 1, sizeof(SafeTensors));
        const char *key;
        json_t *value;
        json_object_foreach(map, key, value) {
            const char *file = json_string_value(value);
            if (!file || strchr(file, '/'))
                fail("%s: weight_map['%s'] must be a file name in the directory", index, key);
            int seen = 0;
            for (int i = 0; i < n && !seen; i++) seen = strcmp(strrchr(files[i].path, '/') + 1, file) == 0;
            if (seen) continue;
            char *shard = path_join(dir, file);
            st_open(&files[n++], shard);
            free(shard);
        }
        json_decref(root);
    } else {
        fail("%s not found (a checkpoint directory holds config.json and model.safetensors, or sharded "
             "model-*.safetensors with model.safetensors.index.json)",
             single);
    }
    free(single);
    free(index);
    *files_out = files;
    return n;
}

void model_load_weights(Model *m, const char *dir) {
    float *host = xmalloc(m->n_params * sizeof(float));
    model_read_weights(m, dir, host);
    model_set_params(m, host);
    free(host);
}

void model_read_weights(const Model *m, const char *dir, float *host) {
    SafeTensors *files;
    int n_files = open_weight_files(dir, &files);
    const char *where = n_files == 1 ? files[0].path : dir;
    for (int i = 0; i < m->n_tensors; i++) {
        const ParamTensor *t = &m->tensors[i];
        const StTensor *s = NULL;
        const SafeTensors *st = NULL;
        for (int f = 0; f < n_files && !s; f++) s = st_find(&files[f], t->name), st = &files[f];
        if (!s) {
            if (strcmp(t->name, "lm_head.weight") == 0)
                fail("%s: missing tensor 'lm_head.weight' (config.json says tie_word_embeddings "
                     "is false; set it to true if the model shares its embeddings)",
                     where);
            fail("%s: missing tensor '%s'", where, t->name);
        }
        int ok = s->ndim == t->ndim && s->shape[0] == t->shape[0] && (t->ndim == 1 || s->shape[1] == t->shape[1]);
        if (!ok) {
            char got[96] = "";
            for (int d = 0; d < s->ndim && d < 4; d++) {
                char part[24];
                snprintf(part, sizeof part, "%s%lld", d ? ", " : "", (long long)s->shape[d]);
                strncat(got, part, sizeof got - strlen(got) - 1);
            }
            if (t->ndim == 2)
                fail("%s: tensor '%s' has shape [%s] but config.json implies [%lld, %lld]; the "
                     "weights and config.json disagree",
                     st->path, t->name, got, (long long)t->shape[0], (long long)t->shape[1]);
            fail("%s: tensor '%s' has shape [%s] but config.json implies [%lld]; the weights "
                 "and config.json disagree",
                 st->path, t->name, got, (long long)t->shape[0]);
        }
        st_read_f32(st, s, host + t->offset);
        // a NaN or an infinity in a weight poisons every output: name it here, not as garbage later
        size_t count = (size_t)t->shape[0] * (size_t)(t->ndim == 2 ? t->shape[1] : 1);
        const float *w = host + t->offset;
        for (size_t k = 0; k < count; k++)
            if (!isfinite(w[k]))
                fail("%s: tensor '%s' holds %s at element %zu (row %zu, column %zu): the checkpoint is corrupt or "
                     "came from a run that diverged; use an earlier checkpoint",
                     st->path, t->name, isnan(w[k]) ? "NaN" : "an infinity", k,
                     t->ndim == 2 ? k / (size_t)t->shape[1] : k, t->ndim == 2 ? k % (size_t)t->shape[1] : (size_t)0);
    }
    int unknown = 0;
    for (int f = 0; f < n_files; f++)
        for (int i = 0; i < files[f].n_tensors; i++) {
            const char *name = files[f].tensors[i].name;
            int known = strstr(name, "rotary_emb.inv_freq") != NULL ||
                        (m->config.tie_embeddings && strcmp(name, "lm_head.weight") == 0);
            for (int j = 0; j < m->n_tensors && !known; j++) known = strcmp(name, m->tensors[j].name) == 0;
            if (!known && unknown++ < 3)
                fprintf(stderr, "strap: warning: %s: ignoring unexpected tensor '%s'\n", files[f].path, name);
        }
    if (unknown > 3) fprintf(stderr, "strap: warning: %s: %d unexpected tensors ignored in all\n", where, unknown);
    for (int f = 0; f < n_files; f++) st_close(&files[f]);
    free(files);
}

void model_load(Model *m, const char *dir, Backend *backend) {
    if (!is_directory(dir)) fail("model directory '%s' not found (create one with `strap init`)", dir);
    LlamaConfig c;
    config_read(&c, dir);
    model_build(m, &c, backend);
    model_load_weights(m, dir);
}

void model_save(const Model *m, const char *dir, int bf16, const float *host_params) {
    make_dirs(dir);
    float *host = NULL;
    if (!host_params) {
        host = xmalloc(m->n_params * sizeof(float));
        model_get_params(m, host);
        host_params = host;
    }
    StWrite *w = xcalloc((size_t)m->n_tensors, sizeof(StWrite));
    for (int i = 0; i < m->n_tensors; i++) {
        const ParamTensor *t = &m->tensors[i];
        w[i].name = t->name;
        w[i].dtype = bf16 ? ST_BF16 : ST_F32;
        w[i].ndim = t->ndim;
        w[i].shape[0] = t->shape[0];
        w[i].shape[1] = t->shape[1];
        w[i].data = host_params + t->offset;
    }
    char *st_path = path_join(dir, "model.safetensors");
    st_write(st_path, w, m->n_tensors, NULL);
    char *cfg_path = path_join(dir, "config.json");
    config_write(&m->config, cfg_path, bf16 ? "bfloat16" : "float32");
    free(st_path);
    free(cfg_path);
    free(w);
    free(host);
}

// ---------------------------------------------------------------------------------------
// activations

// Hands out aligned slices of one arena: first pass measures, second pass assigns.
typedef struct {
    char *base;
    size_t used;
} Carver;

static void *carve(Carver *cv, size_t bytes) {
    size_t at = cv->used;
    cv->used += (bytes + 255) & ~(size_t)255;
    return cv->base ? cv->base + at : NULL;
}

static void carve_activations(Model *m, Carver *cv, int B, int T) {
    const LlamaConfig *c = &m->config;
    Activations *a = &m->acts;
    size_t e = m->backend->elem_bytes, N = (size_t)B * T, C = c->hidden_size, F = c->intermediate_size,
           q_dim = (size_t)c->n_heads * c->head_dim, qkv_dim = q_dim + 2 * (size_t)c->n_kv_heads * c->head_dim;
    for (int l = 0; l < c->n_layers; l++) {
        LayerActs *la = &a->layers[l];
        la->resid_in = carve(cv, N * C * e);
        la->xn_attn = carve(cv, N * C * e);
        la->rstd_attn = carve(cv, N * sizeof(float));
        la->qkv = carve(cv, N * qkv_dim * e);
        la->att_out = carve(cv, N * q_dim * e);
        la->lse = carve(cv, (size_t)B * c->n_heads * T * sizeof(float));
        la->resid_mid = carve(cv, N * C * e);
        la->xn_mlp = carve(cv, N * C * e);
        la->rstd_mlp = carve(cv, N * sizeof(float));
        la->gate_up = carve(cv, N * 2 * F * e);
        la->act = carve(cv, N * F * e);
    }
    a->resid_out = carve(cv, N * C * e);
    a->xn_final = carve(cv, N * C * e);
    a->rstd_final = carve(cv, N * sizeof(float));
    a->proj_out = carve(cv, N * C * e);
    a->losses = carve(cv, N * sizeof(float));
    a->dlosses = carve(cv, N * sizeof(float));
    a->tokens = carve(cv, N * sizeof(int));
    a->targets = carve(cv, N * sizeof(int));
    a->classifier_scratch = carve(cv, (size_t)CLASSIFIER_CHUNK * c->vocab_size * e);
    a->d_resid = carve(cv, N * C * e);
    a->d_xn = carve(cv, N * C * e);
    a->d_att_out = carve(cv, N * q_dim * e);
    a->d_qkv = carve(cv, N * qkv_dim * e);
    a->d_act = carve(cv, N * F * e);
    a->d_gate_up = carve(cv, N * 2 * F * e);
}

static void ensure_activations(Model *m, int B, int T) {
    Activations *a = &m->acts;
    if (a->arena && a->B == B && a->T == T) return;
    if (!a->layers) a->layers = xcalloc((size_t)m->config.n_layers, sizeof(LayerActs));
    Carver cv = {NULL, 0};
    carve_activations(m, &cv, B, T);             // measure
    if (!a->arena || cv.used > a->arena_bytes) { // grow; otherwise re-carve in place
        if (a->arena) m->backend->free(a->arena);
        a->arena = m->backend->alloc(cv.used);
        a->arena_bytes = cv.used;
    }
    cv.base = a->arena;
    cv.used = 0;
    carve_activations(m, &cv, B, T);
    free(a->losses_host);
    free(a->dlosses_host);
    a->losses_host = xmalloc((size_t)B * T * sizeof(float));
    a->dlosses_host = xmalloc((size_t)B * T * sizeof(float));
    a->B = B;
    a->T = T;
}

// ---------------------------------------------------------------------------------------
// forward / backward

#define P(off) backend_at(b, m->params, (off))
#define G(off) backend_at(b, m->grads, (off))

float model_forward(Model *m, const int *tokens, const int *targets, int B, int T) {
    const LlamaConfig *c = &m->config;
    Backend *b = m->backend;
    if (T > c->max_seq) fail("sequence length %d is above the model's max_position_embeddings %d", T, c->max_seq);
    CHECK(B > 0 && T > 0, "empty batch (B=%d, T=%d)", B, T);
    int N = B * T, C = c->hidden_size, F = c->intermediate_size, H = c->n_heads, KV = c->n_kv_heads, D = c->head_dim,
        V = c->vocab_size;
    int q_dim = H * D, qkv_dim = q_dim + 2 * KV * D;
    for (int i = 0; i < N; i++) {
        if (tokens[i] < 0 || tokens[i] >= V)
            fail("token id %d at position %d is outside the model's vocabulary (vocab_size %d); "
                 "the data was made with a tokenizer larger than the model",
                 tokens[i], i, V);
        if (targets && targets[i] >= V)
            fail("target id %d at position %d is outside the model's vocabulary (vocab_size %d)", targets[i], i, V);
    }
    ensure_activations(m, B, T);
    Activations *a = &m->acts;
    b->upload(a->tokens, tokens, (size_t)N * sizeof(int));

    void *x0 = c->n_layers > 0 ? a->layers[0].resid_in : a->resid_out;
    b->embedding_forward(x0, a->tokens, P(m->embed), N, C);
    for (int l = 0; l < c->n_layers; l++) {
        const LayerParams *lp = &m->layers[l];
        LayerActs *la = &a->layers[l];
        b->rmsnorm_forward(la->xn_attn, la->rstd_attn, la->resid_in, P(lp->attn_norm), N, C, c->rms_norm_eps);
        b->matmul_forward(la->qkv, la->xn_attn, P(lp->wqkv), N, C, qkv_dim);
        b->rope_forward(la->qkv, m->rope_cos, m->rope_sin, B, T, H, KV, D);
        b->attention_forward(la->att_out, la->lse, la->qkv, B, T, H, KV, D);
        b->matmul_forward(a->proj_out, la->att_out, P(lp->wo), N, q_dim, C);
        b->residual_forward(la->resid_mid, la->resid_in, a->proj_out, (size_t)N * C);
        b->rmsnorm_forward(la->xn_mlp, la->rstd_mlp, la->resid_mid, P(lp->mlp_norm), N, C, c->rms_norm_eps);
        b->matmul_forward(la->gate_up, la->xn_mlp, P(lp->wgate_up), N, C, 2 * F);
        b->swiglu_forward(la->act, la->gate_up, N, F);
        b->matmul_forward(a->proj_out, la->act, P(lp->wdown), N, F, C);
        void *next = l + 1 < c->n_layers ? a->layers[l + 1].resid_in : a->resid_out;
        b->residual_forward(next, la->resid_mid, a->proj_out, (size_t)N * C);
    }
    b->rmsnorm_forward(a->xn_final, a->rstd_final, a->resid_out, P(m->final_norm), N, C, c->rms_norm_eps);
    if (!targets) return 0.0f;

    b->upload(a->targets, targets, (size_t)N * sizeof(int));
    b->classifier(a->losses, NULL, NULL, a->classifier_scratch, a->xn_final, P(m->lm_head), a->targets, NULL, N, C, V);
    b->download(a->losses_host, a->losses, (size_t)N * sizeof(float));
    double sum = 0;
    int counted = 0;
    for (int i = 0; i < N; i++) {
        if (targets[i] < 0) continue;
        sum += a->losses_host[i];
        counted++;
    }
    return counted ? (float)(sum / counted) : 0.0f;
}

void model_backward(Model *m, float grad_scale) {
    Activations *a = &m->acts;
    CHECK(a->arena != NULL, "model_backward before model_forward");
    for (int i = 0; i < a->B * a->T; i++) a->dlosses_host[i] = grad_scale;
    model_backward_weighted(m, a->dlosses_host);
}

void model_backward_weighted(Model *m, const float *dlosses_host) {
    const LlamaConfig *c = &m->config;
    Backend *b = m->backend;
    Activations *a = &m->acts;
    CHECK(m->grads != NULL, "model_backward before model_enable_grads");
    CHECK(a->arena != NULL, "model_backward before model_forward");
    int B = a->B, T = a->T, N = B * T, C = c->hidden_size, F = c->intermediate_size, H = c->n_heads, KV = c->n_kv_heads,
        D = c->head_dim, V = c->vocab_size;
    int q_dim = H * D, qkv_dim = q_dim + 2 * KV * D;

    // d(total) / d losses_i = dlosses_i; ignored targets get no gradient in the op
    b->upload(a->dlosses, dlosses_host, (size_t)N * sizeof(float));
    b->classifier(a->losses, a->d_xn, G(m->lm_head), a->classifier_scratch, a->xn_final, P(m->lm_head), a->targets,
                  a->dlosses, N, C, V);
    b->zero(a->d_resid, (size_t)N * C * b->elem_bytes);
    b->rmsnorm_backward(a->d_resid, G(m->final_norm), a->d_xn, a->resid_out, P(m->final_norm), a->rstd_final, N, C);
    for (int l = c->n_layers - 1; l >= 0; l--) {
        const LayerParams *lp = &m->layers[l];
        LayerActs *la = &a->layers[l];
        // d_resid holds the gradient of the layer output; the MLP branch first
        b->matmul_backward(a->d_act, G(lp->wdown), a->d_resid, la->act, P(lp->wdown), N, F, C);
        b->swiglu_backward(a->d_gate_up, a->d_act, la->gate_up, N, F);
        b->matmul_backward(a->d_xn, G(lp->wgate_up), a->d_gate_up, la->xn_mlp, P(lp->wgate_up), N, C, 2 * F);
        b->rmsnorm_backward(a->d_resid, G(lp->mlp_norm), a->d_xn, la->resid_mid, P(lp->mlp_norm), la->rstd_mlp, N, C);
        // d_resid now holds the gradient of resid_mid; the attention branch
        b->matmul_backward(a->d_att_out, G(lp->wo), a->d_resid, la->att_out, P(lp->wo), N, q_dim, C);
        b->attention_backward(a->d_qkv, a->d_att_out, la->att_out, la->lse, la->qkv, B, T, H, KV, D);
        b->rope_backward(a->d_qkv, m->rope_cos, m->rope_sin, B, T, H, KV, D);
        b->matmul_backward(a->d_xn, G(lp->wqkv), a->d_qkv, la->xn_attn, P(lp->wqkv), N, C, qkv_dim);
        b->rmsnorm_backward(a->d_resid, G(lp->attn_norm), a->d_xn, la->resid_in, P(lp->attn_norm), la->rstd_attn, N, C);
        if (m->on_layer_grads) m->on_layer_grads(m->on_layer_grads_ctx, l);
    }
    b->embedding_backward(G(m->embed), a->d_resid, a->tokens, N, C);
    if (m->on_layer_grads) m->on_layer_grads(m->on_layer_grads_ctx, -1);
}

void model_logits_rows(Model *m, int first, int count, float *logits_host) {
    const LlamaConfig *c = &m->config;
    Backend *b = m->backend;
    Activations *a = &m->acts;
    CHECK(a->arena != NULL, "model_logits before model_forward");
    int N = a->B * a->T, C = c->hidden_size, V = c->vocab_size;
    CHECK(first >= 0 && count >= 0 && first + count <= N, "model_logits_rows: rows [%d, %d) of %d", first,
          first + count, N);
    for (int r = 0; r < count; r += CLASSIFIER_CHUNK) {
        int rows = count - r < CLASSIFIER_CHUNK ? count - r : CLASSIFIER_CHUNK;
        b->matmul_forward(a->classifier_scratch, backend_at(b, a->xn_final, (size_t)(first + r) * C), P(m->lm_head),
                          rows, C, V);
        b->download_f32(logits_host + (size_t)r * V, a->classifier_scratch, (size_t)rows * V);
    }
}

void model_logits(Model *m, float *logits_host) { model_logits_rows(m, 0, m->acts.B * m->acts.T, logits_host); }

double model_flops_per_token(const LlamaConfig *c, int T) {
    // 6 FLOPs per parameter per token for the matmuls (2 forward, 4 backward), counting the
    // classifier but not the embedding lookup; attention: q k^T and p v, each 2*T*D per head
    // per query on average half the keys (causal), times 3 for forward + backward.
    double n_matmul =
        (double)config_param_count(c) - (c->tie_embeddings ? 0.0 : (double)c->vocab_size * c->hidden_size);
    double attn = 2.0 * 2.0 * c->n_layers * c->n_heads * c->head_dim * (T / 2.0);
    return 6.0 * n_matmul + 3.0 * attn;
}
