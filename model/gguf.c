// gguf.c: see gguf.h. Block layouts follow ggml's format description (ggml-common.h);
// tests/test_gguf.c checks every type against gguf-py's gguf.quants.dequantize.
#include "gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/check.h"
#include "safetensors.h" // f16_to_f32, bf16_to_f32

// ---------------------------------------------------------------------------------------
// types

typedef struct {
    const char *name;
    int block_elems, block_bytes;
} TypeInfo;

// ggml's type ids and block sizes (GGML_QUANT_SIZES in gguf-py); gaps are retired ids.
static const TypeInfo TYPES[] = {
    [0] = {"F32", 1, 4},         [1] = {"F16", 1, 2},         [2] = {"Q4_0", 32, 18},      [3] = {"Q4_1", 32, 20},
    [6] = {"Q5_0", 32, 22},      [7] = {"Q5_1", 32, 24},      [8] = {"Q8_0", 32, 34},      [9] = {"Q8_1", 32, 40},
    [10] = {"Q2_K", 256, 84},    [11] = {"Q3_K", 256, 110},   [12] = {"Q4_K", 256, 144},   [13] = {"Q5_K", 256, 176},
    [14] = {"Q6_K", 256, 210},   [15] = {"Q8_K", 256, 292},   [16] = {"IQ2_XXS", 256, 66}, [17] = {"IQ2_XS", 256, 74},
    [18] = {"IQ3_XXS", 256, 98}, [19] = {"IQ1_S", 256, 50},   [20] = {"IQ4_NL", 32, 18},   [21] = {"IQ3_S", 256, 110},
    [22] = {"IQ2_S", 256, 82},   [23] = {"IQ4_XS", 256, 136}, [24] = {"I8", 1, 1},         [25] = {"I16", 1, 2},
    [26] = {"I32", 1, 4},        [27] = {"I64", 1, 8},        [28] = {"F64", 1, 8},        [29] = {"IQ1_M", 256, 56},
    [30] = {"BF16", 1, 2},       [34] = {"TQ1_0", 256, 54},   [35] = {"TQ2_0", 256, 66},   [39] = {"MXFP4", 32, 17},
    [40] = {"NVFP4", 64, 36},    [41] = {"Q1_0", 128, 18},
};
#define N_TYPES (uint32_t)(sizeof TYPES / sizeof TYPES[0])

const char *gguf_type_name(uint32_t type) {
    if (type < N_TYPES && TYPES[type].name) return TYPES[type].name;
    static char buf[32];
    snprintf(buf, sizeof buf, "type id %u", type);
    return buf;
}

int gguf_type_block(uint32_t type, int *block_elems, int *block_bytes) {
    if (type >= N_TYPES || !TYPES[type].name) return 0;
    if (block_elems) *block_elems = TYPES[type].block_elems;
    if (block_bytes) *block_bytes = TYPES[type].block_bytes;
    return 1;
}

int gguf_can_dequantize(uint32_t type) {
    switch (type) {
    case GGML_F32:
    case GGML_F16:
    case GGML_BF16:
    case GGML_Q8_0:
    case GGML_Q4_0:
    case GGML_Q4_1:
    case GGML_Q4_K:
    case GGML_Q5_K:
    case GGML_Q6_K: return 1;
    default: return 0;
    }
}

const char *gguf_dequantize_list(void) { return "F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K"; }

static const char *VALUE_TYPES[] = {"uint8", "int8",   "uint16", "int16",  "uint32", "int32",  "float32",
                                    "bool",  "string", "array",  "uint64", "int64",  "float64"};

const char *gguf_value_type_name(uint32_t type) {
    return type < sizeof VALUE_TYPES / sizeof VALUE_TYPES[0] ? VALUE_TYPES[type] : "unknown";
}

static int value_size(uint32_t type) {
    static const int sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return type < sizeof sizes / sizeof sizes[0] ? sizes[type] : 0;
}

// ---------------------------------------------------------------------------------------
// bounds-checked reading

typedef struct {
    const char *path;
    const uint8_t *base;
    size_t size, pos;
} Cursor;

static void need(Cursor *c, uint64_t n, const char *what) {
    if (n > c->size - c->pos)
        fail("%s: truncated file: %s needs %" PRIu64 " bytes at offset %zu but the file ends at %zu bytes "
             "(re-download or re-convert it)",
             c->path, what, n, c->pos, c->size);
}

