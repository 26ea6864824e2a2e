// test_safetensors.c: model/safetensors.c and model/config.c.
//
//   - st_write -> st_open round trips (F32, BF16, I32; names, shapes, order, metadata,
//     header padding and data alignment)
//   - every F16 and BF16 bit pattern decoded against a float64 formula; f32 -> bf16
//     rounding (nearest, ties to even, overflow, NaN) against a float64 reference
//   - the Hugging Face fixtures (tests/ref/fixtures, written by transformers itself):
//     every tensor present with the shape its config.json implies, config values
//   - config_write -> config_read round trips and the written JSON's keys
//   - bad input, each in a forked child: exit status 1 and a message naming the file
//
// Runs from the repository root (tests/run.sh does), built with only
// model/safetensors.c model/config.c base/io.c -ljansson -lm.
#include <fcntl.h>
#include <float.h>
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
#include "../model/config.h"
#include "../model/safetensors.h"
#include "test.h"

static char tmpdir[64];

static char *tmp_path(const char *name) { return path_join(tmpdir, name); }

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t next_u64(void) { // splitmix64
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

// Runs fn(arg) in a child; expects exit status 1, "strap: error:", `needle` and `file` in
// its stderr (file: the name the message must carry; NULL = arg).
static void expect_failure(void (*fn)(const char *), const char *arg, const char *needle, const char *file,
                           const char *what) {
    expect_failure_exit(fn, arg, needle, file ? file : arg, what);
}

// ---- round trips ----

static void test_round_trip(void) {
    char *p = tmp_path("rt.safetensors");
    enum { NA = 2 * 3 * 5, NB = 7, NC = 4 * 3 };
    float a[NA], b[NB], c[NC], s = 3.5f;
    for (int i = 0; i < NA; i++) a[i] = (float)((int64_t)(next_u64() % 2000001) - 1000000) * 1e-3f;
    // specials: signed zero, infinities, NaN (with a payload), subnormals, the bf16 tie cases
    a[0] = -0.0f, a[1] = INFINITY, a[2] = -INFINITY, a[3] = bits_f32(0x7fc12345u), a[4] = bits_f32(0x00000001u);
    a[5] = bits_f32(0x807fffffu), a[6] = FLT_MAX, a[7] = bits_f32(0x3f808000u), a[8] = bits_f32(0x3f818000u);
    for (int i = 0; i < NB; i++) b[i] = (float)i - 3.25f;
    for (int i = 0; i < NC; i++) c[i] = (float)(next_u64() % 1000) / 7.0f;
    int32_t ids[6] = {0, -1, INT32_MAX, INT32_MIN, 12345, -100};
    StWrite w[] = {
        {"model.layers.0.self_attn.q_proj.weight", ST_F32, 3, {2, 3, 5}, a, NULL},
        {"b", ST_BF16, 1, {NB}, b, NULL}, // 14 bytes: the next tensor starts 2-byte aligned only
        {"z.bf16", ST_BF16, 2, {4, 3}, c, NULL},
        {"ids", ST_I32, 2, {2, 3}, NULL, ids},
        {"scalar", ST_F32, 0, {0}, &s, NULL},
        {"empty", ST_F32, 2, {0, 5}, NULL, NULL},
        {"a.bf16", ST_BF16, 1, {NA}, a, NULL},
    };
    int nw = (int)(sizeof w / sizeof w[0]);
    const char *meta[] = {"step", "12", "strap_version", "0.1", NULL};
    st_write(p, w, nw, meta);
    EXPECT(path_exists(p), "%s written", p);

    SafeTensors st;
    st_open(&st, p);
    EXPECT(st.n_tensors == nw, "%d tensors, wrote %d", st.n_tensors, nw);
    for (int i = 0; i < st.n_tensors && i < nw; i++) { // file order = write order
        const StTensor *t = &st.tensors[i];
        EXPECT(strcmp(t->name, w[i].name) == 0, "tensor %d is '%s', wrote '%s'", i, t->name, w[i].name);
        EXPECT(t->dtype == w[i].dtype, "%s: dtype %d vs %d", t->name, t->dtype, w[i].dtype);
        EXPECT(t->ndim == w[i].ndim, "%s: ndim %d vs %d", t->name, t->ndim, w[i].ndim);
        int64_t numel = 1;
        for (int d = 0; d < t->ndim; d++) {
            EXPECT(t->shape[d] == w[i].shape[d], "%s: dim %d", t->name, d);
            numel *= w[i].shape[d];
        }
        EXPECT(t->numel == numel, "%s: numel %lld vs %lld", t->name, (long long)t->numel, (long long)numel);
        const char *dn = w[i].dtype == ST_F32 ? "F32" : w[i].dtype == ST_BF16 ? "BF16" : "I32";
        EXPECT(strcmp(t->dtype_name, dn) == 0, "%s: dtype name %s", t->name, t->dtype_name);
        if (i > 0) // data is contiguous in order, as the safetensors reference implementation requires
            EXPECT(t->offset == st.tensors[i - 1].offset + st.tensors[i - 1].nbytes, "%s: offset %zu", t->name,
                   t->offset);
    }
    EXPECT(st.tensors[0].offset == 0, "first tensor at data offset 0");
    size_t data_end = st.tensors[nw - 1].offset + st.tensors[nw - 1].nbytes;
    EXPECT((size_t)((const uint8_t *)st.data - (const uint8_t *)st.map) + data_end == st.map_size,
           "file size %zu = header + data", st.map_size);

    float back[NA];
    const StTensor *t = st_find(&st, "model.layers.0.self_attn.q_proj.weight");
    EXPECT(t != NULL, "find q_proj");
    if (t) st_read_f32(&st, t, back);
    EXPECT(memcmp(back, a, sizeof a) == 0, "F32 values bit-exact (NaN payload, -0, subnormals included)");
    if ((t = st_find(&st, "a.bf16"))) st_read_f32(&st, t, back);
    int bad = 0;
    for (int i = 0; i < NA; i++) bad += f32_bits(back[i]) != f32_bits(bf16_to_f32(f32_to_bf16(a[i])));
    EXPECT(bad == 0, "%d BF16 values differ from f32_to_bf16", bad);
    if ((t = st_find(&st, "b"))) st_read_f32(&st, t, back);
    bad = 0;
    for (int i = 0; i < NB; i++) bad += back[i] != b[i]; // exactly representable in bf16
    EXPECT(bad == 0, "BF16 exact values");
    if ((t = st_find(&st, "z.bf16"))) st_read_f32(&st, t, back); // starts at an odd multiple of 2
    bad = 0;
    for (int i = 0; i < NC; i++) bad += back[i] != bf16_to_f32(f32_to_bf16(c[i]));
    EXPECT(bad == 0, "BF16 values at a 2-byte aligned offset");
    int32_t ids_back[6] = {0};
    if ((t = st_find(&st, "ids"))) st_read_i32(&st, t, ids_back);
    EXPECT(memcmp(ids_back, ids, sizeof ids) == 0, "I32 values");
    if ((t = st_find(&st, "scalar"))) {
        EXPECT(t->ndim == 0 && t->numel == 1 && t->nbytes == 4, "scalar header");
        st_read_f32(&st, t, back);
        EXPECT(back[0] == 3.5f, "scalar value");
    }
    t = st_find(&st, "empty");
    EXPECT(t && t->numel == 0 && t->nbytes == 0, "empty tensor");
    EXPECT(st_find(&st, "missing") == NULL, "st_find of an absent name");
    EXPECT(st_find(&st, "__metadata__") == NULL, "__metadata__ is not a tensor");

    char *v = st_metadata(&st, "format");
    EXPECT(v && strcmp(v, "pt") == 0, "metadata format pt");
    free(v);
    v = st_metadata(&st, "step");
    EXPECT(v && strcmp(v, "12") == 0, "metadata step");
    free(v);
    v = st_metadata(&st, "strap_version");
    EXPECT(v && strcmp(v, "0.1") == 0, "metadata strap_version");
    free(v);
    EXPECT(st_metadata(&st, "nope") == NULL, "absent metadata key");

    // the header: 8-byte length, a multiple of 8, padded with spaces; valid JSON
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = (hl << 8) | ((const uint8_t *)st.map)[i];
    EXPECT(hl % 8 == 0, "header length %llu not a multiple of 8", (unsigned long long)hl);
    EXPECT((const uint8_t *)st.data == (const uint8_t *)st.map + 8 + hl, "data follows the header");
    const char *h = (const char *)st.map + 8;
    size_t used = hl;
    while (used > 0 && h[used - 1] == ' ') used--;
    EXPECT(used > 0 && h[used - 1] == '}' && hl - used < 8, "header padded with < 8 spaces");
    json_error_t err;
    json_t *root = json_loadb(h, hl, 0, &err);
    EXPECT(root && json_is_object(root), "header parses: %s", root ? "" : err.text);
    json_t *m = json_object_get(root, "__metadata__");
    EXPECT(json_is_string(json_object_get(m, "format")), "__metadata__.format");
    json_decref(root);
    st_close(&st);

    // written atomically: no temp file left next to it
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls %s | grep -q '\\.tmp\\.'", tmpdir);
    EXPECT(system(cmd) != 0, "a temp file was left in %s", tmpdir);

    // overwriting an existing file replaces it whole
    st_write(p, w + 3, 1, NULL);
    st_open(&st, p);
    EXPECT(st.n_tensors == 1 && strcmp(st.tensors[0].name, "ids") == 0, "rewrite");
    v = st_metadata(&st, "format");
    EXPECT(v && strcmp(v, "pt") == 0, "format pt without extra metadata");
    free(v);
    st_close(&st);
    free(p);
}

// A file written by hand (not by st_write): F16 data, I64 ids, tensors in the header in an
// order other than their data order, and a second metadata key.
static void test_read_foreign_layout(void) {
    char *p = tmp_path("foreign.safetensors");
    const char *header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[16,24]},"
                         "\"__metadata__\":{\"format\":\"pt\",\"note\":\"x\"},"
                         "\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}";
    size_t hl = strlen(header);
    uint8_t buf[512] = {0};
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, header, hl);
    uint8_t *data = buf + 8 + hl;
    int64_t ids[2] = {-7, 1000000};
    memcpy(data, ids, 16);
    uint16_t half[4] = {0x3c00, 0xc000, 0x0001, 0x7bff}; // 1, -2, 2^-24, 65504
    memcpy(data + 16, half, 8);
    write_file_atomic(p, buf, 8 + hl + 24);
    SafeTensors st;
    st_open(&st, p);
    EXPECT(st.n_tensors == 2 && strcmp(st.tensors[0].name, "h") == 0 && strcmp(st.tensors[1].name, "ids") == 0,
           "header order kept");
    float f[4] = {0};
    st_read_f32(&st, st_find(&st, "h"), f);
    EXPECT(f[0] == 1 && f[1] == -2 && f[2] == ldexpf(1, -24) && f[3] == 65504, "F16 values %g %g %g %g", f[0], f[1],
           f[2], f[3]);
    int32_t got[2] = {0};
    st_read_i32(&st, st_find(&st, "ids"), got);
    EXPECT(got[0] == -7 && got[1] == 1000000, "I64 narrowed to I32");
    char *note = st_metadata(&st, "note");
    EXPECT(note && strcmp(note, "x") == 0, "metadata note");
    free(note);
    st_close(&st);
    free(p);
}

