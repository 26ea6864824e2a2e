// config.c: see config.h.
#include "config.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/json_file.h"

static int get_int(json_t *root, const char *path, const char *key, int required, int fallback) {
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) {
        if (required) fail("%s: missing key \"%s\" (a Llama config.json needs it)", path, key);
        return fallback;
    }
    if (!json_is_integer(v)) {
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        fail("%s: \"%s\" must be an integer (got %.40s)", path, key, text ? text : "?");
    }
    json_int_t x = json_integer_value(v);
    if (x < -1 || x > (1 << 30)) fail("%s: \"%s\" = %lld is out of range", path, key, (long long)x);
    return (int)x;
}

static float get_float(json_t *root, const char *path, const char *key, float fallback) {
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) return fallback;
    if (!json_is_number(v)) {
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        fail("%s: \"%s\" must be a number (got %.40s)", path, key, text ? text : "?");
    }
    return (float)json_number_value(v);
}

static int get_bool(json_t *root, const char *path, const char *key, int fallback) {
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) return fallback;
    if (!json_is_boolean(v)) fail("%s: \"%s\" must be true or false", path, key);
    return json_is_true(v);
}

void config_validate(const LlamaConfig *c, const char *where) {
    struct {
        const char *key;
        int value;
    } positive[] = {
        {"vocab_size", c->vocab_size},
        {"hidden_size", c->hidden_size},
        {"intermediate_size", c->intermediate_size},
        {"num_hidden_layers", c->n_layers},
        {"num_attention_heads", c->n_heads},
        {"num_key_value_heads", c->n_kv_heads},
        {"head_dim", c->head_dim},
        {"max_position_embeddings", c->max_seq},
    };
    for (size_t i = 0; i < sizeof positive / sizeof positive[0]; i++)
        if (positive[i].value <= 0) fail("%s: %s must be positive (got %d)", where, positive[i].key, positive[i].value);
    // Caps far above any real Llama (405B: hidden 16384, ffn 53248, 126 layers, 128 heads), so that a
    // corrupt or mistyped config.json fails here instead of as a huge allocation later.
    struct {
        const char *key;
        int value, cap;
    } caps[] = {
        {"vocab_size", c->vocab_size, 1 << 24},
        {"hidden_size", c->hidden_size, 1 << 16},
        {"intermediate_size", c->intermediate_size, 1 << 20},
        {"num_hidden_layers", c->n_layers, 1024},
        {"num_attention_heads", c->n_heads, 1024},
        {"num_key_value_heads", c->n_kv_heads, 1024},
        {"head_dim", c->head_dim, 512},
        {"max_position_embeddings", c->max_seq, 1 << 24},
    };
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
        if (caps[i].value > caps[i].cap)
            fail("%s: %s %d is above the supported %d (a corrupt config.json?)", where, caps[i].key, caps[i].value,
                 caps[i].cap);
    if (c->n_heads % c->n_kv_heads != 0)
        fail("%s: num_attention_heads (%d) must be a multiple of num_key_value_heads (%d)", where, c->n_heads,
             c->n_kv_heads);
    if (c->head_dim % 2 != 0) fail("%s: head_dim %d must be even for RoPE", where, c->head_dim);
    if (!(c->rope_theta > 0) || !isfinite(c->rope_theta))
        fail("%s: rope_theta must be a positive number (got %g)", where, (double)c->rope_theta);
    if (!(c->rms_norm_eps > 0) || !(c->rms_norm_eps < 1))
        fail("%s: rms_norm_eps must be in (0, 1) (got %g)", where, (double)c->rms_norm_eps);
    if (!(c->initializer_range >= 0) || !isfinite(c->initializer_range))
        fail("%s: initializer_range must be a non-negative number (got %g)", where, (double)c->initializer_range);
    if (c->n_eos < 0 || c->n_eos > 8) fail("%s: %d eos token ids (0..8 supported)", where, c->n_eos);
    if (c->bos_token_id < -1 || c->bos_token_id >= c->vocab_size)
        fail("%s: bos_token_id %d is outside the vocabulary (%d)", where, c->bos_token_id, c->vocab_size);
    for (int i = 0; i < c->n_eos; i++)
        if (c->eos_token_ids[i] < 0 || c->eos_token_ids[i] >= c->vocab_size)
            fail("%s: eos_token_id %d is outside the vocabulary (%d)", where, c->eos_token_ids[i], c->vocab_size);
}

