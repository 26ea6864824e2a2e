// test_gguf.c: the GGUF reader, dequantisation and `strap convert --gguf` against the
// fixtures of tests/ref/make_gguf_fixtures.py (gguf-py + Hugging Face references): metadata
// of every value type, tensor infos, each dtype's dequantisation vs gguf.quants.dequantize,
// the RoPE row un-permutation, the whole conversion (weights, logits, tokenizer), and bad
// input (each must end the process with status 1 and a message naming the file and the
// key/tensor, checked in a forked child).
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/rng.h"
#include "../data/tokenizer.h"
#include "../model/config.h"
#include "../model/convert_gguf.h"
#include "../model/gguf.h"
#include "../model/llama.h"
#include "../model/safetensors.h"
#include "test.h"

#define FIX "tests/ref/fixtures/gguf/"

static char tmpdir[64];

static char *tmp_path(const char *name) { return path_join(tmpdir, name); }

// Runs fn(arg) in a child; expects exit status 1 and every needle in its stderr.
static void expect_failure(void (*fn)(const char *), const char *arg, const char *needle, const char *needle2,
                           const char *what) {
    expect_failure_exit(fn, arg, needle, needle2, what);
}

// ---------------------------------------------------------------------------------------
// a GGUF writer for variants of the fixtures (bad input)

typedef struct {
    uint32_t version;    // 0: keep
    const char *set_key; // a string key to set (added when absent)
    const char *set_value;
    const char *drop_key; // a key to leave out
    const char *retype;   // a tensor to store with type new_type (zero data)
    uint32_t new_type;
    const char *extra_tensor; // an extra F32 tensor of 4 zeros
} Variant;

static void put(FILE *f, const void *p, size_t n) { CHECK(fwrite(p, 1, n, f) == n, "write"); }
static void put_u32(FILE *f, uint32_t v) { put(f, &v, 4); }
static void put_u64(FILE *f, uint64_t v) { put(f, &v, 8); }
static void put_str(FILE *f, const char *s, uint64_t n) { put_u64(f, n), put(f, s, n); }

static size_t value_bytes(uint32_t t) {
    static const size_t sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return sizes[t];
}

static void write_kv(FILE *f, const GgufKV *kv) {
    put_str(f, kv->key, strlen(kv->key));
    put_u32(f, kv->type);
    if (kv->type == GGUF_ARRAY) put_u32(f, kv->elem), put_u64(f, kv->n);
    if (kv->elem == GGUF_STRING)
        for (uint64_t i = 0; i < kv->n; i++) put_str(f, kv->strings[i], kv->str_len[i]);
    else
        put(f, kv->data, kv->n * value_bytes(kv->elem));
}

static void write_variant(const char *src, const char *dst, const Variant *v) {
    GgufFile g;
    gguf_open(&g, src);
    FILE *f = fopen(dst, "wb");
    CHECK(f != NULL, "cannot write %s", dst);
    int set_exists = v->set_key && gguf_find(&g, v->set_key);
    uint64_t n_kv = g.n_kv + (v->set_key && !set_exists) - (v->drop_key && gguf_find(&g, v->drop_key));
    put(f, "GGUF", 4);
    put_u32(f, v->version ? v->version : g.version);
    put_u64(f, g.n_tensors + (v->extra_tensor != NULL));
    put_u64(f, n_kv);
    for (uint64_t i = 0; i < g.n_kv; i++) {
        const GgufKV *kv = &g.kv[i];
        if (v->drop_key && strcmp(kv->key, v->drop_key) == 0) continue;
        if (v->set_key && strcmp(kv->key, v->set_key) == 0) {
            put_str(f, kv->key, strlen(kv->key)), put_u32(f, GGUF_STRING),
                put_str(f, v->set_value, strlen(v->set_value));
            continue;
        }
        write_kv(f, kv);
    }
    if (v->set_key && !set_exists)
        put_str(f, v->set_key, strlen(v->set_key)), put_u32(f, GGUF_STRING),
            put_str(f, v->set_value, strlen(v->set_value));
    uint64_t n_t = g.n_tensors + (v->extra_tensor != NULL), offset = 0;
    uint64_t *nbytes = xcalloc(n_t, sizeof(uint64_t));
    for (uint64_t i = 0; i < n_t; i++) {
        const GgufTensor *t = i < g.n_tensors ? &g.tensors[i] : NULL;
        const char *name = t ? t->name : v->extra_tensor;
        uint32_t type = t ? t->type : GGML_F32;
        int64_t ne[4] = {4, 1, 1, 1};
        uint32_t nd = t ? t->n_dims : 1;
        if (t) memcpy(ne, t->ne, sizeof ne);
        if (v->retype && strcmp(name, v->retype) == 0) type = v->new_type;
        int be, bb;
        int64_t numel = ne[0] * ne[1] * ne[2] * ne[3];
        if (gguf_type_block(type, &be, &bb))
            nbytes[i] = (uint64_t)(numel / be * bb);
        else
            nbytes[i] = t->nbytes; // an unknown type id: keep the bytes
        put_str(f, name, strlen(name));
        put_u32(f, nd);
        for (uint32_t d = 0; d < nd; d++) put_u64(f, (uint64_t)ne[d]);
        put_u32(f, type);
        put_u64(f, offset);
        offset += (nbytes[i] + g.alignment - 1) / g.alignment * g.alignment;
    }
    static const uint8_t zeros[4096];
    long pos = ftell(f);
    put(f, zeros, (size_t)((uint64_t)(pos + g.alignment - 1) / g.alignment * g.alignment - (uint64_t)pos));
    for (uint64_t i = 0; i < n_t; i++) {
        const GgufTensor *t = i < g.n_tensors ? &g.tensors[i] : NULL;
        int same = t && !(v->retype && strcmp(t->name, v->retype) == 0);
        if (same)
            put(f, t->data, nbytes[i]);
        else
            for (uint64_t k = 0; k < nbytes[i]; k += sizeof zeros)
                put(f, zeros, nbytes[i] - k < sizeof zeros ? nbytes[i] - k : sizeof zeros);
        uint64_t pad = (nbytes[i] + g.alignment - 1) / g.alignment * g.alignment - nbytes[i];
        put(f, zeros, pad);
    }
    fclose(f);
    free(nbytes);
    gguf_close(&g);
}

