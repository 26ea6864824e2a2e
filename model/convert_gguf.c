// convert_gguf.c: see convert_gguf.h.
#include "convert_gguf.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/json_file.h"
#include "../kernels/backend.h"
#include "llama.h"

// ---------------------------------------------------------------------------------------
// config

// llama.<name> as an int in [lo, hi]; fails when absent and required.
static int meta_int(const GgufFile *g, const char *name, int required, int fallback, int lo, int hi) {
    char key[128];
    snprintf(key, sizeof key, "llama.%s", name);
    const GgufKV *kv = gguf_find(g, key);
    if (kv && kv->type == GGUF_ARRAY)
        fail("%s: metadata '%s' is a per-layer array; strap supports models whose layers all have the same shape",
             g->path, key);
    int64_t v;
    if (!gguf_get_int(g, key, &v)) {
        if (required) fail("%s: metadata '%s' is missing (a llama GGUF needs it)", g->path, key);
        return fallback;
    }
    if (v < lo || v > hi) fail("%s: metadata '%s' = %" PRId64 " is outside [%d, %d]", g->path, key, v, lo, hi);
    return (int)v;
}

// A tokenizer id (tokenizer.ggml.<name>_token_id) or -1.
static int token_id(const GgufFile *g, const char *name, int vocab) {
    char key[128];
    snprintf(key, sizeof key, "tokenizer.ggml.%s_token_id", name);
    int64_t v;
    if (!gguf_get_int(g, key, &v)) return -1;
    if (v < 0 || v >= vocab)
        fail("%s: metadata '%s' = %" PRId64 " is outside the vocabulary (%d ids)", g->path, key, v, vocab);
    return (int)v;
}

void convert_gguf_config(const GgufFile *g, LlamaConfig *c) {
    gguf_require_architecture(g, "llama");
    memset(c, 0, sizeof *c);
    if (meta_int(g, "expert_count", 0, 0, 0, 1 << 20) > 0)
        fail("%s: this is a mixture-of-experts model (llama.expert_count = %d, e.g. Mixtral); strap converts dense "
             "Llama models only",
             g->path, meta_int(g, "expert_count", 0, 0, 0, 1 << 20));
    const char *scaling = gguf_get_string(g, "llama.rope.scaling.type");
    if (scaling && strcmp(scaling, "none") != 0)
        fail("%s: llama.rope.scaling.type is '%s'; strap implements plain RoPE only (no rope scaling yet)", g->path,
             scaling);
    if (gguf_find_tensor(g, "rope_freqs.weight"))
        fail("%s: the model has a 'rope_freqs.weight' tensor (Llama 3.1-style RoPE frequency scaling); strap "
             "implements plain RoPE only",
             g->path);
    c->hidden_size = meta_int(g, "embedding_length", 1, 0, 1, 1 << 20);
    c->n_layers = meta_int(g, "block_count", 1, 0, 1, 1 << 16);
    c->intermediate_size = meta_int(g, "feed_forward_length", 1, 0, 1, 1 << 24);
    c->n_heads = meta_int(g, "attention.head_count", 1, 0, 1, 1 << 16);
    c->n_kv_heads = meta_int(g, "attention.head_count_kv", 0, c->n_heads, 1, 1 << 16);
    c->max_seq = meta_int(g, "context_length", 1, 0, 1, 1 << 24);
    int key_len = meta_int(g, "attention.key_length", 0, 0, 1, 1 << 16);
    int value_len = meta_int(g, "attention.value_length", 0, 0, 1, 1 << 16);
    int rope_dims = meta_int(g, "rope.dimension_count", 0, 0, 1, 1 << 16);
    if (key_len && value_len && key_len != value_len)
        fail("%s: llama.attention.key_length (%d) differs from value_length (%d); strap needs one head_dim", g->path,
             key_len, value_len);
    c->head_dim = key_len ? key_len : value_len ? value_len : rope_dims ? rope_dims : c->hidden_size / c->n_heads;
    if (rope_dims && rope_dims != c->head_dim)
        fail("%s: llama.rope.dimension_count is %d but head_dim is %d; strap rotates whole heads (no partial "
             "rotary embeddings)",
             g->path, rope_dims, c->head_dim);
    double eps, theta = 10000.0;
    if (!gguf_get_float(g, "llama.attention.layer_norm_rms_epsilon", &eps))
        fail("%s: metadata 'llama.attention.layer_norm_rms_epsilon' is missing (a llama GGUF needs it)", g->path);
    gguf_get_float(g, "llama.rope.freq_base", &theta);
    c->rms_norm_eps = (float)eps;
    c->rope_theta = (float)theta;
    c->initializer_range = 0.02f;

    const GgufTensor *embd = gguf_find_tensor(g, "token_embd.weight");
    if (!embd) fail("%s: tensor 'token_embd.weight' is missing (the token embeddings)", g->path);
    if (embd->n_dims != 2 || embd->ne[0] != c->hidden_size)
        fail("%s: tensor 'token_embd.weight' has ne = [%" PRId64 ", %" PRId64 "], expected [%d, vocab]", g->path,
             embd->ne[0], embd->ne[1], c->hidden_size);
    if (embd->ne[1] > (1 << 24))
        fail("%s: token_embd.weight has %" PRId64 " rows, above the supported 16777216", g->path, embd->ne[1]);
    c->vocab_size = (int)embd->ne[1];
    int vs = meta_int(g, "vocab_size", 0, c->vocab_size, 1, 1 << 24);
    if (vs != c->vocab_size)
        fail("%s: llama.vocab_size is %d but token_embd.weight has %d rows", g->path, vs, c->vocab_size);
    const GgufKV *tokens = gguf_find(g, "tokenizer.ggml.tokens");
    if (tokens && tokens->n > (uint64_t)c->vocab_size)
        fail("%s: the tokenizer has %" PRIu64 " tokens but token_embd.weight only %d rows", g->path, tokens->n,
             c->vocab_size);
    c->tie_embeddings = gguf_find_tensor(g, "output.weight") == NULL;

    c->bos_token_id = token_id(g, "bos", c->vocab_size);
    const char *eos_keys[] = {"eos", "eot", "eom"};
    for (int i = 0; i < 3; i++) {
        int id = token_id(g, eos_keys[i], c->vocab_size), dup = 0;
        for (int j = 0; j < c->n_eos; j++) dup |= c->eos_token_ids[j] == id;
        if (id >= 0 && !dup) c->eos_token_ids[c->n_eos++] = id;
    }
    config_validate(c, g->path);
}