// ---- 16-bit floats ----

static int same_value(float got, double ref) { // NaN == NaN; zeros compare their sign
    if (isnan(ref)) return isnan(got) && !signbit(got) == !signbit(ref);
    return (double)got == ref && !signbit(got) == !signbit(ref);
}

static void test_f16_all_patterns(void) {
    int bad = 0, first = -1;
    for (uint32_t h = 0; h < 65536; h++) {
        int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
        double ref;
        if (e == 0)
            ref = ldexp(m, -24); // subnormal: m * 2^-14 / 1024
        else if (e == 31)
            ref = m ? NAN : INFINITY;
        else
            ref = ldexp(1024 + m, e - 25); // (1 + m/1024) * 2^(e-15)
        if (sign) ref = -ref;
        float got = f16_to_f32((uint16_t)h);
        int ok = same_value(got, ref);
        if (ok && e == 31 && m) ok = ((f32_bits(got) >> 13) & 0x3ff) == (uint32_t)m; // payload kept
        if (!ok && first < 0) first = (int)h;
        bad += !ok;
    }
    EXPECT(bad == 0, "%d f16 patterns decoded wrongly (first 0x%04x)", bad, first);
}

static void test_bf16_all_patterns(void) {
    int bad = 0, first = -1;
    for (uint32_t h = 0; h < 65536; h++) {
        int sign = h >> 15, e = (h >> 7) & 255, m = h & 127;
        double ref;
        if (e == 0)
            ref = ldexp(m, -133); // subnormal: m * 2^-126 / 128
        else if (e == 255)
            ref = m ? NAN : INFINITY;
        else
            ref = ldexp(128 + m, e - 134); // (1 + m/128) * 2^(e-127)
        if (sign) ref = -ref;
        float got = bf16_to_f32((uint16_t)h);
        int ok = same_value(got, ref);
        if (ok && isnan(ref)) ok = (f32_bits(got) >> 16) == h; // NaN payload kept
        if (!ok && first < 0) first = (int)h;
        bad += !ok;
        // and back: every non-NaN bf16 value is exactly representable, so it maps to itself
        if (!isnan(ref) && f32_to_bf16(got) != h) bad++;
    }
    EXPECT(bad == 0, "%d bf16 patterns decoded (or re-encoded) wrongly (first 0x%04x)", bad, first);
}

