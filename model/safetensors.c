// safetensors.c: see safetensors.h.
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/check.h"
#include "../base/io.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; strap reads it with memcpy on little-endian hosts only"
#endif

// The safetensors reference implementation refuses headers above 100 MB; so does strap.
#define ST_MAX_HEADER 100000000ull

// ---- 16-bit floats ----

float bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t f32_to_bf16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40); // quiet NaN
    uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);                              // round to nearest, ties to even
    return (uint16_t)((bits + rounding) >> 16);
}

float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    float f;
    if (exp == 0) { // zero or subnormal: mant * 2^-24
        f = ldexpf((float)mant, -24);
        if (sign) f = -f;
        return f;
    }
    uint32_t bits;
    if (exp == 31)
        bits = sign | 0x7f800000u | (mant << 13); // inf / nan
    else
        bits = sign | ((exp + 112u) << 23) | (mant << 13);
    memcpy(&f, &bits, 4);
    return f;
}

// ---- reader ----

// Element sizes of the safetensors dtypes. Types strap cannot convert still open (their
// sizes are checked) so that a file is only refused when such a tensor is read.
static const struct {
    const char *name;
    StDType dtype;
    int size;
} DTYPES[] = {
    {"F32", ST_F32, 4},       {"F16", ST_F16, 2},    {"BF16", ST_BF16, 2},     {"I32", ST_I32, 4},
    {"I64", ST_I64, 8},       {"F64", ST_OTHER, 8},  {"I16", ST_OTHER, 2},     {"I8", ST_OTHER, 1},
    {"U8", ST_OTHER, 1},      {"BOOL", ST_OTHER, 1}, {"F8_E4M3", ST_OTHER, 1}, {"F8_E5M2", ST_OTHER, 1},
    {"F8_E8M0", ST_OTHER, 1}, {"U16", ST_OTHER, 2},  {"U32", ST_OTHER, 4},     {"U64", ST_OTHER, 8},
    {"C64", ST_OTHER, 8},
};

static int dtype_lookup(const char *name, StDType *dtype) {
    for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
        if (strcmp(DTYPES[i].name, name) == 0) {
            *dtype = DTYPES[i].dtype;
            return DTYPES[i].size;
        }
    return 0;
}

// "[67, 32]" into buf.
static const char *shape_str(const StTensor *t, char *buf, size_t n) {
    size_t len = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < t->ndim && len < n; d++)
        len += (size_t)snprintf(buf + len, n - len, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
    if (len < n) snprintf(buf + len, n - len, "]");
    return buf;
}