static void copy_prefix(const char *src, const char *dst, size_t n) {
    size_t size;
    char *data = read_file(src, &size);
    CHECK(n <= size, "prefix");
    FILE *f = fopen(dst, "wb");
    put(f, data, n);
    fclose(f);
    free(data);
}

// ---------------------------------------------------------------------------------------
// reader

static void test_metadata(void) {
    GgufFile g;
    gguf_open(&g, FIX "quants.gguf");
    EXPECT(g.version == 3 && g.n_tensors == 9 && g.alignment == 32,
           "version %u, %" PRIu64 " tensors, alignment %" PRIu64, g.version, g.n_tensors, g.alignment);
    const char *arch = gguf_get_string(&g, "general.architecture");
    EXPECT(arch && strcmp(arch, "llama") == 0, "general.architecture %s", arch ? arch : "(none)");
    struct {
        const char *key;
        uint32_t type;
        int64_t value;
    } ints[] = {{"u8", GGUF_UINT8, 200},
                {"i8", GGUF_INT8, -100},
                {"u16", GGUF_UINT16, 60000},
                {"i16", GGUF_INT16, -30000},
                {"u32", GGUF_UINT32, 4000000000},
                {"i32", GGUF_INT32, -2000000000},
                {"i64", GGUF_INT64, -(INT64_C(1) << 62) - 3}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        char key[64];
        snprintf(key, sizeof key, "strap.test.%s", ints[i].key);
        int64_t v = 0;
        const GgufKV *kv = gguf_find(&g, key);
        EXPECT(kv && kv->type == ints[i].type, "%s: type %u", key, kv ? kv->type : 99);
        EXPECT(gguf_get_int(&g, key, &v) && v == ints[i].value, "%s = %" PRId64 ", expected %" PRId64, key, v,
               ints[i].value);
    }
    const GgufKV *u64 = gguf_find(&g, "strap.test.u64");
    uint64_t big = 0;
    if (u64) memcpy(&big, u64->data, 8);
    EXPECT(u64 && u64->type == GGUF_UINT64 && big == (UINT64_C(1) << 63) + 5, "u64 %" PRIu64, big);
    double f = 0;
    EXPECT(gguf_get_float(&g, "strap.test.f32", &f) && f == 0.15625, "f32 %g", f);
    EXPECT(gguf_get_float(&g, "strap.test.f64", &f) && f == -2.5e-300, "f64 %g", f);
    int b = 0;
    EXPECT(gguf_get_bool(&g, "strap.test.bool", &b) && b == 1, "bool %d", b);
    const char *s = gguf_get_string(&g, "strap.test.str");
    EXPECT(s && strcmp(s, "h\xc3\xa9llo w\xc3\xb6rld") == 0, "str '%s'", s ? s : "(none)");
    EXPECT(gguf_find(&g, "strap.test.missing") == NULL && !gguf_get_int(&g, "strap.test.missing", &(int64_t){0}),
           "a missing key was found");

    const GgufKV *a = gguf_find(&g, "strap.test.arr_i32");
    EXPECT(a && a->type == GGUF_ARRAY && a->elem == GGUF_INT32 && a->n == 3 && gguf_array_int(&g, a, 0) == 1 &&
               gguf_array_int(&g, a, 1) == -2 && gguf_array_int(&g, a, 2) == 3,
           "arr_i32");
    a = gguf_find(&g, "strap.test.arr_u8");
    EXPECT(a && a->elem == GGUF_UINT8 && a->n == 2 && gguf_array_int(&g, a, 1) == 8, "arr_u8");
    a = gguf_find(&g, "strap.test.arr_f32");
    EXPECT(a && a->elem == GGUF_FLOAT32 && a->n == 2 && gguf_array_float(&g, a, 1) == -1.25, "arr_f32");
    a = gguf_find(&g, "strap.test.arr_f64");
    EXPECT(a && a->elem == GGUF_FLOAT64 && a->n == 1 && gguf_array_float(&g, a, 0) == 1e100, "arr_f64");
    a = gguf_find(&g, "strap.test.arr_bool");
    EXPECT(a && a->elem == GGUF_BOOL && a->n == 3 && gguf_array_int(&g, a, 0) == 1 && gguf_array_int(&g, a, 1) == 0,
           "arr_bool");
    a = gguf_find(&g, "strap.test.arr_str");
    EXPECT(a && a->elem == GGUF_STRING && a->n == 3 && strcmp(a->strings[0], "a") == 0 && a->str_len[1] == 0 &&
               strcmp(a->strings[2], "xyz") == 0,
           "arr_str");

    const GgufTensor *t = gguf_find_tensor(&g, "t.Q4_K");
    EXPECT(t && t->n_dims == 2 && t->ne[0] == 512 && t->ne[1] == 3 && t->type == GGML_Q4_K && t->numel == 1536 &&
               t->nbytes == 6 * 144 && t->offset % 32 == 0,
           "t.Q4_K info");
    t = gguf_find_tensor(&g, "t.Q8_0");
    EXPECT(t && t->nbytes == 48 * 34 && strcmp(gguf_type_name(t->type), "Q8_0") == 0, "t.Q8_0 info");
    gguf_close(&g);

    gguf_open(&g, FIX "tiny_tied.gguf"); // general.alignment = 64
    EXPECT(g.alignment == 64 && g.data_offset % 64 == 0, "alignment %" PRIu64 ", data at %" PRIu64, g.alignment,
           g.data_offset);
    for (uint64_t i = 0; i < g.n_tensors; i++) EXPECT(g.tensors[i].offset % 64 == 0, "%s offset", g.tensors[i].name);
    gguf_close(&g);
}