// ---------------------------------------------------------------------------------------
// RoPE row permutation

void gguf_unpermute_rope(const float *src, float *dst, int64_t rows, int64_t cols, int n_head) {
    CHECK(n_head > 0 && rows % (2 * n_head) == 0, "gguf_unpermute_rope: %" PRId64 " rows, %d heads", rows, n_head);
    int64_t D = rows / n_head, half = D / 2;
    for (int64_t h = 0; h < n_head; h++)
        for (int64_t j = 0; j < 2; j++)
            for (int64_t i = 0; i < half; i++)
                memcpy(dst + (h * D + j * half + i) * cols, src + (h * D + 2 * i + j) * cols,
                       (size_t)cols * sizeof(float));
}

void gguf_permute_rope(const float *src, float *dst, int64_t rows, int64_t cols, int n_head) {
    CHECK(n_head > 0 && rows % (2 * n_head) == 0, "gguf_permute_rope: %" PRId64 " rows, %d heads", rows, n_head);
    int64_t D = rows / n_head, half = D / 2;
    for (int64_t h = 0; h < n_head; h++)
        for (int64_t j = 0; j < 2; j++)
            for (int64_t i = 0; i < half; i++)
                memcpy(dst + (h * D + 2 * i + j) * cols, src + (h * D + j * half + i) * cols,
                       (size_t)cols * sizeof(float));
}

// ---------------------------------------------------------------------------------------
// tensor names

static const struct {
    const char *hf, *gguf;
} LAYER_NAMES[] = {
    {"input_layernorm.weight", "attn_norm.weight"},    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},      {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.o_proj.weight", "attn_output.weight"}, {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},       {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
};

