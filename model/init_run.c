// init_run.c: see init_run.h.
#include "init_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "llama.h"
#include "presets.h"

void init_options_default(InitOptions *o) {
    memset(o, 0, sizeof *o);
    o->bos_id = o->eos_id = -2;
    o->seed = 1337;
}

void init_config(const InitOptions *o, LlamaConfig *c) {
    memset(c, 0, sizeof *c);
    c->rope_theta = 10000.0f;
    c->rms_norm_eps = 1e-5f;
    c->initializer_range = 0.02f;
    if (o->preset && !preset_config(o->preset, c))
        fail("the preset '%s' is unknown (choose one of: %s)", o->preset, preset_names());
    if (o->vocab) c->vocab_size = o->vocab;
    if (o->dim) c->hidden_size = o->dim;
    if (o->layers) c->n_layers = o->layers;
    if (o->heads) c->n_heads = o->heads;
    if (o->kv_heads) c->n_kv_heads = o->kv_heads;
    if (o->ffn) c->intermediate_size = o->ffn;
    if (o->max_seq) c->max_seq = o->max_seq;
    if (o->rope_theta) c->rope_theta = o->rope_theta;
    if (o->norm_eps) c->rms_norm_eps = o->norm_eps;
    if (o->init_std) c->initializer_range = o->init_std;
    if (o->tie_embeddings) c->tie_embeddings = 1;
    if (!c->n_kv_heads) c->n_kv_heads = c->n_heads;
    if (c->n_heads <= 0 || c->hidden_size % c->n_heads != 0)
        fail("the width %d must be a multiple of the heads %d", c->hidden_size, c->n_heads);
    c->head_dim = c->hidden_size / c->n_heads;
    c->bos_token_id = o->bos_id != -2 ? o->bos_id : (c->vocab_size == 258 ? 256 : -1);
    c->n_eos = 0;
    if (o->eos_id != -2 && o->eos_id >= 0)
        c->eos_token_ids[c->n_eos++] = o->eos_id;
    else if (o->eos_id == -2 && c->vocab_size == 258)
        c->eos_token_ids[c->n_eos++] = 257;
}

int init_run(const InitOptions *o) {
    LlamaConfig c;
    init_config(o, &c);
    config_validate(&c, "the shape asked for");
    char *weights = path_join(o->out, "model.safetensors");
    if (path_exists(weights) && !o->force)
        fail("%s already exists; choose another output directory, or ask to overwrite it", weights);
    free(weights);
    Model m;
    model_build(&m, &c, backend_cpu(0));
    model_init_weights(&m, (uint64_t)o->seed);
    model_save(&m, o->out, o->bf16, NULL);
    printf("initialised %s: %lld parameters (vocab %d, dim %d, layers %d, heads %d/%d kv, ffn %d, "
           "max_seq %d%s)\n",
           o->out, config_param_count(&c), c.vocab_size, c.hidden_size, c.n_layers, c.n_heads, c.n_kv_heads,
           c.intermediate_size, c.max_seq, c.tie_embeddings ? ", tied" : "");
    model_free(&m);
    return 0;
}
