// safetensors.h: reader and writer of the safetensors format
// (8-byte little-endian header length, JSON header, raw little-endian tensor data).
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef enum { ST_F32, ST_F16, ST_BF16, ST_I32, ST_I64, ST_OTHER } StDType;

typedef struct {
    char *name;
    StDType dtype;
    char dtype_name[16]; // as written in the file ("F32", "BF16", "F8_E4M3", ...)
    int ndim;
    int64_t shape[8];
    int64_t numel;
    size_t offset; // byte offset of the data in the file's data section
    size_t nbytes;
} StTensor;

typedef struct {
    char *path;
    const uint8_t *data; // the data section (mmap'd)
    void *map;           // the whole mapping
    size_t map_size;
    StTensor *tensors;
    int n_tensors;
    void *metadata; // the "__metadata__" object (json_t), or NULL
} SafeTensors;

// Opens and validates a file (header JSON, offsets inside the file, sizes matching dtype x
// shape). Fails with a message naming the file and the tensor on malformed input.
void st_open(SafeTensors *st, const char *path);
void st_close(SafeTensors *st);
// NULL if absent.
const StTensor *st_find(const SafeTensors *st, const char *name);
// Converts a F32/F16/BF16 tensor to fp32 into out[numel]. Fails for other dtypes with a
// message naming file, tensor and dtype.
void st_read_f32(const SafeTensors *st, const StTensor *t, float *out);
// Copies an I32 (or I64 narrowed with a range check) tensor into out[numel].
void st_read_i32(const SafeTensors *st, const StTensor *t, int32_t *out);

// The string value of `key` in the file's "__metadata__" (malloc'd), or NULL if absent.
char *st_metadata(const SafeTensors *st, const char *key);

// One tensor to write: fp32 data in memory, stored as `dtype` (ST_F32, ST_BF16 with
// round-to-nearest-even, or ST_I32 when `data_i32` is set instead of `data`).
typedef struct {
    const char *name;
    StDType dtype;
    int ndim;
    int64_t shape[8];
    const float *data;
    const int32_t *data_i32;
} StWrite;

// Writes tensors (in the given order) atomically (temp + fsync + rename). metadata: NULL or
// a list of key/value string pairs terminated by NULL; {"format": "pt"} is always added.
void st_write(const char *path, const StWrite *tensors, int n, const char *const *metadata);

// fp32 <-> 16-bit conversions used by the reader/writer (and by tests).
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f); // round to nearest even, NaN preserved
float f16_to_f32(uint16_t h);