static int cmp_offset(const void *a, const void *b) {
    const StTensor *x = *(const StTensor *const *)a, *y = *(const StTensor *const *)b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

static void parse_tensor(SafeTensors *st, StTensor *t, const char *key, json_t *value, size_t data_size) {
    const char *path = st->path;
    t->name = xstrdup(key);
    if (!json_is_object(value))
        fail("%s: tensor '%s': header entry must be an object {\"dtype\", \"shape\", \"data_offsets\"}", path, key);
    json_t *dtype = json_object_get(value, "dtype"), *shape = json_object_get(value, "shape"),
           *offsets = json_object_get(value, "data_offsets");
    if (!json_is_string(dtype) || !json_is_array(shape) || !json_is_array(offsets) || json_array_size(offsets) != 2)
        fail("%s: tensor '%s': header entry needs dtype (string), shape (list) and data_offsets [begin, end]; "
             "not a safetensors file or a corrupt one",
             path, key);
    const char *dname = json_string_value(dtype);
    int esize = dtype_lookup(dname, &t->dtype);
    if (!esize)
        fail("%s: tensor '%s': unknown dtype \"%.32s\" (known: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL, "
             "F8_E4M3, F8_E5M2, ...)",
             path, key, dname);
    snprintf(t->dtype_name, sizeof t->dtype_name, "%s", dname);
    if (json_array_size(shape) > 8)
        fail("%s: tensor '%s': %zu dimensions; strap handles at most 8", path, key, json_array_size(shape));
    t->ndim = (int)json_array_size(shape);
    t->numel = 1;
    for (int d = 0; d < t->ndim; d++) {
        json_t *dim = json_array_get(shape, (size_t)d);
        if (!json_is_integer(dim) || json_integer_value(dim) < 0)
            fail("%s: tensor '%s': shape entry %d is not a non-negative integer", path, key, d);
        t->shape[d] = json_integer_value(dim);
        if (t->shape[d] && t->numel > INT64_MAX / t->shape[d]) fail("%s: tensor '%s': shape overflows", path, key);
        t->numel *= t->shape[d];
    }
    json_t *b = json_array_get(offsets, 0), *e = json_array_get(offsets, 1);
    if (!json_is_integer(b) || !json_is_integer(e) || json_integer_value(b) < 0 ||
        json_integer_value(e) < json_integer_value(b))
        fail("%s: tensor '%s': data_offsets must be [begin, end] with 0 <= begin <= end (got [%lld, %lld])", path, key,
             json_is_integer(b) ? (long long)json_integer_value(b) : -1LL,
             json_is_integer(e) ? (long long)json_integer_value(e) : -1LL);
    uint64_t begin = (uint64_t)json_integer_value(b), end = (uint64_t)json_integer_value(e);
    if (end > data_size)
        fail("%s: tensor '%s': data_offsets [%llu, %llu] run past the data section (%zu bytes): truncated file", path,
             key, (unsigned long long)begin, (unsigned long long)end, data_size);
    t->offset = (size_t)begin;
    t->nbytes = (size_t)(end - begin);
    char sbuf[200];
    // numel * esize cannot overflow when it is compared only after numel <= nbytes / esize
    if ((uint64_t)t->numel > t->nbytes / (uint64_t)esize || (uint64_t)t->numel * (uint64_t)esize != t->nbytes)
        fail("%s: tensor '%s': data_offsets [%llu, %llu] hold %zu bytes but dtype %s x shape %s needs %llu", path, key,
             (unsigned long long)begin, (unsigned long long)end, t->nbytes, t->dtype_name,
             shape_str(t, sbuf, sizeof sbuf), (unsigned long long)t->numel * (unsigned long long)esize);
}

void st_open(SafeTensors *st, const char *path) {
    memset(st, 0, sizeof *st);
    st->path = xstrdup(path);
    int fd = open(path, O_RDONLY);
    if (fd < 0) fail("cannot read %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) fail("cannot read %s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) fail("%s: not a regular file (expected a .safetensors file)", path);
    size_t size = (size_t)sb.st_size;
    if (size < 8)
        fail("%s: truncated safetensors file (%zu bytes; the header length alone needs 8): re-download or re-save it",
             path, size);
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) fail("cannot map %s: %s", path, strerror(errno));
    st->map = map;
    st->map_size = size;
    const uint8_t *bytes = map;
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; i--) header_len = (header_len << 8) | bytes[i];
    if (header_len > size - 8)
        fail("%s: header length %llu runs past the end of the file (%zu bytes): truncated or not safetensors", path,
             (unsigned long long)header_len, size);
    if (header_len > ST_MAX_HEADER)
        fail("%s: header length %llu is above the 100 MB safetensors limit: not a safetensors file", path,
             (unsigned long long)header_len);
    json_error_t err;
    json_t *header = json_loadb((const char *)bytes + 8, (size_t)header_len, JSON_REJECT_DUPLICATES, &err);
    if (!header)
        fail("%s: the header is not a JSON object (invalid JSON at byte %d: %s)", path, err.position, err.text);
    if (!json_is_object(header))
        fail("%s: the header is not a JSON object (it is a JSON %s)", path, json_is_array(header) ? "list" : "scalar");
    st->data = bytes + 8 + header_len;
    size_t data_size = size - 8 - (size_t)header_len;
    st->tensors = xcalloc(json_object_size(header) + 1, sizeof(StTensor));
    const char *key;
    json_t *value;
    json_object_foreach(header, key, value) { // jansson >= 2.13 iterates in file order
        if (strcmp(key, "__metadata__") == 0) {
            if (!json_is_object(value)) fail("%s: \"__metadata__\" must be an object of strings", path);
            continue;
        }
        parse_tensor(st, &st->tensors[st->n_tensors], key, value, data_size);
        st->n_tensors++;
    }
    // Tensors may not share bytes: sort by offset and check each begins after the last ends.
    if (st->n_tensors > 1) {
        StTensor **order = xmalloc((size_t)st->n_tensors * sizeof *order);
        for (int i = 0; i < st->n_tensors; i++) order[i] = &st->tensors[i];
        qsort(order, (size_t)st->n_tensors, sizeof *order, cmp_offset);
        for (int i = 1; i < st->n_tensors; i++) {
            const StTensor *a = order[i - 1], *b = order[i];
            if (b->offset < a->offset + a->nbytes)
                fail("%s: tensor '%s': data_offsets [%zu, %zu] overlap tensor '%s' [%zu, %zu]: corrupt header", path,
                     b->name, b->offset, b->offset + b->nbytes, a->name, a->offset, a->offset + a->nbytes);
        }
        free(order);
    }
    json_t *meta = json_object_get(header, "__metadata__");
    st->metadata = meta ? json_incref(meta) : NULL;
    json_decref(header);
}