// Every dtype against gguf.quants.dequantize; exact for F32/F16/BF16.
static void test_dequantize(void) {
    GgufFile g;
    gguf_open(&g, FIX "quants.gguf");
    SafeTensors st;
    st_open(&st, FIX "quants_expected.safetensors");
    for (uint64_t i = 0; i < g.n_tensors; i++) {
        const GgufTensor *t = &g.tensors[i];
        const StTensor *e = st_find(&st, t->name);
        EXPECT(e && e->numel == t->numel && e->shape[0] == t->ne[1] && e->shape[1] == t->ne[0], "%s: reference",
               t->name);
        if (!e) continue;
        float *got = xmalloc((size_t)t->numel * sizeof(float)), *ref = xmalloc((size_t)t->numel * sizeof(float));
        gguf_dequantize(&g, t, got);
        st_read_f32(&st, e, ref);
        double worst = 0, scale = 0;
        int64_t exact = 0;
        for (int64_t k = 0; k < t->numel; k++) scale = fmax(scale, fabs(ref[k]));
        for (int64_t k = 0; k < t->numel; k++) {
            double d = fabs((double)got[k] - ref[k]) / fmax(fabs(ref[k]), 1e-6 * scale);
            worst = d != d ? INFINITY : fmax(worst, d);
            exact += memcmp(&got[k], &ref[k], 4) == 0;
        }
        int lossless = t->type == GGML_F32 || t->type == GGML_F16 || t->type == GGML_BF16;
        EXPECT(lossless ? exact == t->numel : worst <= 1e-6, "%s: %" PRId64 "/%" PRId64 " bit-exact, max rel err %.3g",
               t->name, exact, t->numel, worst);
        printf("    %-6s %" PRId64 "/%" PRId64 " bit-exact, max rel err %.2g\n", gguf_type_name(t->type), exact,
               t->numel, worst);
        free(got);
        free(ref);
    }
    st_close(&st);
    gguf_close(&g);
}