static uint32_t rd_u32(Cursor *c, const char *what) {
    need(c, 4, what);
    uint32_t v;
    memcpy(&v, c->base + c->pos, 4);
    c->pos += 4;
    return v;
}

static uint64_t rd_u64(Cursor *c, const char *what) {
    need(c, 8, what);
    uint64_t v;
    memcpy(&v, c->base + c->pos, 8);
    c->pos += 8;
    return v;
}

// A GGUF string: u64 length + bytes. Returns a pointer into the map; *len its length.
static const uint8_t *rd_str(Cursor *c, uint64_t *len, const char *what) {
    *len = rd_u64(c, what);
    need(c, *len, what);
    const uint8_t *p = c->base + c->pos;
    c->pos += *len;
    return p;
}

static char *dup_bytes(const uint8_t *p, uint64_t n) {
    char *s = xmalloc(n + 1);
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

// ---------------------------------------------------------------------------------------
// open

static void read_kv(Cursor *c, GgufKV *kv, uint64_t index) {
    char what[320];
    snprintf(what, sizeof what, "metadata entry #%" PRIu64 " (its key)", index);
    uint64_t klen;
    const uint8_t *k = rd_str(c, &klen, what);
    if (klen == 0 || klen > 65535)
        fail("%s: metadata entry #%" PRIu64 " has a key of %" PRIu64 " bytes (expected 1..65535): the file is corrupt",
             c->path, index, klen);
    kv->key = dup_bytes(k, klen);
    if (strlen(kv->key) != klen)
        fail("%s: metadata key #%" PRIu64 " ('%s...') contains a NUL byte: the file is corrupt", c->path, index,
             kv->key);
    snprintf(what, sizeof what, "metadata '%.200s'", kv->key);
    kv->type = rd_u32(c, what);
    kv->elem = kv->type;
    kv->n = 1;
    if (kv->type == GGUF_ARRAY) {
        kv->elem = rd_u32(c, what);
        kv->n = rd_u64(c, what);
        if (kv->elem == GGUF_ARRAY)
            fail("%s: metadata '%s' is an array of arrays, which strap does not read", c->path, kv->key);
    }
    if (kv->elem > GGUF_FLOAT64)
        fail("%s: metadata '%s' has unknown value type %u (GGUF defines 0..12): the file is corrupt or newer "
             "than this reader",
             c->path, kv->key, kv->elem);
    kv->data = c->base + c->pos;
    if (kv->elem == GGUF_STRING) {
        // each string takes at least 8 bytes: bound the count before allocating
        if (kv->n > (c->size - c->pos) / 8)
            fail("%s: truncated file: metadata '%s' claims %" PRIu64 " strings but only %zu bytes remain", c->path,
                 kv->key, kv->n, c->size - c->pos);
        kv->strings = xmalloc(kv->n * sizeof(char *));
        kv->str_len = xmalloc(kv->n * sizeof(uint64_t));
        for (uint64_t i = 0; i < kv->n; i++) {
            if (kv->type == GGUF_ARRAY) snprintf(what, sizeof what, "metadata '%.200s' string #%" PRIu64, kv->key, i);
            const uint8_t *s = rd_str(c, &kv->str_len[i], what);
            kv->strings[i] = dup_bytes(s, kv->str_len[i]);
        }
    } else {
        uint64_t sz = (uint64_t)value_size(kv->elem);
        if (kv->n > (c->size - c->pos) / sz)
            fail("%s: truncated file: metadata '%s' claims %" PRIu64 " %s values but only %zu bytes remain", c->path,
                 kv->key, kv->n, gguf_value_type_name(kv->elem), c->size - c->pos);
        if (kv->elem == GGUF_BOOL)
            for (uint64_t i = 0; i < kv->n; i++)
                if (kv->data[i] > 1)
                    fail("%s: metadata '%s' holds bool value %u (expected 0 or 1): the file is corrupt", c->path,
                         kv->key, kv->data[i]);
        c->pos += kv->n * sz;
    }
}

static int cmp_tensor_ptr(const void *a, const void *b) {
    return strcmp((*(const GgufTensor *const *)a)->name, (*(const GgufTensor *const *)b)->name);
}

static void read_tensor_info(Cursor *c, GgufTensor *t, uint64_t index) {
    char what[320];
    snprintf(what, sizeof what, "tensor info #%" PRIu64 " (its name)", index);
    uint64_t nlen;
    const uint8_t *name = rd_str(c, &nlen, what);
    if (nlen > 65535)
        fail("%s: tensor info #%" PRIu64 " has a name of %" PRIu64 " bytes: the file is corrupt", c->path, index, nlen);
    t->name = dup_bytes(name, nlen);
    snprintf(what, sizeof what, "tensor info '%.200s'", t->name);
    t->n_dims = rd_u32(c, what);
    if (t->n_dims < 1 || t->n_dims > 4)
        fail("%s: tensor '%s' has %u dimensions (GGUF allows 1 to 4): the file is corrupt", c->path, t->name,
             t->n_dims);
    t->numel = 1;
    for (int d = 0; d < 4; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        uint64_t ne = rd_u64(c, what);
        if (ne > (uint64_t)1 << 40 || (ne && (uint64_t)t->numel > ((uint64_t)1 << 48) / ne))
            fail("%s: tensor '%s' dimension %u is %" PRIu64 ", which is implausible: the file is corrupt", c->path,
                 t->name, d, ne);
        t->ne[d] = (int64_t)ne;
        t->numel *= (int64_t)ne;
    }
    t->type = rd_u32(c, what);
    t->offset = rd_u64(c, what);
    int be = 1, bb = 1;
    if (!gguf_type_block(t->type, &be, &bb))
        fail("%s: tensor '%s' has unknown ggml type id %u (the file is corrupt or newer than this reader)", c->path,
             t->name, t->type);
    if (t->ne[0] % be != 0)
        fail("%s: tensor '%s' has type %s with blocks of %d elements, but its first dimension %" PRId64
             " is not a multiple of that: the file is corrupt",
             c->path, t->name, gguf_type_name(t->type), be, t->ne[0]);
    t->nbytes = (uint64_t)(t->numel / be) * (uint64_t)bb;
}

void gguf_open(GgufFile *g, const char *path) {
    memset(g, 0, sizeof *g);
    g->path = strdup(path);
    int fd = open(path, O_RDONLY);
    if (fd < 0) fail("cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) fail("cannot stat %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) fail("%s is not a regular file (expected a .gguf model file)", path);
    g->size = (size_t)st.st_size;
    if (g->size < 4)
        fail("%s: truncated file: %zu bytes is too short to be GGUF (it starts with the magic \"GGUF\")", path,
             g->size);
    void *map = mmap(NULL, g->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) fail("cannot map %s: %s", path, strerror(errno));
    g->map = map;

    Cursor cur = {path, g->map, g->size, 0}, *c = &cur;
    if (memcmp(g->map, "GGUF", 4) != 0) {
        char magic[5] = {0};
        for (int i = 0; i < 4; i++) magic[i] = (g->map[i] >= 32 && g->map[i] < 127) ? (char)g->map[i] : '?';
        if (!memcmp(magic, "lmgg", 4) || !memcmp(magic, "fmgg", 4) || !memcmp(magic, "tjgg", 4) ||
            !memcmp(magic, "algg", 4))
            fail("%s: this is a pre-GGUF llama.cpp file (GGML/GGJT magic '%s'); convert it to GGUF with a current "
                 "llama.cpp first",
                 path, magic);
        fail("%s: not a GGUF file: the magic is '%s' (0x%02x%02x%02x%02x), expected 'GGUF'", path, magic, g->map[0],
             g->map[1], g->map[2], g->map[3]);
    }
    c->pos = 4;
    g->version = rd_u32(c, "the header (version)");
    if (g->version == 0x02000000u || g->version == 0x03000000u)
        fail("%s: this is a big-endian GGUF file (version bytes %08x); strap reads little-endian GGUF only", path,
             g->version);
    if (g->version == 1)
        fail("%s: GGUF version 1 is not supported (strap reads versions 2 and 3; re-convert the model with a "
             "current llama.cpp)",
             path);
    if (g->version != 2 && g->version != 3)
        fail("%s: unsupported GGUF version %u (strap reads versions 2 and 3)", path, g->version);
    g->n_tensors = rd_u64(c, "the header (tensor count)");
    g->n_kv = rd_u64(c, "the header (metadata count)");
    // every entry takes at least 8 (kv) / 24 (tensor info) bytes: reject absurd counts
    if (g->n_kv > g->size / 8 || g->n_tensors > g->size / 24)
        fail("%s: the header claims %" PRIu64 " tensors and %" PRIu64 " metadata entries, more than a %zu-byte file "
             "can hold: the file is truncated or corrupt",
             path, g->n_tensors, g->n_kv, g->size);

    g->kv = xcalloc(g->n_kv + 1, sizeof(GgufKV));
    for (uint64_t i = 0; i < g->n_kv; i++) {
        read_kv(c, &g->kv[i], i);
        for (uint64_t j = 0; j < i; j++)
            if (strcmp(g->kv[j].key, g->kv[i].key) == 0)
                fail("%s: metadata key '%s' appears twice: the file is corrupt", path, g->kv[i].key);
    }
    g->alignment = 32;
    const GgufKV *al = gguf_find(g, "general.alignment");
    if (al) {
        int64_t a;
        gguf_get_int(g, "general.alignment", &a);
        if (a <= 0 || (a & (a - 1)) != 0 || a > (1 << 30))
            fail("%s: general.alignment is %" PRId64 ", expected a power of two", path, a);
        g->alignment = (uint64_t)a;
    }

    g->tensors = xcalloc(g->n_tensors + 1, sizeof(GgufTensor));
    for (uint64_t i = 0; i < g->n_tensors; i++) read_tensor_info(c, &g->tensors[i], i);
    if (g->n_tensors > 1) {
        GgufTensor **sorted = xmalloc(g->n_tensors * sizeof(GgufTensor *));
        for (uint64_t i = 0; i < g->n_tensors; i++) sorted[i] = &g->tensors[i];
        qsort(sorted, g->n_tensors, sizeof(GgufTensor *), cmp_tensor_ptr);
        for (uint64_t i = 1; i < g->n_tensors; i++)
            if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0)
                fail("%s: tensor '%s' appears twice: the file is corrupt", path, sorted[i]->name);
        free(sorted);
    }
    uint64_t data_offset = (c->pos + g->alignment - 1) / g->alignment * g->alignment;
    g->data_offset = data_offset;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        GgufTensor *t = &g->tensors[i];
        if (t->offset % g->alignment != 0)
            fail("%s: tensor '%s' starts at data offset %" PRIu64 ", which is not a multiple of the alignment %" PRIu64
                 ": the file is corrupt",
                 path, t->name, t->offset, g->alignment);
        if (data_offset > g->size || t->offset > g->size - data_offset || t->nbytes > g->size - data_offset - t->offset)
            fail("%s: truncated file: tensor '%s' (%s, %" PRIu64 " bytes at file offset %" PRIu64
                 ") runs past the end of the file (%zu bytes); re-download it",
                 path, t->name, gguf_type_name(t->type), t->nbytes, data_offset + t->offset, g->size);
        t->data = g->map + data_offset + t->offset;
    }
}

