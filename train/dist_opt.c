// dist_opt.c: data-parallel training (gradient buckets, ZeRO-1); see dist_opt.h.
#include "dist_opt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/progress.h"

// ---- the optimizer ----

static CommType elem_type(const Backend *b) { return b->elem_bytes == 2 ? COMM_BF16 : COMM_F32; }

// Gradient buckets: 25 MiB (STRAP_BUCKET_KB overrides it, e.g. for tests of many buckets).
static size_t bucket_elems(const Backend *b) {
    const char *kb = getenv("STRAP_BUCKET_KB");
    size_t bytes = kb && atol(kb) > 0 ? (size_t)atol(kb) * 1024 : (size_t)25 << 20;
    size_t n = bytes / b->elem_bytes;
    return n ? n : 1;
}

// ---- gradient buckets, started as soon as the backward has finished them ----

// Starts the reduction of bucket k, elements [k * bucket, (k + 1) * bucket) of the gradient:
// zero = 0, an all-reduce; zero = 1, a reduce of each piece into the rank that owns it
// (chunk r = [r * shard, (r + 1) * shard) is rank r's; the tail, which every rank updates,
// is all-reduced). The pieces of all buckets together are a reduce-scatter.
static void start_bucket(DistOpt *d, int k) {
    Model *m = d->model;
    size_t at = (size_t)k * d->bucket, end = m->n_params - at < d->bucket ? m->n_params : at + d->bucket;
    CommType t = elem_type(m->backend);
    if (!d->zero) {
        d->dev->reduce_start(backend_at(m->backend, m->grads, at), end - at, t, COMM_SUM, COMM_ALL, "gradients");
        return;
    }
    size_t split = d->shard * (size_t)d->world;
    while (at < end) {
        int owner = at < split ? (int)(at / d->shard) : COMM_ALL;
        size_t piece_end = owner == COMM_ALL ? end : (size_t)(owner + 1) * d->shard;
        if (piece_end > end) piece_end = end;
        d->dev->reduce_start(backend_at(m->backend, m->grads, at), piece_end - at, t, COMM_SUM, owner,
                             owner == COMM_ALL ? "gradient tail" : "gradient chunks");
        at = piece_end;
    }
}

// Starts, last first, every bucket not started yet that lies wholly at or after `from`.
static void start_buckets_from(DistOpt *d, size_t from) {
    while (d->unstarted > 0 && (size_t)(d->unstarted - 1) * d->bucket >= from) start_bucket(d, --d->unstarted);
}

// Model.on_layer_grads: everything from layer l's first parameter on is final (l = -1: all).
static void on_layer_grads(void *ctx, int layer) {
    DistOpt *d = ctx;
    if (!d->armed) return;
    start_buckets_from(d, layer >= 0 ? d->model->layers[layer].attn_norm : 0);
    if (layer < 0) d->armed = 0;
}

void dist_overlap_arm(DistOpt *d) {
    if (d->overlap) d->armed = 1;
}

void dist_opt_build(DistOpt *d, Model *model, const float *initial, float beta1, float beta2, float eps,
                    float weight_decay, int zero) {
    memset(d, 0, sizeof *d);
    d->model = model;
    d->rank = comm_rank();
    d->world = comm_world();
    d->zero = zero && d->world > 1;
    d->host = comm_host();
    d->dev = comm_for_backend(model->backend);
    d->bucket = bucket_elems(model->backend);
    d->n_buckets = (int)((model->n_params + d->bucket - 1) / d->bucket);
    d->unstarted = d->n_buckets;
    if (d->dev) { // the hook stays inert until dist_overlap_arm
        // on by default where the collectives run beside the compute (NCCL's stream); MPI
        // on CPU ranks moves data only inside MPI calls, on the cores the backward uses
        const char *env = getenv("STRAP_OVERLAP");
        d->overlap = env && *env ? strcmp(env, "0") != 0 : strcmp(d->dev->name, "mpi") != 0;
        model->on_layer_grads = on_layer_grads;
        model->on_layer_grads_ctx = d;
    }
    if (!d->zero) {
        adamw_build(&d->opt, model, initial, beta1, beta2, eps, weight_decay);
        return;
    }
    // ZeRO-1: only the hyper-parameters live in d->opt; the state is this rank's chunk
    d->opt.beta1 = beta1, d->opt.beta2 = beta2, d->opt.eps = eps, d->opt.weight_decay = weight_decay;
    Backend *b = model->backend;
    size_t n = model->n_params;
    d->shard = n / (size_t)d->world;
    d->tail = n - d->shard * (size_t)d->world;
    size_t local = d->shard + d->tail, lo = (size_t)d->rank * d->shard;
    d->m = b->alloc(local * sizeof(float));
    d->v = b->alloc(local * sizeof(float));
    if (b->has_master) {
        float *host = xmalloc(local * sizeof(float));
        float *full = initial ? NULL : xmalloc(n * sizeof(float));
        if (full) model_get_params(model, full);
        const float *w = initial ? initial : full;
        memcpy(host, w + lo, d->shard * sizeof(float));
        memcpy(host + d->shard, w + d->shard * d->world, d->tail * sizeof(float));
        d->master = b->alloc(local * sizeof(float));
        b->upload(d->master, host, local * sizeof(float));
        free(full);
        free(host);
    }
}