// ---------------------------------------------------------------------------------------
// RoPE

static void test_rope_permutation(void) {
    // llama.cpp: w.reshape(n_head, 2, D/2, cols).swapaxes(1, 2): GGUF row h*D + 2i + j holds
    // HF row h*D + j*D/2 + i
    int n_head = 3, D = 8, rows = n_head * D, cols = 5;
    float *hf = xmalloc((size_t)rows * cols * sizeof(float)), *gg = xmalloc((size_t)rows * cols * sizeof(float)),
          *back = xmalloc((size_t)rows * cols * sizeof(float));
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) hf[r * cols + c] = (float)(r * 100 + c);
    gguf_permute_rope(hf, gg, rows, cols, n_head);
    int bad = 0;
    for (int h = 0; h < n_head; h++)
        for (int i = 0; i < D / 2; i++)
            for (int j = 0; j < 2; j++)
                for (int c = 0; c < cols; c++)
                    bad += gg[(h * D + 2 * i + j) * cols + c] != hf[(h * D + j * D / 2 + i) * cols + c];
    EXPECT(bad == 0, "permute: %d misplaced values", bad);
    gguf_unpermute_rope(gg, back, rows, cols, n_head);
    EXPECT(memcmp(back, hf, (size_t)rows * cols * sizeof(float)) == 0, "unpermute(permute(x)) != x");
    // head 0: HF rows 0..3 (first half) and 4..7 (second half) interleave as 0,4,1,5,2,6,3,7
    int order[8] = {0, 4, 1, 5, 2, 6, 3, 7};
    for (int r = 0; r < 8; r++)
        EXPECT(gg[r * cols] == (float)(order[r] * 100), "GGUF row %d holds %g", r, gg[r * cols]);
    free(hf), free(gg), free(back);
}

// ---------------------------------------------------------------------------------------
// conversion

static void convert_fixture(const char *name, const char *out, int bf16) {
    char path[256];
    snprintf(path, sizeof path, FIX "%s.gguf", name);
    ConvertOptions o = {bf16, 1};
    ConvertInfo info;
    convert_gguf(path, out, &o, &info);
}

static void test_config(void) {
    GgufFile g;
    gguf_open(&g, FIX "tiny_llama.gguf");
    LlamaConfig c;
    convert_gguf_config(&g, &c);
    EXPECT(c.vocab_size == 324 && c.hidden_size == 64 && c.n_layers == 2 && c.n_heads == 4 && c.n_kv_heads == 2 &&
               c.head_dim == 16 && c.intermediate_size == 96 && c.max_seq == 128 && !c.tie_embeddings,
           "shape V%d C%d L%d H%d KV%d D%d F%d T%d tie %d", c.vocab_size, c.hidden_size, c.n_layers, c.n_heads,
           c.n_kv_heads, c.head_dim, c.intermediate_size, c.max_seq, c.tie_embeddings);
    EXPECT(c.rope_theta == 500000.0f && c.rms_norm_eps == 1e-5f, "theta %g eps %g", c.rope_theta, c.rms_norm_eps);
    EXPECT(c.bos_token_id == 0 && c.n_eos == 2 && c.eos_token_ids[0] == 1 && c.eos_token_ids[1] == 2, "bos %d, %d eos",
           c.bos_token_id, c.n_eos);
    gguf_close(&g);
    gguf_open(&g, FIX "tiny_tied.gguf");
    convert_gguf_config(&g, &c);
    EXPECT(c.tie_embeddings && c.n_kv_heads == 1 && c.intermediate_size == 256 && c.rms_norm_eps == 1e-6f &&
               c.n_eos == 1,
           "tied config");
    gguf_close(&g);
}