// float64 reference for f32 -> bf16: the nearer of the two bf16 neighbours of x, ties to
// the even mantissa; beyond the largest finite bf16 + half an ulp, infinity.
static uint16_t ref_f32_to_bf16(float x) {
    uint32_t u = f32_bits(x);
    if (isnan(x)) return 0;        // handled by the caller
    uint32_t lo = u & 0xffff0000u; // truncated toward zero
    if (lo == u || (u & 0x7fffffffu) == 0x7f800000u) return (uint16_t)(lo >> 16);
    uint32_t hi = lo + 0x10000u; // next bf16 away from zero
    double ax = fabs((double)x), alo = fabs((double)bits_f32(lo));
    double ahi = ((hi & 0x7f800000u) == 0x7f800000u) ? ldexp(1, 128) : fabs((double)bits_f32(hi));
    double dlo = ax - alo, dhi = ahi - ax;
    if (dlo < dhi) return (uint16_t)(lo >> 16);
    if (dhi < dlo) return (uint16_t)(hi >> 16);
    return ((lo >> 16) & 1) ? (uint16_t)(hi >> 16) : (uint16_t)(lo >> 16);
}

static int bf16_matches(uint32_t u) {
    float x = bits_f32(u);
    uint16_t got = f32_to_bf16(x);
    if (isnan(x)) // stays NaN (never becomes infinity), keeps its sign
        return (got & 0x7f80) == 0x7f80 && (got & 0x7f) != 0 && (got >> 15) == (u >> 31);
    return got == ref_f32_to_bf16(x);
}

static void test_f32_to_bf16_rounding(void) {
    int bad = 0;
    uint32_t first = 0;
    // every low half for high halves around the interesting places: zero/subnormals, 1.0,
    // an odd mantissa (ties go up), the largest finite (ties overflow to inf), inf/NaN
    const uint32_t highs[] = {0x0000, 0x0001, 0x007f, 0x0080, 0x3f80, 0x3f81, 0x4049, 0x7f7e, 0x7f7f,
                              0x7f80, 0x7fc0, 0x7fff, 0x8000, 0x8001, 0xbf80, 0xbf81, 0xff7f, 0xff80};
    for (size_t k = 0; k < sizeof highs / sizeof highs[0]; k++)
        for (uint32_t lo = 0; lo < 65536; lo++) {
            uint32_t u = (highs[k] << 16) | lo;
            if (!bf16_matches(u)) bad++, first = first ? first : u;
        }
    // a dense sweep over all 2^32 patterns (stride prime, so every low-half residue appears)
    for (uint64_t u = 0; u < (1ull << 32); u += 65521)
        if (!bf16_matches((uint32_t)u)) bad++, first = first ? first : (uint32_t)u;
    for (int i = 0; i < 200000; i++) { // random patterns
        uint32_t u = (uint32_t)next_u64();
        if (!bf16_matches(u)) bad++, first = first ? first : u;
    }
    EXPECT(bad == 0, "%d f32 -> bf16 roundings differ from the float64 reference (first 0x%08x)", bad, first);
    // the named cases
    EXPECT(f32_to_bf16(1.0f) == 0x3f80, "1.0");
    EXPECT(f32_to_bf16(bits_f32(0x3f808000u)) == 0x3f80, "tie to even (down)");
    EXPECT(f32_to_bf16(bits_f32(0x3f818000u)) == 0x3f82, "tie to even (up)");
    EXPECT(f32_to_bf16(bits_f32(0x3f808001u)) == 0x3f81, "just above a tie rounds up");
    EXPECT(f32_to_bf16(bits_f32(0x3f807fffu)) == 0x3f80, "just below a tie rounds down");
    EXPECT(f32_to_bf16(FLT_MAX) == 0x7f80, "FLT_MAX rounds to +inf");
    EXPECT(f32_to_bf16(bits_f32(0x7f7f7fffu)) == 0x7f7f, "below the overflow tie stays finite");
    EXPECT(f32_to_bf16(-INFINITY) == 0xff80, "-inf");
    EXPECT(f32_to_bf16(-0.0f) == 0x8000, "-0");
    uint16_t n1 = f32_to_bf16(bits_f32(0x7f800001u)); // signalling NaN with a low-half payload only
    EXPECT((n1 & 0x7f80) == 0x7f80 && (n1 & 0x7f), "NaN 0x7f800001 -> 0x%04x is not NaN", n1);
    EXPECT(isnan(bf16_to_f32(f32_to_bf16(NAN))), "NaN preserved");
    EXPECT(f32_to_bf16(bits_f32(0xffc00000u)) >> 15 == 1, "negative NaN keeps its sign");
}