void dist_opt_free(DistOpt *d) {
    if (d->model->on_layer_grads_ctx == d) d->model->on_layer_grads = NULL, d->model->on_layer_grads_ctx = NULL;
    if (!d->zero) {
        adamw_free(&d->opt, d->model);
    } else {
        Backend *b = d->model->backend;
        b->free(d->m);
        b->free(d->v);
        if (d->master) b->free(d->master);
    }
    memset(d, 0, sizeof *d);
}

float dist_reduce_grads(DistOpt *d) {
    Model *m = d->model;
    Backend *b = m->backend;
    if (!d->dev) return grad_global_norm(m);
    d->armed = 0;
    start_buckets_from(d, 0); // those the backward did not start, in the same order
    d->dev->wait_started("gradients");
    d->unstarted = d->n_buckets;
    if (!d->zero) return grad_global_norm(m); // the same summed gradient on every rank
    // zero = 1: this rank's chunk and the tail are summed; the norm adds up the chunks
    size_t split = d->shard * (size_t)d->world;
    double sq = b->sum_squares(backend_at(b, m->grads, (size_t)d->rank * d->shard), d->shard);
    if (d->rank == 0 && d->tail) sq += b->sum_squares(backend_at(b, m->grads, split), d->tail);
    dist_sum(&sq, 1);
    return (float)sqrt(sq);
}

// Updates the elements [from, from + count) of the parameter vector whose optimizer state
// starts at `local` in the chunk buffers, tensor by tensor (weight decay is per tensor).
static void update_range(DistOpt *d, size_t from, size_t count, size_t local, float lr, float grad_scale) {
    Model *m = d->model;
    Backend *b = m->backend;
    AdamW *o = &d->opt;
    for (int i = 0; i < m->n_tensors; i++) {
        const ParamTensor *t = &m->tensors[i];
        size_t lo = t->offset > from ? t->offset : from;
        size_t hi = t->offset + t->numel < from + count ? t->offset + t->numel : from + count;
        if (lo >= hi) continue;
        size_t at = local + (lo - from);
        b->adamw_update(backend_at(b, m->params, lo), d->master ? d->master + at : NULL, backend_at(b, m->grads, lo),
                        d->m + at, d->v + at, hi - lo, lr, o->beta1, o->beta2, o->eps,
                        t->decay ? o->weight_decay : 0.0f, grad_scale, o->step);
    }
}

void dist_opt_step(DistOpt *d, float lr, float grad_scale) {
    if (!d->zero) {
        adamw_step(&d->opt, d->model, lr, grad_scale);
        return;
    }
    d->opt.step++;
    size_t split = d->shard * (size_t)d->world;
    update_range(d, (size_t)d->rank * d->shard, d->shard, 0, lr, grad_scale);
    if (d->tail) update_range(d, split, d->tail, d->shard, lr, grad_scale);
    d->dev->all_gather(d->model->params, d->shard, elem_type(d->model->backend), "parameters");
}

// ---- checkpoints ----

// The full fp32 vector of a chunked buffer (zero = 1) on every rank.
static void gather_chunks(DistOpt *d, const float *chunk /* device, shard + tail */, float *full /* host, n */) {
    Backend *b = d->model->backend;
    size_t split = d->shard * (size_t)d->world;
    float *local = xmalloc((d->shard + d->tail) * sizeof(float));
    b->download(local, chunk, (d->shard + d->tail) * sizeof(float));
    memcpy(full + (size_t)d->rank * d->shard, local, d->shard * sizeof(float));
    memcpy(full + split, local + d->shard, d->tail * sizeof(float));
    d->host->all_gather(full, d->shard, COMM_F32, "optimizer state for the checkpoint");
    free(local);
}