// The GGUF name of a Hugging Face parameter name.
static void gguf_name_of(const char *hf, char *out, size_t n) {
    if (strcmp(hf, "model.embed_tokens.weight") == 0)
        snprintf(out, n, "token_embd.weight");
    else if (strcmp(hf, "model.norm.weight") == 0)
        snprintf(out, n, "output_norm.weight");
    else if (strcmp(hf, "lm_head.weight") == 0)
        snprintf(out, n, "output.weight");
    else {
        int layer, pos = 0;
        CHECK(sscanf(hf, "model.layers.%d.%n", &layer, &pos) == 1 && pos > 0, "unexpected parameter %s", hf);
        for (size_t i = 0; i < sizeof LAYER_NAMES / sizeof LAYER_NAMES[0]; i++)
            if (strcmp(hf + pos, LAYER_NAMES[i].hf) == 0) {
                snprintf(out, n, "blk.%d.%s", layer, LAYER_NAMES[i].gguf);
                return;
            }
        CHECK(0, "unexpected parameter %s", hf);
    }
}

static void shape_text(const GgufTensor *t, char *buf, size_t n) {
    int len = snprintf(buf, n, "[");
    for (uint32_t d = 0; d < t->n_dims && len < (int)n; d++)
        len += snprintf(buf + len, n - (size_t)len, "%s%" PRId64, d ? ", " : "", t->ne[d]);
    if (len < (int)n) snprintf(buf + len, n - (size_t)len, "]");
}

// The GGUF tensor of model parameter p, checked (present, shape, dequantisable).
static const GgufTensor *tensor_for(const GgufFile *g, const ParamTensor *p, uint8_t *used) {
    char name[128];
    gguf_name_of(p->name, name, sizeof name);
    const GgufTensor *t = gguf_find_tensor(g, name);
    if (!t) fail("%s: tensor '%s' (%s) is missing", g->path, name, p->name);
    int64_t want0 = p->ndim == 2 ? p->shape[1] : p->shape[0], want1 = p->ndim == 2 ? p->shape[0] : 1;
    int ok = t->ne[0] == want0 && t->ne[1] == want1 && t->ne[2] == 1 && t->ne[3] == 1;
    if (!ok) {
        char got[96];
        shape_text(t, got, sizeof got);
        if (p->ndim == 2)
            fail("%s: tensor '%s' has ne = %s, but the llama.* metadata implies [%" PRId64 ", %" PRId64
                 "] (Hugging Face %s of shape (%" PRId64 ", %" PRId64 "))",
                 g->path, name, got, want0, want1, p->name, p->shape[0], p->shape[1]);
        fail("%s: tensor '%s' has ne = %s, but the llama.* metadata implies [%" PRId64 "] (%s)", g->path, name, got,
             want0, p->name);
    }
    gguf_require_dequantizable(g, t);
    used[t - g->tensors] = 1;
    return t;
}

// ---------------------------------------------------------------------------------------
// tokenizer

#define LLAMA3_REGEX                                                                                         \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|" \
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

static json_t *byte_level(int use_regex) {
    return json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets", 1, "use_regex",
                     use_regex);
}

// The pre_tokenizer of a tokenizer.ggml.pre name (as Hugging Face writes it for that model).
// *llama3: the Llama 3 pre-tokenizer, for which llama.cpp also ignores merges and adds BOS
// unless tokenizer.ggml.add_bos_token says otherwise.
static json_t *pre_tokenizer(const GgufFile *g, const char *pre, int *llama3) {
    *llama3 = 0;
    if (strcmp(pre, "llama-bpe") == 0 || strcmp(pre, "llama3") == 0 || strcmp(pre, "llama-v3") == 0) {
        *llama3 = 1; // Llama 3's tokenizer.json sets ignore_merges too
        json_t *split = json_pack("{s:s, s:{s:s}, s:s, s:b}", "type", "Split", "pattern", "Regex", LLAMA3_REGEX,
                                  "behavior", "Isolated", "invert", 0);
        return json_pack("{s:s, s:[o, o]}", "type", "Sequence", "pretokenizers", split, byte_level(0));
    }
    if (strcmp(pre, "smollm") == 0) {
        json_t *digits = json_pack("{s:s, s:b}", "type", "Digits", "individual_digits", 1);
        return json_pack("{s:s, s:[o, o]}", "type", "Sequence", "pretokenizers", digits, byte_level(1));
    }
    if (strcmp(pre, "gpt-2") == 0 || strcmp(pre, "gpt2") == 0) return byte_level(1);
    fail("%s: tokenizer.ggml.pre is '%s', a pre-tokenizer strap does not know yet (it maps llama-bpe, smollm "
         "and gpt-2); guessing would split text differently from llama.cpp",
         g->path, pre);
}