// ---- Hugging Face fixtures ----

typedef struct {
    char name[128];
    int ndim;
    int64_t shape[2];
} Expect;

// The tensor list a Llama config implies, under Hugging Face names.
static int expected_tensors(const LlamaConfig *c, Expect *e) {
    int n = 0;
    long long V = c->vocab_size, C = c->hidden_size, F = c->intermediate_size;
    long long Q = (long long)c->n_heads * c->head_dim, KV = (long long)c->n_kv_heads * c->head_dim;
#define ADD2(nm, a, b) \
    (snprintf(e[n].name, sizeof e[n].name, "%s", nm), e[n].ndim = 2, e[n].shape[0] = (a), e[n].shape[1] = (b), n++)
#define ADD1(nm, a) (snprintf(e[n].name, sizeof e[n].name, "%s", nm), e[n].ndim = 1, e[n].shape[0] = (a), n++)
    ADD2("model.embed_tokens.weight", V, C);
    for (int l = 0; l < c->n_layers; l++) {
        char b[128];
        const char *p = "model.layers";
#define L(suffix) (snprintf(b, sizeof b, "%s.%d.%s", p, l, suffix), b)
        ADD1(L("input_layernorm.weight"), C);
        ADD1(L("post_attention_layernorm.weight"), C);
        ADD2(L("self_attn.q_proj.weight"), Q, C);
        ADD2(L("self_attn.k_proj.weight"), KV, C);
        ADD2(L("self_attn.v_proj.weight"), KV, C);
        ADD2(L("self_attn.o_proj.weight"), C, Q);
        ADD2(L("mlp.gate_proj.weight"), F, C);
        ADD2(L("mlp.up_proj.weight"), F, C);
        ADD2(L("mlp.down_proj.weight"), C, F);
#undef L
    }
    ADD1("model.norm.weight", C);
    if (!c->tie_embeddings) ADD2("lm_head.weight", V, C);
#undef ADD1
#undef ADD2
    return n;
}

static void check_hf_dir(const char *dir, int tied) {
    LlamaConfig c;
    config_read(&c, dir);
    EXPECT(c.tie_embeddings == tied, "%s: tie_word_embeddings %d", dir, c.tie_embeddings);
    Expect *e = xcalloc(8 + 9 * (size_t)c.n_layers, sizeof(Expect));
    int ne = expected_tensors(&c, e);
    char *path = path_join(dir, "model.safetensors");
    SafeTensors st;
    st_open(&st, path);
    EXPECT(st.n_tensors == ne, "%s: %d tensors, the config implies %d", path, st.n_tensors, ne);
    long long total = 0;
    for (int i = 0; i < ne; i++) {
        const StTensor *t = st_find(&st, e[i].name);
        EXPECT(t != NULL, "%s: no tensor %s", path, e[i].name);
        if (!t) continue;
        EXPECT(t->dtype == ST_F32 && t->ndim == e[i].ndim && t->shape[0] == e[i].shape[0] &&
                   (e[i].ndim == 1 || t->shape[1] == e[i].shape[1]),
               "%s: %s is %s of %d dims [%lld, %lld]", path, e[i].name, t->dtype_name, t->ndim, (long long)t->shape[0],
               (long long)(t->ndim > 1 ? t->shape[1] : 0));
        float *v = xmalloc((size_t)t->numel * sizeof(float));
        st_read_f32(&st, t, v);
        int finite = 1;
        double sum2 = 0;
        for (int64_t k = 0; k < t->numel; k++) finite &= isfinite(v[k]) != 0, sum2 += (double)v[k] * v[k];
        EXPECT(finite && sum2 > 0, "%s: %s values finite and non-zero", path, e[i].name);
        free(v);
        total += t->numel;
    }
    EXPECT(total == config_param_count(&c), "%s: %lld parameters, config_param_count %lld", path, total,
           config_param_count(&c));
    char *fmt = st_metadata(&st, "format");
    EXPECT(fmt && strcmp(fmt, "pt") == 0, "%s: __metadata__.format", path);
    free(fmt);
    st_close(&st);
    free(path);

    // expected.safetensors: the reference tensors test_model.c compares with
    path = path_join(dir, "expected.safetensors");
    st_open(&st, path);
    const StTensor *tok = st_find(&st, "tokens"), *tgt = st_find(&st, "targets"), *lg = st_find(&st, "logits"),
                   *loss = st_find(&st, "loss");
    EXPECT(tok && tok->dtype == ST_I32 && tok->ndim == 2 && tok->shape[0] == 2 && tok->shape[1] == 11, "%s tokens",
           path);
    EXPECT(tgt && tgt->dtype == ST_I32 && tgt->numel == 22, "%s targets", path);
    EXPECT(lg && lg->dtype == ST_F32 && lg->ndim == 3 && lg->shape[2] == c.vocab_size && lg->numel == 22 * c.vocab_size,
           "%s logits", path);
    EXPECT(loss && loss->dtype == ST_F32 && loss->ndim == 1 && loss->numel == 1, "%s loss", path);
    if (tok && tgt && tok->numel == 22 && tgt->numel == 22) {
        int32_t ids[22], tg[22];
        st_read_i32(&st, tok, ids);
        st_read_i32(&st, tgt, tg);
        int ok = 1, ignored = 0;
        for (int b = 0; b < 2; b++)
            for (int t = 0; t < 11; t++) {
                int32_t x = tg[b * 11 + t];
                ok &= ids[b * 11 + t] >= 0 && ids[b * 11 + t] < c.vocab_size;
                if (x == -100)
                    ignored++;
                else
                    ok &= t < 10 && x == ids[b * 11 + t + 1]; // next token
                if (t == 10) ok &= x == -100;
            }
        EXPECT(ok && ignored == 4, "%s: targets are tokens shifted by one, 4 ignored (got %d)", path, ignored);
    }
    if (loss) {
        float l = 0;
        st_read_f32(&st, loss, &l);
        EXPECT(l > 1 && l < 20, "%s: loss %g", path, l);
    }
    for (int i = 0; i < ne; i++) {
        char g[160];
        snprintf(g, sizeof g, "grad.%s", e[i].name);
        const StTensor *t = st_find(&st, g);
        EXPECT(t && t->dtype == ST_F32 && t->shape[0] == e[i].shape[0] &&
                   (e[i].ndim == 1 || t->shape[1] == e[i].shape[1]),
               "%s: %s", path, g);
    }
    EXPECT(st.n_tensors == ne + 4, "%s: %d tensors, expected %d grads + 4", path, st.n_tensors, ne);
    st_close(&st);
    free(path);
    free(e);
}

