// presets.c: see presets.h.
#include "presets.h"

#include <string.h>

typedef struct {
    const char *name;
    int vocab, dim, layers, heads, kv_heads, ffn, max_seq, tied;
    float rope_theta;
} Preset;

static const Preset PRESETS[] = {
    {"tiny", 258, 64, 2, 4, 2, 176, 256, 0, 10000.0f},
    {"15m", 32000, 288, 6, 6, 6, 768, 256, 0, 10000.0f},
    {"125m", 49152, 576, 30, 9, 3, 1536, 2048, 1, 100000.0f},
};

int preset_config(const char *name, LlamaConfig *c) {
    for (size_t i = 0; i < sizeof PRESETS / sizeof PRESETS[0]; i++) {
        const Preset *p = &PRESETS[i];
        if (strcmp(p->name, name) != 0) continue;
        memset(c, 0, sizeof *c);
        c->vocab_size = p->vocab;
        c->hidden_size = p->dim;
        c->n_layers = p->layers;
        c->n_heads = p->heads;
        c->n_kv_heads = p->kv_heads;
        c->head_dim = p->dim / p->heads;
        c->intermediate_size = p->ffn;
        c->max_seq = p->max_seq;
        c->tie_embeddings = p->tied;
        c->rope_theta = p->rope_theta;
        c->rms_norm_eps = 1e-5f;
        c->initializer_range = 0.02f;
        c->bos_token_id = -1;
        c->n_eos = 0;
        return 1;
    }
    return 0;
}

const char *preset_names(void) { return "tiny, 15m, 125m"; }
