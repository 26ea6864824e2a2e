// gguf.h: reader of GGUF files (llama.cpp's model format), versions 2 and 3, little-endian.
//
// Layout: "GGUF", u32 version, u64 tensor count, u64 metadata count; the metadata
// key/values (key: u64 length + bytes; u32 value type; value); the tensor infos (name,
// u32 n_dims, u64 ne[n_dims] with ne[0] the fastest-varying dimension, u32 ggml type, u64
// offset into the data section); padding to general.alignment (default 32); the data.
// Strings are u64 length + bytes, not NUL-terminated; arrays are u32 element type + u64
// count + elements.
//
// gguf_open maps the file and validates all of it (every length against the file size,
// tensor offsets aligned and inside the file, sizes matching type x shape); every failure
// names the file and the key or tensor. gguf_dequantize turns a tensor of type F32, F16,
// BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q5_K or Q6_K into fp32 (block layouts as in ggml).
#pragma once
#include <stddef.h>
#include <stdint.h>

// Metadata value types.
enum {
    GGUF_UINT8 = 0,
    GGUF_INT8 = 1,
    GGUF_UINT16 = 2,
    GGUF_INT16 = 3,
    GGUF_UINT32 = 4,
    GGUF_INT32 = 5,
    GGUF_FLOAT32 = 6,
    GGUF_BOOL = 7,
    GGUF_STRING = 8,
    GGUF_ARRAY = 9,
    GGUF_UINT64 = 10,
    GGUF_INT64 = 11,
    GGUF_FLOAT64 = 12,
};

// ggml tensor types (the ones strap dequantises, and a few it names in errors).
enum {
    GGML_F32 = 0,
    GGML_F16 = 1,
    GGML_Q4_0 = 2,
    GGML_Q4_1 = 3,
    GGML_Q5_0 = 6,
    GGML_Q5_1 = 7,
    GGML_Q8_0 = 8,
    GGML_Q8_1 = 9,
    GGML_Q2_K = 10,
    GGML_Q3_K = 11,
    GGML_Q4_K = 12,
    GGML_Q5_K = 13,
    GGML_Q6_K = 14,
    GGML_Q8_K = 15,
    GGML_BF16 = 30,
};

typedef struct {
    char *key;           // NUL-terminated copy
    uint32_t type;       // GGUF_* value type
    uint32_t elem;       // element type when type == GGUF_ARRAY, else == type
    uint64_t n;          // array length (1 for a scalar)
    const uint8_t *data; // the value (scalar) or first element (array) inside the mapping
    char **strings;      // STRING, or ARRAY of STRING: n NUL-terminated copies
    uint64_t *str_len;   // their byte lengths (a GGUF string may hold a NUL byte)
} GgufKV;

typedef struct {
    char *name;
    uint32_t n_dims;
    int64_t ne[4];   // ne[0] fastest; unused dimensions are 1
    uint32_t type;   // GGML_* type
    uint64_t offset; // bytes from the start of the data section
    int64_t numel;
    uint64_t nbytes;
    const uint8_t *data; // inside the mapping
} GgufTensor;

typedef struct {
    char *path;
    uint32_t version;
    uint64_t n_kv, n_tensors;
    GgufKV *kv;
    GgufTensor *tensors;
    uint64_t alignment;
    uint64_t data_offset; // start of the data section in the file
    const uint8_t *map;
    size_t size;
} GgufFile;

// Maps and validates path. Fails (exit 1, message naming the file and key/tensor) on a
// missing or truncated file, a wrong magic, a version other than 2 or 3, a big-endian
// file, an unknown value or tensor type, duplicate keys or tensor names, bad alignment,
// or tensor data outside the file.
void gguf_open(GgufFile *g, const char *path);
void gguf_close(GgufFile *g);

// NULL when absent.
const GgufKV *gguf_find(const GgufFile *g, const char *key);
const GgufTensor *gguf_find_tensor(const GgufFile *g, const char *name);

// Typed getters: 0 when the key is absent, 1 when found; fail naming the file and key when
// it has another type (an integer getter accepts every integer type that fits int64, the
// float getter float32/float64 and integers).
int gguf_get_int(const GgufFile *g, const char *key, int64_t *out);
int gguf_get_float(const GgufFile *g, const char *key, double *out);
int gguf_get_bool(const GgufFile *g, const char *key, int *out);
const char *gguf_get_string(const GgufFile *g, const char *key); // NULL when absent
// Array elements (kv->type == GGUF_ARRAY); i < kv->n. Integer/bool elements as int64
// (uint64 above INT64_MAX fails), float elements as double.
int64_t gguf_array_int(const GgufFile *g, const GgufKV *kv, uint64_t i);
double gguf_array_float(const GgufFile *g, const GgufKV *kv, uint64_t i);

// "F32", "Q4_K", ... ("type 99" style text for unknown ids; static buffer for those).
const char *gguf_type_name(uint32_t type);
const char *gguf_value_type_name(uint32_t type);
// Elements and bytes per block (1 and 4 for F32, 32 and 34 for Q8_0, ...); 0 if unknown.
int gguf_type_block(uint32_t type, int *block_elems, int *block_bytes);
// 1 if gguf_dequantize handles the type.
int gguf_can_dequantize(uint32_t type);
// "F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K"
const char *gguf_dequantize_list(void);

// Fails naming the file unless general.architecture is `arch` (and says what it is).
void gguf_require_architecture(const GgufFile *g, const char *arch);
// Fails naming the file, the tensor and its type unless gguf_can_dequantize(t->type).
void gguf_require_dequantizable(const GgufFile *g, const GgufTensor *t);
// The tensor's numel values in fp32, in the file's order (ne[0] fastest).
void gguf_dequantize(const GgufFile *g, const GgufTensor *t, float *out);
// n elements (a multiple of the block size) of `type` from src into dst. Returns 0 for a
// type it cannot dequantise.
int gguf_dequantize_raw(uint32_t type, const void *src, float *dst, int64_t n);