static void test_hf_fixtures(void) {
    check_hf_dir("tests/ref/fixtures/gqa_untied", 0);
    check_hf_dir("tests/ref/fixtures/gqa_tied", 1);
    // the sharded copy of gqa_untied: the shards together hold the same tensors, bit for bit
    SafeTensors one, s1, s2;
    st_open(&one, "tests/ref/fixtures/gqa_untied/model.safetensors");
    st_open(&s1, "tests/ref/fixtures/gqa_untied_sharded/model-00001-of-00002.safetensors");
    st_open(&s2, "tests/ref/fixtures/gqa_untied_sharded/model-00002-of-00002.safetensors");
    EXPECT(s1.n_tensors + s2.n_tensors == one.n_tensors, "shards hold %d + %d tensors", s1.n_tensors, s2.n_tensors);
    int same = 0;
    for (int i = 0; i < one.n_tensors; i++) {
        const StTensor *a = &one.tensors[i], *b = st_find(&s1, a->name);
        const SafeTensors *sb = &s1;
        if (!b) b = st_find(&s2, a->name), sb = &s2;
        same += b && b->nbytes == a->nbytes && memcmp(one.data + a->offset, sb->data + b->offset, a->nbytes) == 0;
    }
    EXPECT(same == one.n_tensors, "%d of %d tensors identical in the shards", same, one.n_tensors);
    st_close(&one), st_close(&s1), st_close(&s2);
}

// ---- config.json ----

static void test_config_fixtures(void) {
    LlamaConfig c;
    // transformers 5 writes rope_theta inside rope_parameters
    config_read(&c, "tests/ref/fixtures/gqa_untied");
    EXPECT(c.vocab_size == 67 && c.hidden_size == 32 && c.intermediate_size == 48 && c.n_layers == 2 &&
               c.n_heads == 4 && c.n_kv_heads == 2 && c.head_dim == 8 && c.max_seq == 64 && c.rope_theta == 10000.0f &&
               c.rms_norm_eps == 1e-5f && c.tie_embeddings == 0 && c.initializer_range == 0.02f,
           "gqa_untied values");
    EXPECT(c.bos_token_id == 1 && c.n_eos == 1 && c.eos_token_ids[0] == 2, "gqa_untied bos %d eos %d x%d",
           c.bos_token_id, c.eos_token_ids[0], c.n_eos);
    config_read(&c, "tests/ref/fixtures/gqa_tied/config.json"); // a file path works too
    EXPECT(c.vocab_size == 67 && c.hidden_size == 48 && c.intermediate_size == 80 && c.n_layers == 3 &&
               c.n_heads == 3 && c.n_kv_heads == 1 && c.head_dim == 16 && c.max_seq == 64 &&
               c.rope_theta == 500000.0f && c.rms_norm_eps == 1e-6f && c.tie_embeddings == 1,
           "gqa_tied values");
}

static void write_text(const char *path, const char *text) { write_file_atomic(path, text, strlen(text)); }

#define REQUIRED                                                                                      \
    "\"vocab_size\": 100, \"hidden_size\": 64, \"intermediate_size\": 96, \"num_hidden_layers\": 2, " \
    "\"num_attention_heads\": 4"

static void test_config_defaults(void) {
    char *p = tmp_path("min.json");
    write_text(p, "{\"model_type\": \"llama\", " REQUIRED "}");
    LlamaConfig c;
    config_read(&c, p);
    EXPECT(c.n_kv_heads == 4 && c.head_dim == 16 && c.max_seq == 2048 && c.rope_theta == 10000.0f &&
               c.rms_norm_eps == 1e-6f && c.tie_embeddings == 0 && c.initializer_range == 0.02f &&
               c.bos_token_id == -1 && c.n_eos == 0,
           "defaults: kv %d hd %d max %d theta %g eps %g tie %d init %g bos %d neos %d", c.n_kv_heads, c.head_dim,
           c.max_seq, c.rope_theta, c.rms_norm_eps, c.tie_embeddings, c.initializer_range, c.bos_token_id, c.n_eos);
    // model_type absent but architectures says Llama; eos as a list; explicit head_dim; nulls
    write_text(p,
               "{\"architectures\": [\"LlamaForCausalLM\"], " REQUIRED ", \"num_key_value_heads\": 2, "
               "\"head_dim\": 32, \"eos_token_id\": [5, 7, 9], \"bos_token_id\": 3, \"rope_theta\": 500000, "
               "\"rope_scaling\": null, \"pad_token_id\": null, \"hidden_act\": \"silu\", \"attention_bias\": false, "
               "\"tie_word_embeddings\": true, \"max_position_embeddings\": 131072}");
    config_read(&c, p);
    EXPECT(c.n_kv_heads == 2 && c.head_dim == 32 && c.n_eos == 3 && c.eos_token_ids[0] == 5 &&
               c.eos_token_ids[2] == 9 && c.bos_token_id == 3 && c.rope_theta == 500000.0f && c.tie_embeddings == 1 &&
               c.max_seq == 131072,
           "explicit values");
    // rope_scaling {"rope_type": "default"} is plain RoPE
    write_text(p, "{\"model_type\": \"llama\", " REQUIRED ", \"rope_scaling\": {\"rope_type\": \"default\"}}");
    config_read(&c, p);
    EXPECT(c.rope_theta == 10000.0f, "rope_scaling default accepted");
    free(p);
}

