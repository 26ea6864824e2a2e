// cmd_init.c: strap init: a new model with random weights.
#include <stdio.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../model/llama.h"
#include "../model/presets.h"
#include "args.h"
#include "commands.h"

int cmd_init(int argc, char **argv) {
    const char *out = NULL, *preset = NULL;
    int vocab = 0, dim = 0, layers = 0, heads = 0, kv_heads = 0, ffn = 0, max_seq = 0, tie = 0, seed = 1337, bos = -2,
        eos = -2, force = 0, bf16 = 0;
    float rope_theta = 0, eps = 0, init_std = 0;
    Flag flags[] = {
        {"--out", FLAG_STRING, &out, "DIR", "output checkpoint directory (required)", NULL},
        {"--preset", FLAG_STRING, &preset, "NAME", "start from a named shape: tiny, 15m, 125m", NULL},
        {"--vocab", FLAG_INT, &vocab, "V", "vocabulary size (258 for --tokenizer bytes shards)", NULL},
        {"--dim", FLAG_INT, &dim, "C", "model width (hidden_size)", NULL},
        {"--layers", FLAG_INT, &layers, "L", "number of transformer blocks", NULL},
        {"--heads", FLAG_INT, &heads, "H", "attention heads", NULL},
        {"--kv-heads", FLAG_INT, &kv_heads, "K", "key/value heads (divides --heads; default --heads)", NULL},
        {"--ffn", FLAG_INT, &ffn, "F", "SwiGLU hidden width (intermediate_size)", NULL},
        {"--max-seq", FLAG_INT, &max_seq, "T", "max_position_embeddings", NULL},
        {"--rope-theta", FLAG_FLOAT, &rope_theta, "X", "RoPE base (default 10000)", NULL},
        {"--norm-eps", FLAG_FLOAT, &eps, "E", "RMSNorm epsilon (default 1e-5)", NULL},
        {"--init-std", FLAG_FLOAT, &init_std, "S", "std of the normal init (default 0.02)", NULL},
        {"--tie-embeddings", FLAG_BOOL, &tie, NULL, "share the embedding and the output layer", NULL},
        {"--bos-id", FLAG_INT, &bos, "ID", "bos_token_id (default 256 when vocab is 258)", NULL},
        {"--eos-id", FLAG_INT, &eos, "ID", "eos_token_id (default 257 when vocab is 258)", NULL},
        {"--seed", FLAG_INT, &seed, "S", "random seed of the init", NULL},
        {"--bf16", FLAG_BOOL, &bf16, NULL, "write model.safetensors in BF16", NULL},
        {"--force", FLAG_BOOL, &force, NULL, "overwrite an existing model in --out", NULL},
        {0},
    };
    Command cmd = {"strap init --out DIR (--preset NAME | --vocab V --dim C --layers L --heads H "
                   "--ffn F --max-seq T) [options]",
                   "Create a Llama model with random weights: DIR/config.json and "
                   "DIR/model.safetensors (Hugging Face layout). Flags given with --preset "
                   "override the preset's values.",
                   flags,
                   0,
                   NULL,
                   0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--out", out != NULL);

    LlamaConfig c;
    memset(&c, 0, sizeof c);
    c.rope_theta = 10000.0f;
    c.rms_norm_eps = 1e-5f;
    c.initializer_range = 0.02f;
    if (preset && !preset_config(preset, &c))
        args_error(&cmd, "--preset '%s' is unknown (choose one of: %s)", preset, preset_names());
    if (vocab) c.vocab_size = vocab;
    if (dim) c.hidden_size = dim;
    if (layers) c.n_layers = layers;
    if (heads) c.n_heads = heads;
    if (kv_heads) c.n_kv_heads = kv_heads;
    if (ffn) c.intermediate_size = ffn;
    if (max_seq) c.max_seq = max_seq;
    if (rope_theta) c.rope_theta = rope_theta;
    if (eps) c.rms_norm_eps = eps;
    if (init_std) c.initializer_range = init_std;
    if (tie) c.tie_embeddings = 1;
    if (!preset) {
        args_require(&cmd, "--vocab", c.vocab_size > 0);
        args_require(&cmd, "--dim", c.hidden_size > 0);
        args_require(&cmd, "--layers", c.n_layers > 0);
        args_require(&cmd, "--heads", c.n_heads > 0);
        args_require(&cmd, "--ffn", c.intermediate_size > 0);
        args_require(&cmd, "--max-seq", c.max_seq > 0);
    }
    if (!c.n_kv_heads) c.n_kv_heads = c.n_heads;
    if (c.n_heads <= 0 || c.hidden_size % c.n_heads != 0)
        args_error(&cmd, "--dim %d must be a multiple of --heads %d", c.hidden_size, c.n_heads);
    c.head_dim = c.hidden_size / c.n_heads;
    c.bos_token_id = bos != -2 ? bos : (c.vocab_size == 258 ? 256 : -1);
    c.n_eos = 0;
    if (eos != -2 && eos >= 0)
        c.eos_token_ids[c.n_eos++] = eos;
    else if (eos == -2 && c.vocab_size == 258)
        c.eos_token_ids[c.n_eos++] = 257;
    config_validate(&c, "strap init flags");

    char *weights = path_join(out, "model.safetensors");
    if (path_exists(weights) && !force)
        fail("%s already exists; pass --force to overwrite it or choose another --out", weights);
    free(weights);
    Model m;
    model_build(&m, &c, backend_cpu(0));
    model_init_weights(&m, (uint64_t)seed);
    model_save(&m, out, bf16, NULL);
    printf("initialised %s: %lld parameters (vocab %d, dim %d, layers %d, heads %d/%d kv, ffn %d, "
           "max_seq %d%s)\n",
           out, config_param_count(&c), c.vocab_size, c.hidden_size, c.n_layers, c.n_heads, c.n_kv_heads,
           c.intermediate_size, c.max_seq, c.tie_embeddings ? ", tied" : "");
    model_free(&m);
    return 0;
}