// Converts, loads the checkpoint with model_load, compares every weight with the HF-layout
// reference (exactly) and the logits with the HF float64 logits.
static void check_model(const char *name, int bf16) {
    char *out = tmp_path(name), ref_path[256];
    convert_fixture(name, out, bf16);
    snprintf(ref_path, sizeof ref_path, FIX "%s_expected.safetensors", name);
    SafeTensors st;
    st_open(&st, ref_path);
    Model m;
    model_load(&m, out, backend_cpu(1));
    float *params = xmalloc(m.n_params * sizeof(float));
    model_get_params(&m, params);
    int compared = 0;
    for (int i = 0; i < m.n_tensors; i++) {
        const ParamTensor *p = &m.tensors[i];
        const StTensor *e = st_find(&st, p->name);
        if (!e) continue;
        float *ref = xmalloc(p->numel * sizeof(float));
        st_read_f32(&st, e, ref);
        size_t diff = 0;
        for (size_t k = 0; k < p->numel; k++) {
            float want = bf16 ? bf16_to_f32(f32_to_bf16(ref[k])) : ref[k];
            diff += memcmp(&params[p->offset + k], &want, 4) != 0;
        }
        EXPECT(diff == 0, "%s%s: %zu of %zu values differ from the reference", p->name, bf16 ? " (bf16)" : "", diff,
               p->numel);
        compared++;
        free(ref);
    }
    if (strcmp(name, "tiny_llama") == 0)
        EXPECT(compared == m.n_tensors, "compared %d of %d tensors", compared, m.n_tensors);

    const StTensor *tt = st_find(&st, "tokens");
    int B = (int)tt->shape[0], T = (int)tt->shape[1], N = B * T, V = m.config.vocab_size;
    int *tokens = xmalloc((size_t)N * sizeof(int));
    st_read_i32(&st, tt, tokens);
    float *ref = xmalloc((size_t)N * V * sizeof(float)), *logits = xmalloc((size_t)N * V * sizeof(float));
    st_read_f32(&st, st_find(&st, "logits"), ref);
    model_forward(&m, tokens, NULL, B, T);
    model_logits(&m, logits);
    double e = scaled_err(logits, ref, (size_t)N * V);
    // fp32: strap's fp32 forward vs a float64 reference on the same weights (as in
    // test_model.c: a few ulps times the depth of the sums, K <= 256) -> 1e-5 of the logit
    // scale. bf16: the weights themselves are rounded to 8 mantissa bits (relative 2^-9 each),
    // which moves logits by about 2^-9 * sqrt(fan-in) ~ 1.6e-2 of their scale (measured 1.8e-2,
    // deterministic): 5e-2 bounds it; the bf16 weights themselves are checked exactly above.
    double tol = bf16 ? 5e-2 : 1e-5;
    EXPECT(e < tol, "%s%s: logits scaled error %.3g (tolerance %.0e)", name, bf16 ? " bf16" : "", e, tol);
    printf("    %s%s: logits scaled error %.2g\n", name, bf16 ? " (bf16 weights)" : "", e);
    free(tokens), free(ref), free(logits), free(params);
    model_free(&m);
    st_close(&st);
    free(out);
}

static void test_convert_untied(void) { check_model("tiny_llama", 0); }
static void test_convert_tied_kquants(void) { check_model("tiny_tied", 0); }
static void test_convert_bf16(void) { check_model("tiny_llama", 1); }

// The q/k projections: the un-permuted rows equal the HF reference, and the raw GGUF
// order does not (so the test would notice a missing un-permutation).
static void test_rope_unpermuted_weights(void) {
    GgufFile g;
    gguf_open(&g, FIX "tiny_llama.gguf");
    SafeTensors st;
    st_open(&st, FIX "tiny_llama_expected.safetensors");
    const char *names[][2] = {{"blk.0.attn_q.weight", "model.layers.0.self_attn.q_proj.weight"},
                              {"blk.0.attn_k.weight", "model.layers.0.self_attn.k_proj.weight"},
                              {"blk.1.attn_q.weight", "model.layers.1.self_attn.q_proj.weight"},
                              {"blk.1.attn_k.weight", "model.layers.1.self_attn.k_proj.weight"}};
    for (int i = 0; i < 4; i++) {
        const GgufTensor *t = gguf_find_tensor(&g, names[i][0]);
        const StTensor *e = st_find(&st, names[i][1]);
        int64_t rows = t->ne[1], cols = t->ne[0];
        int heads = strstr(names[i][0], "attn_q") ? 4 : 2;
        float *raw = xmalloc((size_t)t->numel * 4), *hf = xmalloc((size_t)t->numel * 4),
              *ref = xmalloc((size_t)t->numel * 4);
        gguf_dequantize(&g, t, raw);
        gguf_unpermute_rope(raw, hf, rows, cols, heads);
        st_read_f32(&st, e, ref);
        EXPECT(e->shape[0] == rows && e->shape[1] == cols, "%s shape", names[i][1]);
        EXPECT(memcmp(hf, ref, (size_t)t->numel * 4) == 0, "%s: un-permuted rows differ from the HF reference",
               names[i][0]);
        EXPECT(memcmp(raw, ref, (size_t)t->numel * 4) != 0, "%s: the GGUF rows are already in HF order?", names[i][0]);
        free(raw), free(hf), free(ref);
    }
    st_close(&st);
    gguf_close(&g);
}

// ---------------------------------------------------------------------------------------
// tokenizer