static void test_config_write(void) {
    char *p = tmp_path("config.json");
    LlamaConfig c;
    config_read(&c, "tests/ref/fixtures/gqa_untied");
    c.rope_theta = 500000.0f, c.rms_norm_eps = 1e-5f, c.initializer_range = 0.041f;
    const int eos_counts[] = {0, 1, 3};
    for (int k = 0; k < 3; k++) {
        c.n_eos = eos_counts[k];
        for (int i = 0; i < c.n_eos; i++) c.eos_token_ids[i] = 2 + 3 * i;
        c.bos_token_id = k == 0 ? -1 : 1;
        c.tie_embeddings = k == 2;
        config_write(&c, p, k == 2 ? "bfloat16" : "float32");
        LlamaConfig d;
        memset(&d, 0x5a, sizeof d);
        config_read(&d, p);
        LlamaConfig cc = c; // eos slots past n_eos are not part of the config
        for (int i = cc.n_eos; i < 8; i++) cc.eos_token_ids[i] = d.eos_token_ids[i] = 0;
        EXPECT(memcmp(&cc, &d, sizeof cc) == 0, "config_write -> config_read round trip (%d eos)", c.n_eos);
    }
    // the JSON itself: keys transformers' LlamaConfig reads, sorted, indented, newline-terminated
    size_t n;
    char *text = read_file(p, &n);
    EXPECT(n > 2 && text[0] == '{' && text[n - 1] == '\n' && strstr(text, "\n  \"architectures\": [") != NULL,
           "pretty-printed: %.60s", text);
    EXPECT(strstr(text, "\"rms_norm_eps\": 1e-05") || strstr(text, "\"rms_norm_eps\": 1e-5"),
           "rms_norm_eps written as 1e-05, not 9.99999975e-06");
    EXPECT(strstr(text, "\"rope_theta\": 500000.0") != NULL, "rope_theta written as 500000.0");
    EXPECT(strstr(text, "\"initializer_range\": 0.041") != NULL, "initializer_range written as 0.041");
    json_error_t err;
    json_t *root = json_loads(text, 0, &err);
    EXPECT(root != NULL, "config.json parses: %s", err.text);
    const char *prev = "";
    const char *key;
    json_t *v;
    int sorted = 1;
    json_object_foreach(root, key, v) sorted &= strcmp(prev, key) < 0, prev = key;
    EXPECT(sorted, "keys sorted");
    json_t *arch = json_object_get(root, "architectures");
    EXPECT(json_is_array(arch) && json_array_size(arch) == 1 &&
               strcmp(json_string_value(json_array_get(arch, 0)), "LlamaForCausalLM") == 0,
           "architectures");
#define STR_IS(k, val)                                                                                                \
    EXPECT(json_is_string(json_object_get(root, k)) && strcmp(json_string_value(json_object_get(root, k)), val) == 0, \
           "%s", k)
#define INT_IS(k, val) \
    EXPECT(json_is_integer(json_object_get(root, k)) && json_integer_value(json_object_get(root, k)) == (val), "%s", k)
    STR_IS("model_type", "llama");
    STR_IS("hidden_act", "silu");
    STR_IS("torch_dtype", "bfloat16");
    STR_IS("transformers_version", "4.46.0");
    INT_IS("vocab_size", 67);
    INT_IS("hidden_size", 32);
    INT_IS("intermediate_size", 48);
    INT_IS("num_hidden_layers", 2);
    INT_IS("num_attention_heads", 4);
    INT_IS("num_key_value_heads", 2);
    INT_IS("head_dim", 8);
    INT_IS("max_position_embeddings", 64);
    INT_IS("pretraining_tp", 1);
    INT_IS("bos_token_id", 1);
#undef STR_IS
#undef INT_IS
    EXPECT(json_is_false(json_object_get(root, "attention_bias")) && json_is_false(json_object_get(root, "mlp_bias")),
           "biases false");
    EXPECT(json_is_true(json_object_get(root, "tie_word_embeddings")), "tie_word_embeddings true");
    EXPECT(json_is_true(json_object_get(root, "use_cache")), "use_cache");
    EXPECT(json_is_null(json_object_get(root, "rope_scaling")), "rope_scaling null");
    EXPECT(json_is_real(json_object_get(root, "attention_dropout")) &&
               json_real_value(json_object_get(root, "attention_dropout")) == 0.0,
           "attention_dropout 0.0");
    json_t *eos = json_object_get(root, "eos_token_id");
    EXPECT(json_is_array(eos) && json_array_size(eos) == 3, "eos list");
    json_decref(root);
    free(text);
    // one eos id is written as an int, none as null; no bos as null
    c.n_eos = 1, c.bos_token_id = -1;
    config_write(&c, p, "float32");
    root = json_load_file(p, 0, &err);
    EXPECT(json_is_integer(json_object_get(root, "eos_token_id")), "single eos is an int");
    EXPECT(json_is_null(json_object_get(root, "bos_token_id")), "no bos is null");
    json_decref(root);
    free(p);
}

