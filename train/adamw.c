// adamw.c: see adamw.h.
#include "adamw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../model/safetensors.h"

void adamw_build(AdamW *o, Model *model, const float *weights, float beta1, float beta2, float eps,
                 float weight_decay) {
    Backend *b = model->backend;
    memset(o, 0, sizeof *o);
    o->beta1 = beta1;
    o->beta2 = beta2;
    o->eps = eps;
    o->weight_decay = weight_decay;
    size_t bytes = model->n_params * sizeof(float);
    o->m = b->alloc(bytes);
    o->v = b->alloc(bytes);
    if (b->has_master) {
        float *host = weights ? NULL : xmalloc(bytes);
        if (host) model_get_params(model, host);
        o->master = b->alloc(bytes);
        b->upload(o->master, weights ? weights : host, bytes);
        free(host);
    }
}

void adamw_free(AdamW *o, Model *model) {
    Backend *b = model->backend;
    b->free(o->m);
    b->free(o->v);
    if (o->master) b->free(o->master);
    memset(o, 0, sizeof *o);
}

float grad_global_norm(Model *model) { return (float)sqrt(model->backend->sum_squares(model->grads, model->n_params)); }

void adamw_step(AdamW *o, Model *model, float lr, float grad_scale) {
    Backend *b = model->backend;
    o->step++;
    for (int i = 0; i < model->n_tensors; i++) {
        const ParamTensor *t = &model->tensors[i];
        b->adamw_update(backend_at(b, model->params, t->offset), o->master ? o->master + t->offset : NULL,
                        backend_at(b, model->grads, t->offset), o->m + t->offset, o->v + t->offset, t->numel, lr,
                        o->beta1, o->beta2, o->eps, t->decay ? o->weight_decay : 0.0f, grad_scale, o->step);
    }
}

static char *prefixed(const char *prefix, const char *name) {
    size_t n = strlen(prefix) + strlen(name) + 1;
    char *s = xmalloc(n);
    snprintf(s, n, "%s%s", prefix, name);
    return s;
}

static const char *const KINDS[3] = {"master.", "exp_avg.", "exp_avg_sq."};

void adamw_save(const AdamW *o, const Model *model, const char *path, const char *state_json) {
    Backend *b = model->backend;
    size_t n = model->n_params;
    float *host[3];
    for (int k = 0; k < 3; k++) host[k] = xmalloc(n * sizeof(float));
    if (o->master)
        b->download(host[0], o->master, n * sizeof(float));
    else
        model_get_params(model, host[0]);
    b->download(host[1], o->m, n * sizeof(float));
    b->download(host[2], o->v, n * sizeof(float));
    adamw_save_host(model, host[0], host[1], host[2], o->step, path, state_json);
    for (int k = 0; k < 3; k++) free(host[k]);
}

void adamw_save_host(const Model *model, const float *master, const float *m, const float *v, int step_count,
                     const char *path, const char *state_json) {
    const float *host[3] = {master, m, v};
    int count = 3 * model->n_tensors;
    StWrite *w = xcalloc((size_t)count, sizeof(StWrite));
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < model->n_tensors; i++) {
            const ParamTensor *t = &model->tensors[i];
            StWrite *x = &w[k * model->n_tensors + i];
            x->name = prefixed(KINDS[k], t->name);
            x->dtype = ST_F32;
            x->ndim = t->ndim;
            x->shape[0] = t->shape[0];
            x->shape[1] = t->shape[1];
            x->data = host[k] + t->offset;
        }
    }
    char step[32];
    snprintf(step, sizeof step, "%d", step_count);
    const char *meta[] = {"trainer_state", state_json, "step", step, NULL};
    st_write(path, w, count, meta);
    for (int i = 0; i < count; i++) free((char *)w[i].name);
    free(w);
}

char *adamw_load(AdamW *o, Model *model, const char *path) {
    Backend *b = model->backend;
    size_t n = model->n_params;
    float *host[3];
    for (int k = 0; k < 3; k++) host[k] = xmalloc(n * sizeof(float));
    char *state = adamw_load_host(model, path, host[0], host[1], host[2], &o->step);
    model_set_params(model, host[0]);
    if (o->master) b->upload(o->master, host[0], n * sizeof(float));
    b->upload(o->m, host[1], n * sizeof(float));
    b->upload(o->v, host[2], n * sizeof(float));
    for (int k = 0; k < 3; k++) free(host[k]);
    return state;
}

char *adamw_load_host(const Model *model, const char *path, float *master, float *m, float *v, int *step_out) {
    SafeTensors st;
    st_open(&st, path);
    float *host[3] = {master, m, v};
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < model->n_tensors; i++) {
            const ParamTensor *t = &model->tensors[i];
            char *name = prefixed(KINDS[k], t->name);
            const StTensor *s = st_find(&st, name);
            if (!s) fail("%s: missing tensor '%s' (the optimizer state does not match the model)", path, name);
            if ((size_t)s->numel != t->numel || s->dtype != ST_F32)
                fail("%s: tensor '%s' has %lld %s elements, expected %zu F32", path, name, (long long)s->numel,
                     s->dtype_name, t->numel);
            st_read_f32(&st, s, host[k] + t->offset);
            free(name);
        }
    }
    char *step = st_metadata(&st, "step");
    if (!step) fail("%s: no step in the metadata; the file was not written by strap train", path);
    *step_out = atoi(step);
    free(step);
    char *state = st_metadata(&st, "trainer_state");
    if (!state) fail("%s: no trainer_state in the metadata; the file was not written by strap train", path);
    st_close(&st);
    return state;
}