void config_read(LlamaConfig *c, const char *path_or_dir) {
    char *path = is_directory(path_or_dir) ? path_join(path_or_dir, "config.json") : xstrdup(path_or_dir);
    if (!path_exists(path)) fail("%s not found (a model directory holds config.json and model.safetensors)", path);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root) fail("%s:%d: invalid JSON: %s", path, err.line, err.text);
    if (!json_is_object(root)) fail("%s: expected a JSON object", path);

    json_t *mt = json_object_get(root, "model_type");
    if (mt && !json_is_string(mt)) fail("%s: \"model_type\" must be a string", path);
    if (mt && strcmp(json_string_value(mt), "llama") != 0)
        fail("%s: model_type \"%s\" is not supported (strap loads Llama models: model_type \"llama\")", path,
             json_string_value(mt));
    if (!mt) {
        json_t *arch = json_object_get(root, "architectures");
        int llama = 0;
        size_t i;
        json_t *a;
        if (json_is_array(arch))
            json_array_foreach(arch, i, a) llama |=
                json_is_string(a) && strcmp(json_string_value(a), "LlamaForCausalLM") == 0;
        if (!llama) fail("%s: neither model_type \"llama\" nor architectures [\"LlamaForCausalLM\"]", path);
    }
    // transformers >= 5 writes {"rope_parameters": {"rope_type": "default", "rope_theta": X}}
    json_t *rope_params = json_object_get(root, "rope_parameters");
    float rope_theta_v5 = 0;
    if (rope_params && !json_is_null(rope_params)) {
        json_t *type = json_object_get(rope_params, "rope_type");
        if (json_is_string(type) && strcmp(json_string_value(type), "default") != 0)
            fail("%s: rope_parameters.rope_type \"%s\" is not supported yet (strap implements plain RoPE)", path,
                 json_string_value(type));
        rope_theta_v5 = get_float(rope_params, path, "rope_theta", 0);
    }
    json_t *scaling = json_object_get(root, "rope_scaling");
    if (scaling && !json_is_null(scaling)) {
        json_t *type = json_object_get(scaling, "rope_type");
        if (!type) type = json_object_get(scaling, "type");
        // {"rope_type": "default"} is plain RoPE (some exports write it); anything else changes the frequencies
        if (!json_is_string(type) || strcmp(json_string_value(type), "default") != 0)
            fail("%s: rope_scaling \"%s\" is not supported yet (strap implements plain RoPE only; this model's "
                 "outputs would be wrong without its scaling)",
                 path, json_is_string(type) ? json_string_value(type) : "?");
    }
    if (get_bool(root, path, "attention_bias", 0))
        fail("%s: attention_bias true is not supported (strap's Llama has no biases)", path);
    if (get_bool(root, path, "mlp_bias", 0))
        fail("%s: mlp_bias true is not supported (strap's Llama has no biases)", path);
    json_t *act = json_object_get(root, "hidden_act");
    if (act && !json_is_null(act) && (!json_is_string(act) || strcmp(json_string_value(act), "silu") != 0))
        fail("%s: hidden_act %s is not supported (strap's SwiGLU MLP needs \"silu\")", path,
             json_is_string(act) ? json_string_value(act) : "(not a string)");

    memset(c, 0, sizeof *c);
    c->vocab_size = get_int(root, path, "vocab_size", 1, 0);
    c->hidden_size = get_int(root, path, "hidden_size", 1, 0);
    c->intermediate_size = get_int(root, path, "intermediate_size", 1, 0);
    c->n_layers = get_int(root, path, "num_hidden_layers", 1, 0);
    c->n_heads = get_int(root, path, "num_attention_heads", 1, 0);
    c->n_kv_heads = get_int(root, path, "num_key_value_heads", 0, c->n_heads);
    if (c->n_heads <= 0) fail("%s: num_attention_heads must be positive", path);
    c->head_dim = get_int(root, path, "head_dim", 0, c->hidden_size / c->n_heads);
    c->max_seq = get_int(root, path, "max_position_embeddings", 0, 2048);
    c->rope_theta = get_float(root, path, "rope_theta", rope_theta_v5 > 0 ? rope_theta_v5 : 10000.0f);
    c->rms_norm_eps = get_float(root, path, "rms_norm_eps", 1e-6f);
    c->tie_embeddings = get_bool(root, path, "tie_word_embeddings", 0);
    c->initializer_range = get_float(root, path, "initializer_range", 0.02f);
    c->bos_token_id = get_int(root, path, "bos_token_id", 0, -1);
    json_t *eos = json_object_get(root, "eos_token_id");
    if (json_is_integer(eos)) {
        c->eos_token_ids[c->n_eos++] = get_int(root, path, "eos_token_id", 1, 0);
    } else if (json_is_array(eos)) {
        size_t i;
        json_t *e;
        json_array_foreach(eos, i, e) {
            if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) > (1 << 30))
                fail("%s: eos_token_id must hold token ids (non-negative integers)", path);
            if (c->n_eos == 8) {
                fprintf(stderr, "strap: warning: %s: eos_token_id lists %zu ids; strap keeps the first 8\n", path,
                        json_array_size(eos));
                break;
            }
            c->eos_token_ids[c->n_eos++] = (int)json_integer_value(e);
        }
    } else if (eos && !json_is_null(eos)) {
        fail("%s: eos_token_id must be an integer or a list of integers", path);
    }
    json_decref(root);
    config_validate(c, path);
    free(path);
}