void st_close(SafeTensors *st) {
    if (st->map) munmap(st->map, st->map_size);
    for (int i = 0; i < st->n_tensors; i++) free(st->tensors[i].name);
    free(st->tensors);
    if (st->metadata) json_decref((json_t *)st->metadata);
    free(st->path);
    memset(st, 0, sizeof *st);
}

const StTensor *st_find(const SafeTensors *st, const char *name) {
    for (int i = 0; i < st->n_tensors; i++)
        if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
    return NULL;
}

char *st_metadata(const SafeTensors *st, const char *key) {
    if (!st->metadata) return NULL;
    json_t *v = json_object_get((json_t *)st->metadata, key);
    return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

void st_read_f32(const SafeTensors *st, const StTensor *t, float *out) {
    const uint8_t *p = st->data + t->offset;
    size_t n = (size_t)t->numel;
    switch (t->dtype) {
    case ST_F32: memcpy(out, p, n * 4); break;
    case ST_BF16:
        for (size_t i = 0; i < n; i++) out[i] = bf16_to_f32((uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)));
        break;
    case ST_F16:
        for (size_t i = 0; i < n; i++) out[i] = f16_to_f32((uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)));
        break;
    default:
        fail("%s: tensor '%s' has dtype %s; strap reads F32, F16 and BF16 weights (convert the checkpoint)", st->path,
             t->name, t->dtype_name);
    }
}

void st_read_i32(const SafeTensors *st, const StTensor *t, int32_t *out) {
    const uint8_t *p = st->data + t->offset;
    size_t n = (size_t)t->numel;
    if (t->dtype == ST_I32) {
        memcpy(out, p, n * 4);
    } else if (t->dtype == ST_I64) {
        for (size_t i = 0; i < n; i++) {
            int64_t v;
            memcpy(&v, p + 8 * i, 8);
            if (v < INT32_MIN || v > INT32_MAX)
                fail("%s: tensor '%s': element %zu = %lld does not fit in int32", st->path, t->name, i, (long long)v);
            out[i] = (int32_t)v;
        }
    } else {
        fail("%s: tensor '%s' has dtype %s, expected I32 or I64", st->path, t->name, t->dtype_name);
    }
}

// ---- writer ----

