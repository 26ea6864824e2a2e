// init_run.h: strap init: a new Llama model with random weights, its shape from a preset
// (presets.h) and/or given sizes; writes OUT/config.json and OUT/model.safetensors.
#pragma once
#include "../base/flags.h"
#include "config.h"

typedef struct {
    const char *out;                                       // the checkpoint directory
    const char *preset;                                    // a named shape (NULL: every size given)
    int vocab, dim, layers, heads, kv_heads, ffn, max_seq; // 0: the preset's (kv_heads: heads)
    float rope_theta, norm_eps, init_std;                  // 0: the preset's, else 10000, 1e-5, 0.02
    int tie_embeddings;
    int bos_id, eos_id; // -2: 256 / 257 for a 258-id byte vocabulary, else none; -1: none
    int seed;
    int bf16;  // write the weights in BF16
    int force; // overwrite a model already in `out`
} InitOptions;

void init_options_default(InitOptions *o);
extern const Flag INIT_FLAGS[]; // strap init (model/model_flags.c)
// The shape the options describe: the preset's, then every size given. Fails on an unknown
// preset or a width the heads do not divide.
void init_config(const InitOptions *o, LlamaConfig *c);
int init_run(const InitOptions *o);