// The shortest decimal that reads back as the same float (1e-05, not 9.99999975e-06).
static json_t *float_json(float f) {
    char buf[32];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        if ((float)strtod(buf, NULL) == f) break;
    }
    return json_real(strtod(buf, NULL));
}

void config_write(const LlamaConfig *c, const char *path, const char *torch_dtype) {
    config_validate(c, path); // never write a config.json that config_read would refuse
    if (!torch_dtype) torch_dtype = "float32";
    json_t *root = json_object();
    json_t *arch = json_array();
    json_array_append_new(arch, json_string("LlamaForCausalLM"));
    json_object_set_new(root, "architectures", arch);
    json_object_set_new(root, "model_type", json_string("llama"));
    json_object_set_new(root, "vocab_size", json_integer(c->vocab_size));
    json_object_set_new(root, "hidden_size", json_integer(c->hidden_size));
    json_object_set_new(root, "intermediate_size", json_integer(c->intermediate_size));
    json_object_set_new(root, "num_hidden_layers", json_integer(c->n_layers));
    json_object_set_new(root, "num_attention_heads", json_integer(c->n_heads));
    json_object_set_new(root, "num_key_value_heads", json_integer(c->n_kv_heads));
    json_object_set_new(root, "head_dim", json_integer(c->head_dim));
    json_object_set_new(root, "max_position_embeddings", json_integer(c->max_seq));
    json_object_set_new(root, "rope_theta", float_json(c->rope_theta));
    json_object_set_new(root, "rms_norm_eps", float_json(c->rms_norm_eps));
    json_object_set_new(root, "tie_word_embeddings", json_boolean(c->tie_embeddings));
    json_object_set_new(root, "initializer_range", float_json(c->initializer_range));
    json_object_set_new(root, "hidden_act", json_string("silu"));
    json_object_set_new(root, "attention_bias", json_false());
    json_object_set_new(root, "mlp_bias", json_false());
    json_object_set_new(root, "attention_dropout", json_real(0.0));
    json_object_set_new(root, "pretraining_tp", json_integer(1));
    json_object_set_new(root, "rope_scaling", json_null());
    json_object_set_new(root, "use_cache", json_true());
    json_object_set_new(root, "torch_dtype", json_string(torch_dtype));
    json_object_set_new(root, "transformers_version", json_string("4.46.0"));
    json_object_set_new(root, "bos_token_id", c->bos_token_id >= 0 ? json_integer(c->bos_token_id) : json_null());
    if (c->n_eos == 1) {
        json_object_set_new(root, "eos_token_id", json_integer(c->eos_token_ids[0]));
    } else if (c->n_eos > 1) {
        json_t *list = json_array();
        for (int i = 0; i < c->n_eos; i++) json_array_append_new(list, json_integer(c->eos_token_ids[i]));
        json_object_set_new(root, "eos_token_id", list);
    } else {
        json_object_set_new(root, "eos_token_id", json_null());
    }
    json_write_atomic(path, root, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(9));
    json_decref(root);
}

long long config_param_count(const LlamaConfig *c) {
    long long C = c->hidden_size, F = c->intermediate_size, D = c->head_dim;
    long long q = (long long)c->n_heads * D, kv = (long long)c->n_kv_heads * D;
    long long layer = C * (q + 2 * kv) + q * C + 3 * C * F + 2 * C;
    long long n = (long long)c->vocab_size * C + c->n_layers * layer + C;
    if (!c->tie_embeddings) n += (long long)c->vocab_size * C;
    return n;
}