static json_t *added_token(const char *content, int id, int special) {
    return json_pack("{s:i, s:s, s:b, s:b, s:b, s:b, s:b}", "id", id, "content", content, "single_word", 0, "lstrip", 0,
                     "rstrip", 0, "normalized", !special, "special", special);
}

static void write_json(const char *dir, const char *name, json_t *root, int indent) {
    char *path = path_join(dir, name);
    json_write_atomic(path, root, JSON_INDENT(indent) | JSON_PRESERVE_ORDER);
    free(path);
}

enum { TOK_NORMAL = 1, TOK_UNKNOWN = 2, TOK_CONTROL = 3, TOK_USER = 4, TOK_UNUSED = 5, TOK_BYTE = 6 };

// Builds the three JSON documents (no files written); NULL *tok when the GGUF has no
// tokenizer.
static void build_tokenizer(const GgufFile *g, const LlamaConfig *c, ConvertInfo *info, json_t **tok_out,
                            json_t **cfg_out, json_t **gen_out) {
    *tok_out = *cfg_out = *gen_out = NULL;
    const char *model = gguf_get_string(g, "tokenizer.ggml.model");
    if (!model) return;
    snprintf(info->tokenizer_model, sizeof info->tokenizer_model, "%s", model);
    if (strcmp(model, "llama") == 0)
        fail("%s: tokenizer.ggml.model is 'llama' (a SentencePiece tokenizer, as in Llama 1/2 and Mistral); strap "
             "supports byte-level BPE ('gpt2') tokenizers only, not SentencePiece yet",
             g->path);
    if (strcmp(model, "gpt2") != 0)
        fail("%s: tokenizer.ggml.model is '%s'; strap supports byte-level BPE ('gpt2') tokenizers only", g->path,
             model);
    const char *pre = gguf_get_string(g, "tokenizer.ggml.pre");
    if (!pre)
        fail("%s: metadata 'tokenizer.ggml.pre' is missing; strap needs it to choose the pre-tokenizer (re-convert "
             "the model with a current llama.cpp)",
             g->path);
    snprintf(info->tokenizer_pre, sizeof info->tokenizer_pre, "%s", pre);
    int ignore_merges;
    json_t *pretok = pre_tokenizer(g, pre, &ignore_merges);

    const GgufKV *tokens = gguf_find(g, "tokenizer.ggml.tokens");
    const GgufKV *types = gguf_find(g, "tokenizer.ggml.token_type");
    const GgufKV *merges = gguf_find(g, "tokenizer.ggml.merges");
    if (!tokens || tokens->type != GGUF_ARRAY || tokens->elem != GGUF_STRING)
        fail("%s: metadata 'tokenizer.ggml.tokens' (an array of strings) is missing", g->path);
    if (!merges || merges->type != GGUF_ARRAY || merges->elem != GGUF_STRING)
        fail("%s: metadata 'tokenizer.ggml.merges' (an array of strings) is missing; a BPE tokenizer needs it",
             g->path);
    if (types && (types->type != GGUF_ARRAY || types->n != tokens->n))
        fail("%s: metadata 'tokenizer.ggml.token_type' must be an array of %" PRIu64 " integers (one per token)",
             g->path, tokens->n);

    json_t *vocab = json_object(), *added = json_array(), *decoder_tokens = json_object();
    for (uint64_t i = 0; i < tokens->n; i++) {
        const char *text = tokens->strings[i];
        int type = types ? (int)gguf_array_int(g, types, i) : TOK_NORMAL;
        if (type == TOK_UNUSED || tokens->str_len[i] == 0) {
            info->n_skipped++;
            continue;
        }
        if (strlen(text) != tokens->str_len[i])
            fail("%s: token %" PRIu64 " contains a NUL byte, which tokenizer.json cannot hold", g->path, i);
        if (json_object_get(vocab, text)) { // a duplicate string: the first id keeps it
            info->n_skipped++;
            continue;
        }
        if (json_object_set_new(vocab, text, json_integer((json_int_t)i)) != 0)
            fail("%s: token %" PRIu64 " is not valid UTF-8; tokenizer.json cannot hold it", g->path, i);
        if (type == TOK_CONTROL || type == TOK_USER) {
            json_t *a = added_token(text, (int)i, type == TOK_CONTROL);
            json_array_append_new(added, a);
            char id[24];
            snprintf(id, sizeof id, "%" PRIu64, i);
            json_t *d = json_deep_copy(a);
            json_object_del(d, "id");
            json_object_set_new(decoder_tokens, id, d);
            if (type == TOK_CONTROL)
                info->n_control++;
            else
                info->n_user++;
        }
    }
    info->vocab_tokens = (int)json_object_size(vocab);

    json_t *merge_list = json_array();
    for (uint64_t i = 0; i < merges->n; i++) {
        const char *m = merges->strings[i];
        const char *space = strchr(m, ' ');
        if (!space || space == m || !space[1] || strchr(space + 1, ' '))
            fail("%s: tokenizer.ggml.merges[%" PRIu64 "] is '%s', expected 'left right' (two tokens, one space)",
                 g->path, i, m);
        json_t *pair = json_pack("[s%, s]", m, (size_t)(space - m), space + 1);
        if (!pair) fail("%s: tokenizer.ggml.merges[%" PRIu64 "] is not valid UTF-8", g->path, i);
        json_array_append_new(merge_list, pair);
    }
    info->n_merges = (int)merges->n;

    int add_bos = ignore_merges; // llama.cpp's default: only the Llama 3 pre-tokenizer adds BOS
    gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &add_bos);
    int bos = token_id(g, "bos", c->vocab_size), eos = token_id(g, "eos", c->vocab_size),
        pad = token_id(g, "padding", c->vocab_size), unk = token_id(g, "unknown", c->vocab_size);
    const char *bos_text = bos >= 0 && (uint64_t)bos < tokens->n ? tokens->strings[bos] : NULL;
    const char *eos_text = eos >= 0 && (uint64_t)eos < tokens->n ? tokens->strings[eos] : NULL;
    const char *pad_text = pad >= 0 && (uint64_t)pad < tokens->n ? tokens->strings[pad] : NULL;
    const char *unk_text = unk >= 0 && (uint64_t)unk < tokens->n ? tokens->strings[unk] : NULL;

    json_t *post = json_null();
    if (add_bos && bos_text) { // what Llama 3's tokenizer.json does: prepend BOS
        post =
            json_pack("{s:s, s:[{s:{s:s, s:i}}, {s:{s:s, s:i}}], s:[{s:{s:s, s:i}}, {s:{s:s, s:i}}, "
                      "{s:{s:s, s:i}}, {s:{s:s, s:i}}], s:{s:{s:s, s:[i], s:[s]}}}",
                      "type", "TemplateProcessing", "single", "SpecialToken", "id", bos_text, "type_id", 0, "Sequence",
                      "id", "A", "type_id", 0, "pair", "SpecialToken", "id", bos_text, "type_id", 0, "Sequence", "id",
                      "A", "type_id", 0, "SpecialToken", "id", bos_text, "type_id", 1, "Sequence", "id", "B", "type_id",
                      1, "special_tokens", bos_text, "id", bos_text, "ids", bos, "tokens", bos_text);
        CHECK(post != NULL, "json_pack (post_processor) failed");
    }
    json_t *bpe = json_pack("{s:s, s:n, s:n, s:n, s:n, s:b, s:b, s:b, s:o, s:o}", "type", "BPE", "dropout", "unk_token",
                            "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", 0, "byte_fallback", 0,
                            "ignore_merges", ignore_merges, "vocab", vocab, "merges", merge_list);
    json_t *tok = json_pack("{s:s, s:n, s:n, s:o, s:n, s:o, s:o, s:o, s:o}", "version", "1.0", "truncation", "padding",
                            "added_tokens", added, "normalizer", "pre_tokenizer", pretok, "post_processor", post,
                            "decoder", byte_level(1), "model", bpe);
    CHECK(bpe != NULL && tok != NULL, "json_pack (tokenizer.json) failed");

    json_t *cfg = json_object();
    json_object_set_new(cfg, "add_bos_token", json_boolean(add_bos));
    json_object_set_new(cfg, "add_eos_token", json_false());
    json_object_set_new(cfg, "added_tokens_decoder", decoder_tokens);
    json_object_set_new(cfg, "bos_token", bos_text ? json_string(bos_text) : json_null());
    json_object_set_new(cfg, "eos_token", eos_text ? json_string(eos_text) : json_null());
    json_object_set_new(cfg, "pad_token", pad_text ? json_string(pad_text) : json_null());
    json_object_set_new(cfg, "unk_token", unk_text ? json_string(unk_text) : json_null());
    const char *tmpl = gguf_get_string(g, "tokenizer.chat_template");
    if (tmpl) {
        json_t *t = json_string(tmpl);
        if (!t) fail("%s: tokenizer.chat_template is not valid UTF-8", g->path);
        json_object_set_new(cfg, "chat_template", t);
        info->has_chat_template = 1;
    }
    json_object_set_new(cfg, "clean_up_tokenization_spaces", json_false());
    json_object_set_new(cfg, "model_max_length", json_integer(c->max_seq));
    json_object_set_new(cfg, "tokenizer_class", json_string("PreTrainedTokenizerFast"));

    json_t *gen = json_object();
    json_object_set_new(gen, "_from_model_config", json_false());
    json_object_set_new(gen, "bos_token_id", c->bos_token_id >= 0 ? json_integer(c->bos_token_id) : json_null());
    if (c->n_eos == 1) {
        json_object_set_new(gen, "eos_token_id", json_integer(c->eos_token_ids[0]));
    } else {
        json_t *list = json_array();
        for (int i = 0; i < c->n_eos; i++) json_array_append_new(list, json_integer(c->eos_token_ids[i]));
        json_object_set_new(gen, "eos_token_id", list);
    }
    if (pad >= 0) json_object_set_new(gen, "pad_token_id", json_integer(pad));
    json_object_set_new(gen, "transformers_version", json_string("4.46.0"));
    *tok_out = tok, *cfg_out = cfg, *gen_out = gen;
}