static void check_tokenizer(const char *name, const char *pre) {
    char *out = tmp_path(name), path[256];
    if (!path_exists(out)) convert_fixture(name, out, 0);
    snprintf(path, sizeof path, FIX "%s_expected.json", name);
    json_error_t err;
    json_t *cases = json_load_file(path, 0, &err);
    CHECK(cases != NULL, "%s: %s", path, err.text);
    Tokenizer *t = tokenizer_load(out);
    EXPECT(tokenizer_vocab_size(t) == 321, "%s: vocab %d", name, tokenizer_vocab_size(t));
    size_t i;
    json_t *text;
    json_array_foreach(json_object_get(cases, "texts"), i, text) {
        json_t *want = json_array_get(json_object_get(cases, "ids"), i);
        int32_t *ids = NULL;
        size_t n = 0, cap = 0;
        const char *s = json_string_value(text);
        tokenizer_encode(t, s, strlen(s), 1, &ids, &n, &cap);
        int same = n == json_array_size(want);
        for (size_t k = 0; same && k < n; k++) same = ids[k] == json_integer_value(json_array_get(want, k));
        EXPECT(same, "%s: '%s': %zu ids, HF gives %zu", name, s, n, json_array_size(want));
        char *dec = NULL;
        size_t dcap = 0, dlen = tokenizer_decode(t, ids, n, &dec, &dcap);
        EXPECT(dlen == strlen(s) && memcmp(dec, s, dlen) == 0, "%s: decode(encode('%s'))", name, s);
        free(ids), free(dec);
    }
    EXPECT(tokenizer_token_id(t, "<|eot_id|>") == 2 && tokenizer_token_id(t, "<think>") == 320, "%s: added tokens",
           name);
    tokenizer_free(t);

    char *tj = path_join(out, "tokenizer.json");
    json_t *root = json_load_file(tj, 0, &err);
    EXPECT(root != NULL, "%s", tj);
    const char *type = json_string_value(json_object_get(json_object_get(root, "pre_tokenizer"), "type"));
    int ignore = json_is_true(json_object_get(json_object_get(root, "model"), "ignore_merges"));
    EXPECT(strcmp(pre, "llama-bpe") == 0 ? (type && !strcmp(type, "Sequence") && ignore) : !ignore, "%s: pre_tokenizer",
           name);
    json_t *added = json_object_get(root, "added_tokens");
    EXPECT(json_array_size(added) == 4, "%s: %zu added tokens", name, json_array_size(added));
    EXPECT(json_is_false(json_object_get(json_array_get(added, 3), "special")) &&
               json_is_true(json_object_get(json_array_get(added, 0), "special")),
           "%s: control tokens special, user-defined not", name);
    json_decref(root);
    free(tj);

    char *cfg_path = path_join(out, "tokenizer_config.json"), *gen_path = path_join(out, "generation_config.json");
    json_t *cfg = json_load_file(cfg_path, 0, &err), *gen = json_load_file(gen_path, 0, &err);
    EXPECT(cfg && gen, "%s: tokenizer_config.json / generation_config.json", name);
    if (cfg && gen) {
        const char *tmpl = json_string_value(json_object_get(cfg, "chat_template"));
        EXPECT(tmpl && strstr(tmpl, strcmp(pre, "llama-bpe") == 0 ? "<|start_header_id|>" : "<|im_start|>"),
               "%s: chat_template", name);
        const char *bos = json_string_value(json_object_get(cfg, "bos_token"));
        EXPECT(bos && strcmp(bos, "<|begin_of_text|>") == 0, "%s: bos_token", name);
        EXPECT(json_integer_value(json_object_get(gen, "bos_token_id")) == 0, "%s: generation bos", name);
        json_t *eos = json_object_get(gen, "eos_token_id");
        EXPECT(strcmp(pre, "llama-bpe") == 0 ? json_array_size(eos) == 2 : json_integer_value(eos) == 1,
               "%s: generation eos", name);
    }
    json_decref(cfg), json_decref(gen), json_decref(cases);
    free(cfg_path), free(gen_path), free(out);
}

static void test_tokenizer_llama_bpe(void) { check_tokenizer("tiny_llama", "llama-bpe"); }
static void test_tokenizer_smollm(void) { check_tokenizer("tiny_tied", "smollm"); }

// ---------------------------------------------------------------------------------------
// bad input

static void open_only(const char *path) {
    GgufFile g;
    gguf_open(&g, path);
    for (uint64_t i = 0; i < g.n_tensors; i++) {
        float *buf = xmalloc((size_t)g.tensors[i].numel * sizeof(float));
        if (gguf_can_dequantize(g.tensors[i].type)) gguf_dequantize(&g, &g.tensors[i], buf);
        free(buf);
    }
    gguf_close(&g);
}