static int dtype_size(StDType d) { return d == ST_F32 || d == ST_I32 ? 4 : 2; }
static const char *dtype_name(StDType d) {
    switch (d) {
    case ST_F32: return "F32";
    case ST_BF16: return "BF16";
    case ST_I32: return "I32";
    default: CHECK(0, "st_write supports F32, BF16 and I32 (got %d)", (int)d);
    }
    return "";
}

void st_write(const char *path, const StWrite *tensors, int n, const char *const *metadata) {
    json_t *header = json_object();
    json_t *meta = json_object();
    json_object_set_new(meta, "format", json_string("pt"));
    for (int i = 0; metadata && metadata[i]; i += 2) {
        CHECK(metadata[i + 1] != NULL, "st_write %s: metadata key '%s' has no value", path, metadata[i]);
        json_object_set_new(meta, metadata[i], json_string(metadata[i + 1]));
    }
    json_object_set_new(header, "__metadata__", meta);
    size_t offset = 0;
    for (int i = 0; i < n; i++) {
        const StWrite *t = &tensors[i];
        CHECK(t->name && t->name[0] && strcmp(t->name, "__metadata__") != 0,
              "st_write %s: tensor %d has no usable name", path, i);
        CHECK(json_object_get(header, t->name) == NULL, "st_write %s: tensor name '%s' appears twice", path, t->name);
        CHECK(t->ndim >= 0 && t->ndim <= 8, "st_write %s: tensor '%s' has %d dimensions (0..8)", path, t->name,
              t->ndim);
        size_t numel = 1;
        json_t *shape = json_array();
        for (int d = 0; d < t->ndim; d++) {
            CHECK(t->shape[d] >= 0, "st_write %s: tensor '%s' has a negative dimension", path, t->name);
            json_array_append_new(shape, json_integer(t->shape[d]));
            numel *= (size_t)t->shape[d];
        }
        CHECK(numel == 0 || (t->dtype == ST_I32 ? t->data_i32 != NULL : t->data != NULL),
              "st_write %s: tensor '%s' has no data", path, t->name);
        size_t nbytes = numel * (size_t)dtype_size(t->dtype);
        json_t *entry = json_object();
        json_object_set_new(entry, "dtype", json_string(dtype_name(t->dtype)));
        json_object_set_new(entry, "shape", shape);
        json_t *offs = json_array();
        json_array_append_new(offs, json_integer((json_int_t)offset));
        json_array_append_new(offs, json_integer((json_int_t)(offset + nbytes)));
        json_object_set_new(entry, "data_offsets", offs);
        json_object_set_new(header, t->name, entry);
        offset += nbytes;
    }
    char *text = json_dumps(header, JSON_COMPACT | JSON_PRESERVE_ORDER);
    CHECK(text != NULL, "json_dumps failed");
    size_t len = strlen(text), padded = (len + 7) & ~(size_t)7;
    uint8_t len_bytes[8];
    for (int i = 0; i < 8; i++) len_bytes[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    AtomicFile af;
    atomic_open(&af, path);
    atomic_write(&af, len_bytes, 8);
    atomic_write(&af, text, len);
    atomic_write(&af, "        ", padded - len);
    enum { CHUNK = 1 << 16 };
    uint16_t *half = xmalloc(CHUNK * sizeof(uint16_t));
    for (int i = 0; i < n; i++) {
        const StWrite *t = &tensors[i];
        size_t numel = 1;
        for (int d = 0; d < t->ndim; d++) numel *= (size_t)t->shape[d];
        if (t->dtype == ST_I32) {
            atomic_write(&af, t->data_i32, numel * 4);
        } else if (t->dtype == ST_F32) {
            atomic_write(&af, t->data, numel * 4);
        } else {
            for (size_t j = 0; j < numel; j += CHUNK) {
                size_t m = numel - j < CHUNK ? numel - j : CHUNK;
                for (size_t k = 0; k < m; k++) half[k] = f32_to_bf16(t->data[j + k]);
                atomic_write(&af, half, m * 2);
            }
        }
    }
    free(half);
    atomic_commit(&af);
    free(text);
    json_decref(header);
}