static void test_param_count(void) {
    // published counts: SmolLM2-135M (tied) and Llama 3 8B (untied)
    LlamaConfig s = {.vocab_size = 49152,
                     .hidden_size = 576,
                     .intermediate_size = 1536,
                     .n_layers = 30,
                     .n_heads = 9,
                     .n_kv_heads = 3,
                     .head_dim = 64,
                     .tie_embeddings = 1};
    EXPECT(config_param_count(&s) == 134515008LL, "SmolLM2-135M: %lld", config_param_count(&s));
    LlamaConfig l = {.vocab_size = 128256,
                     .hidden_size = 4096,
                     .intermediate_size = 14336,
                     .n_layers = 32,
                     .n_heads = 32,
                     .n_kv_heads = 8,
                     .head_dim = 128,
                     .tie_embeddings = 0};
    EXPECT(config_param_count(&l) == 8030261248LL, "Llama 3 8B: %lld", config_param_count(&l));
}

// ---- bad input ----

static void open_st_read_all(const char *path) {
    SafeTensors st;
    st_open(&st, path);
    for (int i = 0; i < st.n_tensors; i++) {
        float *buf = xmalloc((size_t)st.tensors[i].numel * sizeof(float) + 4);
        st_read_f32(&st, &st.tensors[i], buf);
        free(buf);
    }
    st_close(&st);
}

static void open_st_read_ids(const char *path) {
    SafeTensors st;
    st_open(&st, path);
    int32_t buf[16];
    st_read_i32(&st, &st.tensors[0], buf);
    st_close(&st);
}

static void write_raw_st(const char *path, const char *header, size_t data_bytes) {
    size_t hl = strlen(header);
    char *buf = xcalloc(8 + hl + data_bytes, 1);
    for (int i = 0; i < 8; i++) buf[i] = (char)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, header, hl);
    write_file_atomic(path, buf, 8 + hl + data_bytes);
    free(buf);
}