// ---------------------------------------------------------------------------------------
// the conversion

void convert_gguf(const char *gguf_path, const char *out_dir, const ConvertOptions *o, ConvertInfo *info) {
    memset(info, 0, sizeof *info);
    GgufFile g;
    gguf_open(&g, gguf_path);
    LlamaConfig c;
    convert_gguf_config(&g, &c);
    info->config = c;
    info->gguf_version = g.version;
    const GgufKV *name_kv = gguf_find(&g, "general.name");
    if (name_kv && name_kv->type == GGUF_STRING) snprintf(info->name, sizeof info->name, "%s", name_kv->strings[0]);

    // every check before anything is written
    long long stored = 0;
    for (uint64_t i = 0; i < g.n_tensors; i++) stored += g.tensors[i].numel;
    if (config_param_count(&c) > stored) // before allocating what corrupt metadata may claim
        fail("%s: the llama.* metadata implies %lld parameters but the file's tensors hold %lld: the metadata "
             "does not describe these tensors",
             g.path, config_param_count(&c), stored);
    // The model is only a parameter layout here: build it with a short context so that its
    // RoPE tables stay small for long-context models, then restore max_position_embeddings.
    LlamaConfig layout = c;
    if (layout.max_seq > 16) layout.max_seq = 16;
    Model m;
    model_build(&m, &layout, backend_cpu(0));
    m.config.max_seq = c.max_seq;
    CHECK(m.backend->elem_bytes == sizeof(float), "the CPU backend keeps fp32 parameters");
    uint8_t *used = xcalloc(g.n_tensors + 1, 1);
    const GgufTensor **src = xcalloc((size_t)m.n_tensors, sizeof(GgufTensor *));
    for (int i = 0; i < m.n_tensors; i++) src[i] = tensor_for(&g, &m.tensors[i], used);
    for (uint64_t i = 0; i < g.n_tensors; i++)
        if (!used[i])
            fail("%s: tensor '%s' has no place in a Llama checkpoint (strap maps token_embd, blk.N.{attn_norm, "
                 "attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down}, output_norm, output)",
                 g.path, g.tensors[i].name);
    json_t *tok, *tcfg, *gen;
    build_tokenizer(&g, &c, info, &tok, &tcfg, &gen);

    char *cfg_path = path_join(out_dir, "config.json"), *st_path = path_join(out_dir, "model.safetensors");
    if (!o->force && (path_exists(cfg_path) || path_exists(st_path)))
        fail("%s already holds a checkpoint; choose another output directory, or ask to overwrite it", out_dir);
    free(cfg_path);
    free(st_path);
    make_dirs(out_dir);

    // dequantise straight into the (host, fp32) parameter buffer
    float *params = m.params, *scratch = NULL;
    size_t scratch_n = 0;
    for (int i = 0; i < m.n_tensors; i++) {
        const ParamTensor *p = &m.tensors[i];
        const GgufTensor *t = src[i];
        int is_q = strstr(p->name, "q_proj") != NULL, is_k = strstr(p->name, "k_proj") != NULL;
        if (is_q || is_k) {
            if (scratch_n < p->numel) {
                free(scratch);
                scratch = xmalloc(p->numel * sizeof(float));
                scratch_n = p->numel;
            }
            gguf_dequantize(&g, t, scratch);
            gguf_unpermute_rope(scratch, params + p->offset, p->shape[0], p->shape[1], is_q ? c.n_heads : c.n_kv_heads);
        } else {
            gguf_dequantize(&g, t, params + p->offset);
        }
        info->n_tensors++;
        if (t->type < 64) {
            info->type_count[t->type]++;
            info->type_elems[t->type] += t->numel;
        }
    }
    free(scratch);
    for (size_t i = 0; i < m.n_params; i++)
        if (!(params[i] - params[i] == 0)) { // NaN or inf
            for (int k = m.n_tensors - 1; k >= 0; k--)
                if (m.tensors[k].offset <= i) {
                    char name[128];
                    gguf_name_of(m.tensors[k].name, name, sizeof name);
                    fail("%s: tensor '%s' dequantises to a non-finite value at element %zu: the file is corrupt",
                         g.path, name, i - m.tensors[k].offset);
                }
        }

    if (tok) { // tokenizer files first, config.json (written by model_save) last
        write_json(out_dir, "tokenizer.json", tok, 2);
        write_json(out_dir, "tokenizer_config.json", tcfg, 2);
        write_json(out_dir, "generation_config.json", gen, 2);
        json_decref(tok);
        json_decref(tcfg);
        json_decref(gen);
    }
    model_save(&m, out_dir, o->bf16, params);
    model_free(&m);
    free(src);
    free(used);
    gguf_close(&g);
}