static void convert_path(const char *path) {
    char *out = tmp_path("bad_out");
    ConvertOptions o = {0, 1};
    ConvertInfo info;
    convert_gguf(path, out, &o, &info);
    free(out);
}

static void convert_no_force(const char *path) {
    char *out = tmp_path("tiny_llama"); // written by test_convert_untied
    ConvertOptions o = {0, 0};
    ConvertInfo info;
    convert_gguf(path, out, &o, &info);
    free(out);
}

static void variant_fails(const char *src, const Variant *v, const char *needle, const char *needle2,
                          const char *what) {
    char *path = tmp_path("variant.gguf");
    write_variant(src, path, v);
    expect_failure(convert_path, path, needle, needle2, what);
    free(path);
}

static void test_bad_input(void) {
    char *path = tmp_path("bad.gguf");
    FILE *f = fopen(path, "wb");
    fputs("GGML not a gguf file at all, just some bytes", f);
    fclose(f);
    expect_failure(open_only, path, "not a GGUF file", "bad.gguf", "wrong magic");
    f = fopen(path, "wb");
    fputs("GG", f);
    fclose(f);
    expect_failure(open_only, path, "truncated", "bad.gguf", "2-byte file");
    expect_failure(open_only, "/nonexistent/x.gguf", "/nonexistent/x.gguf", NULL, "missing file");

    // truncated at several places: the header, the metadata, the tensor infos, the data
    size_t size;
    free(read_file(FIX "tiny_llama.gguf", &size));
    GgufFile g;
    gguf_open(&g, FIX "tiny_llama.gguf");
    uint64_t data_end = 0;
    for (uint64_t i = 0; i < g.n_tensors; i++)
        if (g.tensors[i].offset + g.tensors[i].nbytes > data_end) data_end = g.tensors[i].offset + g.tensors[i].nbytes;
    size_t cuts[] = {
        12, 100, 2000, (size_t)g.data_offset - 40, (size_t)g.data_offset + 10, (size_t)(g.data_offset + data_end) - 1};
    gguf_close(&g);
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "truncated at %zu of %zu bytes", cuts[i], size);
        copy_prefix(FIX "tiny_llama.gguf", path, cuts[i]);
        expect_failure(open_only, path, "truncated", "bad.gguf", what);
    }
    free(path);

    const char *src = FIX "tiny_llama.gguf";
    variant_fails(src, &(Variant){.version = 1}, "GGUF version 1 is not supported", "variant.gguf", "version 1");
    variant_fails(src, &(Variant){.version = 4}, "unsupported GGUF version 4", NULL, "version 4");
    variant_fails(src, &(Variant){.version = 0x03000000u}, "big-endian", NULL, "big-endian");
    variant_fails(src, &(Variant){.set_key = "general.architecture", .set_value = "qwen2"},
                  "general.architecture is 'qwen2'", "variant.gguf", "architecture");
    variant_fails(FIX "tiny_tied.gguf", &(Variant){.retype = "blk.0.ffn_down.weight", .new_type = GGML_Q2_K},
                  "tensor 'blk.0.ffn_down.weight' has type Q2_K, which strap cannot dequantise yet", "variant.gguf",
                  "Q2_K tensor");
    variant_fails(src, &(Variant){.retype = "blk.0.attn_q.weight", .new_type = 5 /* retired id */},
                  "tensor 'blk.0.attn_q.weight' has unknown ggml type id 5", NULL, "unknown type id");
    variant_fails(src, &(Variant){.set_key = "tokenizer.ggml.model", .set_value = "llama"}, "SentencePiece", NULL,
                  "SentencePiece tokenizer");
    variant_fails(src, &(Variant){.set_key = "tokenizer.ggml.pre", .set_value = "falcon"},
                  "tokenizer.ggml.pre is 'falcon'", NULL, "unknown pre-tokenizer");
    variant_fails(src, &(Variant){.drop_key = "llama.block_count"}, "'llama.block_count' is missing", NULL,
                  "missing metadata");
    variant_fails(src, &(Variant){.set_key = "llama.rope.scaling.type", .set_value = "yarn"},
                  "rope.scaling.type is 'yarn'", NULL, "rope scaling");
    variant_fails(src, &(Variant){.extra_tensor = "blk.0.attn_rot_embd"}, "tensor 'blk.0.attn_rot_embd' has no place",
                  NULL, "extra tensor");
    variant_fails(src, &(Variant){.drop_key = "tokenizer.ggml.merges"}, "'tokenizer.ggml.merges'", NULL, "no merges");
    expect_failure(convert_no_force, src, "already holds a checkpoint", "ask to overwrite it", "existing output");

    // a GGUF v2 file (same layout for these fields) converts
    char *v2 = tmp_path("v2.gguf"), *v2out = tmp_path("v2_out");
    write_variant(src, v2, &(Variant){.version = 2});
    ConvertOptions o = {0, 1};
    ConvertInfo info;
    convert_gguf(v2, v2out, &o, &info);
    EXPECT(info.gguf_version == 2 && info.n_tensors == 21 && info.vocab_tokens == 321, "v2: version %u, %d tensors",
           info.gguf_version, info.n_tensors);
    free(v2), free(v2out);

    // tokenizer.ggml.pre "gpt-2": ByteLevel with the GPT-2 regex, merges not ignored, no BOS added
    char *gpt2 = tmp_path("gpt2.gguf"), *gpt2out = tmp_path("gpt2_out");
    write_variant(
        src, gpt2,
        &(Variant){.set_key = "tokenizer.ggml.pre", .set_value = "gpt-2", .drop_key = "tokenizer.ggml.add_bos_token"});
    convert_gguf(gpt2, gpt2out, &o, &info);
    char *tj = path_join(gpt2out, "tokenizer.json");
    json_error_t err;
    json_t *root = json_load_file(tj, 0, &err);
    json_t *pre = json_object_get(root, "pre_tokenizer");
    EXPECT(root && !strcmp(json_string_value(json_object_get(pre, "type")), "ByteLevel") &&
               json_is_true(json_object_get(pre, "use_regex")) &&
               json_is_false(json_object_get(json_object_get(root, "model"), "ignore_merges")) &&
               json_is_null(json_object_get(root, "post_processor")),
           "gpt-2 pre_tokenizer");
    Tokenizer *t = tokenizer_load(gpt2out);
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    tokenizer_encode(t, "Hi 2025", 7, 0, &ids, &n, &cap);
    EXPECT(n >= 3, "gpt-2 tokenizer encodes");
    tokenizer_free(t);
    json_decref(root);
    free(ids), free(tj), free(gpt2), free(gpt2out);

    // no tokenizer in the GGUF: the weights convert, no tokenizer.json is written
    char *notok = tmp_path("notok.gguf"), *notokout = tmp_path("notok_out");
    write_variant(src, notok, &(Variant){.drop_key = "tokenizer.ggml.model"});
    convert_gguf(notok, notokout, &o, &info);
    char *cfg = path_join(notokout, "config.json"), *tok = path_join(notokout, "tokenizer.json");
    EXPECT(path_exists(cfg) && !path_exists(tok) && info.vocab_tokens == 0,
           "no tokenizer: config %d, tokenizer.json %d", path_exists(cfg), path_exists(tok));
    free(cfg), free(tok), free(notok), free(notokout);
}