static void test_safetensors_bad_input(void) {
    char *p = tmp_path("bad.safetensors");
    // a real file cut short: the header is intact, the data is not
    size_t n;
    char *whole = read_file("tests/ref/fixtures/gqa_untied/model.safetensors", &n);
    write_file_atomic(p, whole, n / 2);
    expect_failure(open_st_read_all, p, "run past the data section", NULL, "truncated data");
    write_file_atomic(p, whole, 100); // cut inside the header
    expect_failure(open_st_read_all, p, "runs past the end of the file", NULL, "truncated header");
    free(whole);
    write_file_atomic(p, "abc", 3);
    expect_failure(open_st_read_all, p, "truncated", NULL, "3-byte file");
    write_file_atomic(p, "", 0);
    expect_failure(open_st_read_all, p, "truncated", NULL, "empty file");
    write_file_atomic(p, "\xff\xff\x00\x00\x00\x00\x00\x00{}", 10);
    expect_failure(open_st_read_all, p, "runs past the end of the file", NULL, "header length past EOF");
    write_file_atomic(p, "\xff\xff\xff\xff\xff\xff\xff\xff{}", 10);
    expect_failure(open_st_read_all, p, "runs past the end of the file", NULL, "header length 2^64-1");
    char *missing = tmp_path("does_not_exist.safetensors");
    expect_failure(open_st_read_all, missing, "cannot read", NULL, "missing file");
    free(missing);

    struct {
        const char *header;
        size_t data;
        const char *needle, *what;
    } cases[] = {
        {"{not json", 0, "not a JSON object", "invalid JSON header"},
        {"[1, 2]", 0, "not a JSON object", "header is a list"},
        {"{\"x\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 8, "run past the data section",
         "offsets past the end"},
        {"{\"x\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [16, 8]}}", 16, "0 <= begin <= end",
         "begin after end"},
        {"{\"x\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [-4, 12]}}", 16, "0 <= begin <= end",
         "negative offset"},
        {"{\"model.norm.weight\": {\"dtype\": \"F32\", \"shape\": [576], \"data_offsets\": [10, 20]}}", 32,
         "tensor 'model.norm.weight': data_offsets [10, 20] hold 10 bytes but dtype F32 x shape [576] needs 2304",
         "nbytes mismatch"},
        {"{\"x\": {\"dtype\": \"BF16\", \"shape\": [2, 3], \"data_offsets\": [0, 8]}}", 8,
         "hold 8 bytes but dtype BF16 x shape [2, 3] needs 12", "nbytes mismatch, 2-D"},
        {"{\"x\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904, 4], \"data_offsets\": [0, 16]}}", 16,
         "shape overflows", "numel overflow"},
        {"{\"x\": {\"dtype\": \"F32\", \"shape\": [2305843009213693952], \"data_offsets\": [0, 16]}}", 16,
         "hold 16 bytes", "numel x size overflow"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}, "
         "\"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 16]}}",
         16, "overlap", "overlapping tensors"},
        {"{\"x\": {\"dtype\": \"Q9\", \"shape\": [4], \"data_offsets\": [0, 4]}}", 4, "unknown dtype \"Q9\"",
         "unknown dtype"},
        {"{\"x\": {\"dtype\": \"F8_E4M3\", \"shape\": [4], \"data_offsets\": [0, 4]}}", 4,
         "tensor 'x' has dtype F8_E4M3", "F8_E4M3 read as f32"},
        {"{\"x\": {\"dtype\": \"I32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "tensor 'x' has dtype I32",
         "I32 read as f32"},
        {"{\"x\": {\"shape\": [4], \"data_offsets\": [0, 16]}}", 16, "needs dtype", "missing dtype"},
        {"{\"x\": {\"dtype\": \"F32\", \"data_offsets\": [0, 16]}}", 16, "needs dtype", "missing shape"},
        {"{\"x\": {\"dtype\": \"F32\", \"shape\": [4]}}", 16, "data_offsets", "missing data_offsets"},
        {"{\"x\": {\"dtype\": \"F32\", \"shape\": [4.5], \"data_offsets\": [0, 16]}}", 16, "shape entry 0",
         "non-integer dim"},
        {"{\"x\": 5}", 0, "tensor 'x': header entry must be an object", "entry not an object"},
        {"{\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, "
         "\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}",
         8, "not a JSON object", "duplicate tensor name"},
        {"{\"__metadata__\": [1], \"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4,
         "__metadata__", "metadata not an object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_raw_st(p, cases[i].header, cases[i].data);
        expect_failure(open_st_read_all, p, cases[i].needle, NULL, cases[i].what);
    }
    write_raw_st(p, "{\"ids\": {\"dtype\": \"I64\", \"shape\": [1], \"data_offsets\": [0, 8]}}", 8);
    {
        size_t m;
        char *buf = read_file(p, &m);
        int64_t big = 1ll << 40;
        memcpy(buf + m - 8, &big, 8);
        write_file_atomic(p, buf, m);
        free(buf);
    }
    expect_failure(open_st_read_ids, p, "does not fit in int32", NULL, "I64 value out of int32 range");
    write_raw_st(p, "{\"ids\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4);
    expect_failure(open_st_read_ids, p, "expected I32 or I64", NULL, "F32 read as ids");
    free(p);
}

static void read_config(const char *path) {
    LlamaConfig c;
    config_read(&c, path);
}

static void test_config_bad_input(void) {
    char *p = tmp_path("bad_config.json");
    struct {
        const char *json, *needle;
    } bad[] = {
        {"{\"model_type\": \"llama\", \"vocab_size\": 10}", "missing key \"hidden_size\""},
        {"{\"model_type\": \"llama\", \"vocab_size\": 100, \"intermediate_size\": 96, \"num_hidden_layers\": 2, "
         "\"num_attention_heads\": 4}",
         "missing key \"hidden_size\""},
        {"{\"model_type\": \"mistral\"}", "model_type \"mistral\""},
        {"{\"model_type\": \"qwen2\", " REQUIRED "}", "model_type \"qwen2\""},
        {"{\"architectures\": [\"MistralForCausalLM\"], " REQUIRED "}", "architectures"},
        {"{\"model_type\": \"llama\", " REQUIRED ", \"num_key_value_heads\": 3}", "multiple of num_key_value_heads"},
        {"{\"model_type\": \"llama\", " REQUIRED ", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0}}",
         "rope_scaling \"llama3\" is not supported yet"},
        {"{\"model_type\": \"llama\", " REQUIRED ", \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}}",
         "rope_scaling \"linear\""},
        {"{\"model_type\": \"llama\", " REQUIRED ", \"rope_parameters\": {\"rope_type\": \"yarn\"}}",
         "rope_type \"yarn\""},
        {"{\"model_type\": \"llama\", " REQUIRED ", \"attention_bias\": true}", "attention_bias"},
        {"{\"model_type\": \"llama\", " REQUIRED ", \"mlp_bias\": true}", "mlp_bias"},
        {"{\"model_type\": \"llama\", " REQUIRED ", \"hidden_act\": \"gelu\"}", "hidden_act gelu"},
        {"{\"model_type\": \"llama\", " REQUIRED ", \"head_dim\": 15}", "head_dim 15 must be even"},
        {"{\"model_type\": \"llama\", \"vocab_size\": 100000000, \"hidden_size\": 64, \"intermediate_size\": 96, "
         "\"num_hidden_layers\": 2, \"num_attention_heads\": 4}",
         "vocab_size 100000000 is above"},
        {"{\"model_type\": \"llama\", \"vocab_size\": 100, \"hidden_size\": 64, \"intermediate_size\": 96, "
         "\"num_hidden_layers\": 0, \"num_attention_heads\": 4}",
         "num_hidden_layers must be positive"},
        {"{\"model_type\": \"llama\", \"vocab_size\": \"100\", \"hidden_size\": 64, \"intermediate_size\": 96, "
         "\"num_hidden_layers\": 2, \"num_attention_heads\": 4}",
         "\"vocab_size\" must be an integer"},
        {"{\"model_type\": \"llama\", " REQUIRED ", \"rms_norm_eps\": \"tiny\"}", "\"rms_norm_eps\" must be a number"},
        {"{\"model_type\": \"llama\", " REQUIRED ", \"tie_word_embeddings\": 1}", "\"tie_word_embeddings\" must be"},
        {"{\"model_type\": \"llama\", " REQUIRED ", \"eos_token_id\": 100}", "eos_token_id 100 is outside"},
        {"{\"model_type\": \"llama\", " REQUIRED ", \"eos_token_id\": \"x\"}", "eos_token_id must be"},
        {"{\"model_type\": \"llama\", \"vocab_size\": 10", "invalid JSON"},
        {"[1, 2, 3]", "expected a JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(p, bad[i].json);
        expect_failure(read_config, p, bad[i].needle, NULL, bad[i].needle);
    }
    // a directory without config.json
    char *dir = tmp_path("empty_model");
    make_dirs(dir);
    char *cfg = path_join(dir, "config.json");
    expect_failure(read_config, dir, "not found", cfg, "directory without config.json");
    free(cfg);
    free(dir);
    free(p);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/strap_st_XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL, "mkdtemp");
    RUN(test_round_trip);
    RUN(test_read_foreign_layout);
    RUN(test_f16_all_patterns);
    RUN(test_bf16_all_patterns);
    RUN(test_f32_to_bf16_rounding);
    RUN(test_hf_fixtures);
    RUN(test_config_fixtures);
    RUN(test_config_defaults);
    RUN(test_config_write);
    RUN(test_param_count);
    RUN(test_safetensors_bad_input);
    RUN(test_config_bad_input);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_summary();
}