float *dist_opt_save(DistOpt *d, const char *path, const char *state_json) {
    Model *m = d->model;
    Backend *b = m->backend;
    size_t n = m->n_params;
    if (!d->zero) {
        if (d->rank != 0) return NULL; // every rank holds the same state
        adamw_save(&d->opt, m, path, state_json);
        float *master = xmalloc(n * sizeof(float));
        if (d->opt.master)
            b->download(master, d->opt.master, n * sizeof(float));
        else
            model_get_params(m, master);
        return master;
    }
    float *master = xmalloc(n * sizeof(float)), *mom = xmalloc(n * sizeof(float)), *var = xmalloc(n * sizeof(float));
    if (d->master)
        gather_chunks(d, d->master, master);
    else
        model_get_params(m, master); // fp32 parameters are the master weights (all-gathered)
    gather_chunks(d, d->m, mom);
    gather_chunks(d, d->v, var);
    if (d->rank == 0) adamw_save_host(m, master, mom, var, d->opt.step, path, state_json);
    free(mom);
    free(var);
    if (d->rank != 0) {
        free(master);
        return NULL;
    }
    return master;
}

char *dist_opt_load(DistOpt *d, const char *path) {
    if (!d->zero) return adamw_load(&d->opt, d->model, path);
    Model *m = d->model;
    Backend *b = m->backend;
    size_t n = m->n_params, split = d->shard * (size_t)d->world, local = d->shard + d->tail;
    size_t lo = (size_t)d->rank * d->shard;
    float *full[3], *chunk = xmalloc(local * sizeof(float));
    for (int k = 0; k < 3; k++) full[k] = xmalloc(n * sizeof(float));
    char *state = adamw_load_host(m, path, full[0], full[1], full[2], &d->opt.step);
    model_set_params(m, full[0]);
    float *dst[3] = {d->master, d->m, d->v};
    for (int k = 0; k < 3; k++) {
        if (!dst[k]) continue;
        memcpy(chunk, full[k] + lo, d->shard * sizeof(float));
        memcpy(chunk + d->shard, full[k] + split, d->tail * sizeof(float));
        b->upload(dst[k], chunk, local * sizeof(float));
    }
    for (int k = 0; k < 3; k++) free(full[k]);
    free(chunk);
    return state;
}

// ---- strap bench step: the share of the all-reduce hidden behind the backward ----

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void dist_time_overlap(DistOpt *d, const int *tokens, const int *targets, int B, int T, int steps,
                       DistOverlapTiming *t) {
    CHECK(d->dev && steps > 0, "dist_time_overlap needs several ranks and steps > 0");
    Model *m = d->model;
    Backend *b = m->backend;
    int keep = d->overlap;
    d->overlap = 1;
    double *times = xmalloc(3 * (size_t)steps * sizeof(double)), med[3]; // [mode][step]
    for (int mode = 0; mode < 3; mode++) { // compute alone, then serial reduce, then overlapped
        for (int i = -1; i < steps; i++) { // i = -1: warm-up
            b->synchronize();
            d->host->barrier();
            double t0 = now_seconds();
            model_zero_grads(m);
            model_forward(m, tokens, targets, B, T);
            if (mode == 2) dist_overlap_arm(d);
            model_backward(m, 1.0f / (float)(B * T));
            if (mode == 0)
                grad_global_norm(m);
            else
                dist_reduce_grads(d);
            b->synchronize();
            if (i >= 0) times[(size_t)mode * steps + i] = now_seconds() - t0;
        }
        qsort(times + (size_t)mode * steps, (size_t)steps, sizeof(double), cmp_double);
        med[mode] = times[(size_t)mode * steps + steps / 2] * 1e3;
    }
    d->host->all_reduce(med, 3, COMM_F64, COMM_MAX, "overlap timings");
    d->overlap = keep;
    free(times);
    t->compute_ms = med[0], t->serial_ms = med[1], t->overlap_ms = med[2];
    t->comm_ms = med[1] > med[0] ? med[1] - med[0] : 0;
    t->exposed_ms = med[2] > med[0] ? med[2] - med[0] : 0;
    t->hidden = t->comm_ms > 0 ? 1 - t->exposed_ms / t->comm_ms : 0;
    if (t->hidden < 0) t->hidden = 0;
    if (t->hidden > 1) t->hidden = 1;
}