// Random byte flips in the metadata / tensor infos: the reader may accept or reject the
// file, but must never crash.
static void test_corruption_never_crashes(void) {
    size_t size;
    char *data = read_file(FIX "tiny_llama.gguf", &size);
    GgufFile g;
    gguf_open(&g, FIX "tiny_llama.gguf");
    size_t header = (size_t)g.data_offset;
    gguf_close(&g);
    char *path = tmp_path("flip.gguf");
    Rng r;
    rng_seed(&r, 99);
    int crashes = 0;
    for (int it = 0; it < 60; it++) {
        char *copy = xmalloc(size);
        memcpy(copy, data, size);
        for (int k = 0; k < 3; k++) copy[rng_u64(&r) % header] ^= (char)(1 + rng_u64(&r) % 255);
        FILE *f = fopen(path, "wb");
        put(f, copy, size);
        fclose(f);
        free(copy);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            freopen("/dev/null", "w", stderr);
            open_only(path);
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        crashes += !WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 1);
    }
    EXPECT(crashes == 0, "%d of 60 corrupted files crashed the reader", crashes);
    free(path);
    free(data);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/strap_gguf_XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL, "mkdtemp");
    RUN(test_metadata);
    RUN(test_dequantize);
    RUN(test_rope_permutation);
    RUN(test_rope_unpermuted_weights);
    RUN(test_config);
    RUN(test_convert_untied);
    RUN(test_convert_tied_kquants);
    RUN(test_convert_bf16);
    RUN(test_tokenizer_llama_bpe);
    RUN(test_tokenizer_smollm);
    RUN(test_bad_input);
    RUN(test_corruption_never_crashes);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_summary();
}