void gguf_close(GgufFile *g) {
    if (!g->path) return;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        GgufKV *kv = &g->kv[i];
        free(kv->key);
        if (kv->strings)
            for (uint64_t j = 0; j < kv->n; j++) free(kv->strings[j]);
        free(kv->strings);
        free(kv->str_len);
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) free(g->tensors[i].name);
    free(g->kv);
    free(g->tensors);
    if (g->map) munmap((void *)g->map, g->size);
    free(g->path);
    memset(g, 0, sizeof *g);
}

// ---------------------------------------------------------------------------------------
// lookups

const GgufKV *gguf_find(const GgufFile *g, const char *key) {
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (strcmp(g->kv[i].key, key) == 0) return &g->kv[i];
    return NULL;
}

const GgufTensor *gguf_find_tensor(const GgufFile *g, const char *name) {
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (strcmp(g->tensors[i].name, name) == 0) return &g->tensors[i];
    return NULL;
}

// An integer element as int64; *ok = 0 for a uint64 above INT64_MAX.
static int64_t int_at(const uint8_t *p, uint32_t type, int *ok) {
    *ok = 1;
    switch (type) {
    case GGUF_UINT8:
    case GGUF_BOOL: return p[0];
    case GGUF_INT8: return (int8_t)p[0];
    case GGUF_UINT16: {
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    case GGUF_INT16: {
        int16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    case GGUF_UINT32: {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    case GGUF_INT32: {
        int32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    case GGUF_UINT64: {
        uint64_t v;
        memcpy(&v, p, 8);
        if (v > INT64_MAX) *ok = 0;
        return (int64_t)v;
    }
    case GGUF_INT64: {
        int64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    default: *ok = 0; return 0;
    }
}

static int is_int_type(uint32_t t) {
    return t == GGUF_UINT8 || t == GGUF_INT8 || t == GGUF_UINT16 || t == GGUF_INT16 || t == GGUF_UINT32 ||
           t == GGUF_INT32 || t == GGUF_UINT64 || t == GGUF_INT64;
}

static double float_at(const uint8_t *p, uint32_t type) {
    if (type == GGUF_FLOAT32) {
        float v;
        memcpy(&v, p, 4);
        return v;
    }
    if (type == GGUF_FLOAT64) {
        double v;
        memcpy(&v, p, 8);
        return v;
    }
    int ok;
    return (double)int_at(p, type, &ok);
}

static const GgufKV *find_scalar(const GgufFile *g, const char *key) {
    const GgufKV *kv = gguf_find(g, key);
    if (kv && kv->type == GGUF_ARRAY)
        fail("%s: metadata '%s' is an array of %" PRIu64 " %s values; strap expects a single value here", g->path, key,
             kv->n, gguf_value_type_name(kv->elem));
    return kv;
}

int gguf_get_int(const GgufFile *g, const char *key, int64_t *out) {
    const GgufKV *kv = find_scalar(g, key);
    if (!kv) return 0;
    int ok = is_int_type(kv->type);
    if (!ok) fail("%s: metadata '%s' is a %s; strap expects an integer", g->path, key, gguf_value_type_name(kv->type));
    *out = int_at(kv->data, kv->type, &ok);
    if (!ok) fail("%s: metadata '%s' does not fit a signed 64-bit integer", g->path, key);
    return 1;
}

int gguf_get_float(const GgufFile *g, const char *key, double *out) {
    const GgufKV *kv = find_scalar(g, key);
    if (!kv) return 0;
    if (kv->type != GGUF_FLOAT32 && kv->type != GGUF_FLOAT64 && !is_int_type(kv->type))
        fail("%s: metadata '%s' is a %s; strap expects a number", g->path, key, gguf_value_type_name(kv->type));
    *out = float_at(kv->data, kv->type);
    return 1;
}

int gguf_get_bool(const GgufFile *g, const char *key, int *out) {
    const GgufKV *kv = find_scalar(g, key);
    if (!kv) return 0;
    if (kv->type != GGUF_BOOL)
        fail("%s: metadata '%s' is a %s; strap expects a bool", g->path, key, gguf_value_type_name(kv->type));
    *out = kv->data[0] != 0;
    return 1;
}

const char *gguf_get_string(const GgufFile *g, const char *key) {
    const GgufKV *kv = find_scalar(g, key);
    if (!kv) return NULL;
    if (kv->type != GGUF_STRING)
        fail("%s: metadata '%s' is a %s; strap expects a string", g->path, key, gguf_value_type_name(kv->type));
    return kv->strings[0];
}

int64_t gguf_array_int(const GgufFile *g, const GgufKV *kv, uint64_t i) {
    CHECK(i < kv->n, "gguf_array_int: index %" PRIu64 " out of %" PRIu64, i, kv->n);
    if (!is_int_type(kv->elem) && kv->elem != GGUF_BOOL)
        fail("%s: metadata '%s' holds %s values; strap expects integers", g->path, kv->key,
             gguf_value_type_name(kv->elem));
    int ok;
    int64_t v = int_at(kv->data + i * (uint64_t)value_size(kv->elem), kv->elem, &ok);
    if (!ok) fail("%s: metadata '%s' element %" PRIu64 " does not fit a signed 64-bit integer", g->path, kv->key, i);
    return v;
}

double gguf_array_float(const GgufFile *g, const GgufKV *kv, uint64_t i) {
    CHECK(i < kv->n, "gguf_array_float: index %" PRIu64 " out of %" PRIu64, i, kv->n);
    if (kv->elem != GGUF_FLOAT32 && kv->elem != GGUF_FLOAT64 && !is_int_type(kv->elem))
        fail("%s: metadata '%s' holds %s values; strap expects numbers", g->path, kv->key,
             gguf_value_type_name(kv->elem));
    return float_at(kv->data + i * (uint64_t)value_size(kv->elem), kv->elem);
}

void gguf_require_architecture(const GgufFile *g, const char *arch) {
    const char *a = gguf_get_string(g, "general.architecture");
    if (!a) fail("%s: metadata 'general.architecture' is missing; strap converts '%s' models", g->path, arch);
    if (strcmp(a, arch) != 0)
        fail("%s: general.architecture is '%s'; strap converts '%s' models only (Llama, SmolLM, Mistral-style "
             "dense models that llama.cpp stores as 'llama')",
             g->path, a, arch);
}

void gguf_require_dequantizable(const GgufFile *g, const GgufTensor *t) {
    if (!gguf_can_dequantize(t->type))
        fail("%s: tensor '%s' has type %s, which strap cannot dequantise yet (it reads %s; re-quantise the model "
             "to one of those, e.g. Q8_0 or Q4_K_M)",
             g->path, t->name, gguf_type_name(t->type), gguf_dequantize_list());
}

// ---------------------------------------------------------------------------------------
// dequantisation. Each block: the bytes of one ggml block struct (little-endian, packed).

static float f16_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return f16_to_f32(h);
}

// Q8_0: {f16 d; int8 q[32]}: y = d * q.
static void deq_q8_0(const uint8_t *b, float *y) {
    float d = f16_at(b);
    for (int i = 0; i < 32; i++) y[i] = d * (float)(int8_t)b[2 + i];
}

// Q4_0: {f16 d; u8 qs[16]}: value i < 16 is the low nibble of qs[i], value i + 16 the high
// nibble; y = d * (q - 8).
static void deq_q4_0(const uint8_t *b, float *y) {
    float d = f16_at(b);
    const uint8_t *qs = b + 2;
    for (int i = 0; i < 16; i++) {
        y[i] = d * (float)((int)(qs[i] & 0x0F) - 8);
        y[i + 16] = d * (float)((int)(qs[i] >> 4) - 8);
    }
}

// Q4_1: {f16 d; f16 m; u8 qs[16]}: nibbles as Q4_0; y = d * q + m.
static void deq_q4_1(const uint8_t *b, float *y) {
    float d = f16_at(b), m = f16_at(b + 2);
    const uint8_t *qs = b + 4;
    for (int i = 0; i < 16; i++) {
        y[i] = d * (float)(qs[i] & 0x0F) + m;
        y[i + 16] = d * (float)(qs[i] >> 4) + m;
    }
}

// The 8 (scale, min) pairs of a Q4_K / Q5_K super-block, 6 bits each, packed in 12 bytes:
// bytes 0-3 hold scales 0-3 in their low 6 bits (top 2 bits: high bits of scales 4-7),
// bytes 4-7 mins 0-3 likewise (top 2 bits: high bits of mins 4-7), bytes 8-11 the low 4
// bits of scales 4-7 (low nibble) and mins 4-7 (high nibble).
static void k_scale_min(const uint8_t *s, int j, int *sc, int *m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
        *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

// Q4_K: {f16 d; f16 dmin; u8 scales[12]; u8 qs[128]}, 256 values in 8 sub-blocks of 32.
// Each 64 values use 32 bytes of qs: the low nibbles are sub-block 2c, the high nibbles
// sub-block 2c+1. y = (d * scale) * q - (dmin * min).
static void deq_q4_k(const uint8_t *b, float *y) {
    float d = f16_at(b), dmin = f16_at(b + 2);
    const uint8_t *scales = b + 4, *qs = b + 16;
    for (int c = 0; c < 4; c++) {
        int sc0, m0, sc1, m1;
        k_scale_min(scales, 2 * c, &sc0, &m0);
        k_scale_min(scales, 2 * c + 1, &sc1, &m1);
        float d0 = d * (float)sc0, min0 = dmin * (float)m0, d1 = d * (float)sc1, min1 = dmin * (float)m1;
        for (int l = 0; l < 32; l++) {
            y[64 * c + l] = d0 * (float)(qs[32 * c + l] & 0x0F) - min0;
            y[64 * c + 32 + l] = d1 * (float)(qs[32 * c + l] >> 4) - min1;
        }
    }
}

// Q5_K: {f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}: Q4_K's nibbles plus a fifth
// bit: value 32*j + l of the super-block takes bit j of qh[l] as its bit 4.
static void deq_q5_k(const uint8_t *b, float *y) {
    float d = f16_at(b), dmin = f16_at(b + 2);
    const uint8_t *scales = b + 4, *qh = b + 16, *qs = b + 48;
    for (int c = 0; c < 4; c++) {
        int sc0, m0, sc1, m1;
        k_scale_min(scales, 2 * c, &sc0, &m0);
        k_scale_min(scales, 2 * c + 1, &sc1, &m1);
        float d0 = d * (float)sc0, min0 = dmin * (float)m0, d1 = d * (float)sc1, min1 = dmin * (float)m1;
        for (int l = 0; l < 32; l++) {
            int lo = (qs[32 * c + l] & 0x0F) | (((qh[l] >> (2 * c)) & 1) << 4);
            int hi = (qs[32 * c + l] >> 4) | (((qh[l] >> (2 * c + 1)) & 1) << 4);
            y[64 * c + l] = d0 * (float)lo - min0;
            y[64 * c + 32 + l] = d1 * (float)hi - min1;
        }
    }
}

// Q6_K: {u8 ql[128]; u8 qh[64]; int8 scales[16]; f16 d}, 256 values in two halves of 128.
// In half h, for l < 32, the four values 128h + l + 32k (k = 0..3) take their low 4 bits from
// ql[64h + l] (k = 0: low nibble, k = 2: high nibble) and ql[64h + 32 + l] (k = 1, 3), their
// high 2 bits from bits 2k..2k+1 of qh[32h + l]; y = (d * scales[value / 16]) * (q - 32).
static void deq_q6_k(const uint8_t *b, float *y) {
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    float d = f16_at(b + 208);
    for (int h = 0; h < 2; h++) {
        const uint8_t *l4 = ql + 64 * h, *h2 = qh + 32 * h;
        float *out = y + 128 * h;
        for (int l = 0; l < 32; l++) {
            int q[4] = {
                (l4[l] & 0x0F) | (((h2[l] >> 0) & 3) << 4),
                (l4[l + 32] & 0x0F) | (((h2[l] >> 2) & 3) << 4),
                (l4[l] >> 4) | (((h2[l] >> 4) & 3) << 4),
                (l4[l + 32] >> 4) | (((h2[l] >> 6) & 3) << 4),
            };
            for (int k = 0; k < 4; k++) {
                int idx = 128 * h + 32 * k + l;
                out[32 * k + l] = (d * (float)sc[idx / 16]) * (float)(q[k] - 32);
            }
        }
    }
}

int gguf_dequantize_raw(uint32_t type, const void *src, float *dst, int64_t n) {
    const uint8_t *p = src;
    switch (type) {
    case GGML_F32: memcpy(dst, p, (size_t)n * sizeof(float)); return 1;
    case GGML_F16:
        for (int64_t i = 0; i < n; i++) dst[i] = f16_at(p + 2 * i);
        return 1;
    case GGML_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            dst[i] = bf16_to_f32(h);
        }
        return 1;
    default: break;
    }
    void (*fn)(const uint8_t *, float *) = NULL;
    switch (type) {
    case GGML_Q8_0: fn = deq_q8_0; break;
    case GGML_Q4_0: fn = deq_q4_0; break;
    case GGML_Q4_1: fn = deq_q4_1; break;
    case GGML_Q4_K: fn = deq_q4_k; break;
    case GGML_Q5_K: fn = deq_q5_k; break;
    case GGML_Q6_K: fn = deq_q6_k; break;
    default: return 0;
    }
    int be = 1, bb = 1;
    gguf_type_block(type, &be, &bb);
    CHECK(n % be == 0, "gguf_dequantize_raw: %" PRId64 " elements is not a multiple of the %s block (%d)", n,
          gguf_type_name(type), be);
    int64_t nb = n / be;
#pragma omp parallel for schedule(static) if (nb > 4096)
    for (int64_t i = 0; i < nb; i++) fn(p + (size_t)i * bb, dst + (size_t)i * be);
    return 1;
}

void gguf_dequantize(const GgufFile *g, const GgufTensor *t, float *out) {
    gguf_require_dequantizable(g, t);
    gguf_dequantize_raw(t->type, t->data, out, t->numel);
}