// 1234 -> "1.2k", 5600000 -> "5.6M"
static const char *count_text(double n, char *buf, size_t size) {
    if (n >= 1e9)
        snprintf(buf, size, "%.2fG", n / 1e9);
    else if (n >= 1e6)
        snprintf(buf, size, "%.2fM", n / 1e6);
    else if (n >= 1e3)
        snprintf(buf, size, "%.1fk", n / 1e3);
    else
        snprintf(buf, size, "%.0f", n);
    return buf;
}

int convert_run(const ConvertOptions *o) {
    ConvertInfo info;
    convert_gguf(o->gguf, o->out, o, &info);

    const LlamaConfig *c = &info.config;
    char num[32];
    printf("converted %s (GGUF v%u, llama%s%s%s) -> %s\n", o->gguf, info.gguf_version, info.name[0] ? ": \"" : "",
           info.name, info.name[0] ? "\"" : "", o->out);
    printf("  shape: vocab %d, hidden %d, layers %d, heads %d (kv %d, head_dim %d), ffn %d, context %d, "
           "rope_theta %g, rms_eps %g, %s embeddings, %s parameters\n",
           c->vocab_size, c->hidden_size, c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim, c->intermediate_size,
           c->max_seq, (double)c->rope_theta, (double)c->rms_norm_eps, c->tie_embeddings ? "tied" : "untied",
           count_text((double)config_param_count(c), num, sizeof num));
    printf("  tensors: %d dequantised to %s:", info.n_tensors, o->bf16 ? "bf16" : "fp32");
    for (int t = 0; t < 64; t++)
        if (info.type_count[t])
            printf(" %s x%d (%s)", gguf_type_name((uint32_t)t), info.type_count[t],
                   count_text((double)info.type_elems[t], num, sizeof num));
    printf("\n");
    if (info.vocab_tokens) {
        printf("  tokenizer: byte-level BPE (pre '%s'), %d tokens, %d merges, %d special + %d user-defined added "
               "tokens",
               info.tokenizer_pre, info.vocab_tokens, info.n_merges, info.n_control, info.n_user);
        if (info.n_skipped) printf(", %d unused ids left out", info.n_skipped);
        printf("; bos %d, eos", c->bos_token_id);
        for (int i = 0; i < c->n_eos; i++) printf("%s%d", i ? "," : " ", c->eos_token_ids[i]);
        printf("%s\n", info.has_chat_template ? "; chat template kept" : "");
    } else {
        printf("  tokenizer: none in the GGUF (no tokenizer.json written)\n");
    }
    return 0;
}
