// cpu.h: helpers shared by the CPU backend's files (not part of the public interface).
//
// Determinism: every helper sums in a fixed order (fixed lane count, lanes combined in a
// fixed tree), so a result depends only on the inputs and the build, never on timing or on
// the thread count. Loops marked `#pragma omp simd` are vectorised by the compiler; the
// helpers are branch-free so that they vectorise when inlined into such loops.
#pragma once
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static inline int cpu_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static inline int cpu_thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

// threads of the current team (1 outside a parallel region)
static inline int cpu_team_size(void) {
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

// inside any parallel region, even a one-thread one (omp_in_parallel() is 0 there)
static inline int cpu_in_parallel(void) {
#ifdef _OPENMP
    return omp_get_level() > 0;
#else
    return 0;
#endif
}

// Elementwise and row-wise ops on fewer elements than this run on the calling thread: a
// parallel region costs microseconds (more on a busy machine), the work itself less.
// Decoding calls ~10 such ops per layer per token on a few rows.
#define CPU_PAR_MIN (1 << 15)

// Zero-filled, 64-byte aligned memory; fails with a message when out of memory.
void *cpu_alloc(size_t bytes);

// A scratch buffer of at least `floats` floats owned by the calling thread (OpenMP threads
// persist, so each allocates once per slot and reuses it; the buffer only grows). The slots
// are distinct buffers: the gemm packs into its two while an op holds the others. Contents
// are undefined on return.
enum { CPU_SCRATCH_GEMM_A, CPU_SCRATCH_GEMM_B, CPU_SCRATCH_OP0, CPU_SCRATCH_OP1, CPU_SCRATCH_SLOTS };
float *cpu_scratch(int slot, size_t floats);

// exp(x) for float x, branch-free (vectorises inside `omp simd` loops, where libm's expf
// would be a scalar call). Cody-Waite range reduction x = n ln2 + r, |r| <= ln2/2, and the
// Cephes polynomial for e^r: relative error below 1e-7 (about 1 ulp) wherever the result is
// a normal float (tests/test_ops.c measures it); 0 below -103.97, +inf above 88.72, NaN
// for NaN.
static inline float cpu_expf(float x) {
    const float hi = 88.7228317f, lo = -103.9720840f;
    float xc = x > hi ? hi : x;
    xc = xc < lo ? lo : xc;
    // n = round(x / ln2) through the 1.5 * 2^23 trick: the integer lands in the low mantissa bits
    const float magic = 12582912.0f;
    float t = xc * 1.44269504088896341f + magic;
    int32_t tb;
    memcpy(&tb, &t, 4);
    int32_t n = tb - 0x4B400000; // t's bits are 0x4B400000 + n for |n| < 2^22
    float nf = t - magic;
    float r = xc - nf * 0.693359375f;
    r = r - nf * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    // 2^n = 2^n1 * 2^n2 with both halves in the normal range (n is in [-150, 128])
    int32_t n1 = n / 2, n2 = n - n1;
    uint32_t b1 = (uint32_t)(n1 + 127) << 23, b2 = (uint32_t)(n2 + 127) << 23;
    float s1, s2;
    memcpy(&s1, &b1, 4);
    memcpy(&s2, &b2, 4);
    float y = p * s1 * s2;
    y = x > hi ? INFINITY : y;
    y = x < lo ? 0.0f : y;
    return y;
}

// sum of a[i] * b[i] in float, 16 lanes
static inline float cpu_dot(const float *a, const float *b, int n) {
    float acc[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) acc[j] += a[i + j] * b[i + j];
    for (int j = 0; i < n; i++, j++) acc[j] += a[i] * b[i];
    for (int w = 8; w >= 1; w /= 2)
        for (int j = 0; j < w; j++) acc[j] += acc[j + w];
    return acc[0];
}

// sum of a[i], 16 lanes
static inline float cpu_sum(const float *a, int n) {
    float acc[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) acc[j] += a[i + j];
    for (int j = 0; i < n; i++, j++) acc[j] += a[i];
    for (int w = 8; w >= 1; w /= 2)
        for (int j = 0; j < w; j++) acc[j] += acc[j + w];
    return acc[0];
}

// sum of a[i] in double, 8 lanes
static inline double cpu_sum_d(const float *a, size_t n) {
    double acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += (double)a[i + j];
    for (int j = 0; i < n; i++, j++) acc[j] += (double)a[i];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

// max of a[0..n), n >= 1 (NaN-free input)
static inline float cpu_max(const float *a, int n) {
    float acc[16];
    for (int j = 0; j < 16; j++) acc[j] = -INFINITY;
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) acc[j] = a[i + j] > acc[j] ? a[i + j] : acc[j];
    for (int j = 0; i < n; i++, j++) acc[j] = a[i] > acc[j] ? a[i] : acc[j];
    for (int w = 8; w >= 1; w /= 2)
        for (int j = 0; j < w; j++) acc[j] = acc[j + w] > acc[j] ? acc[j + w] : acc[j];
    return acc[0];
}

// x[i] = exp(x[i] - shift)
static inline void cpu_exp_shift(float *x, int n, float shift) {
#pragma omp simd
    for (int i = 0; i < n; i++) x[i] = cpu_expf(x[i] - shift);
}

// Attention backward strategy (attention.c): 0 chooses by the thread count, 1 forces the
// single pass over (batch, kv head), 2 the two-pass split. Tests set it to check both.
extern int cpu_attention_backward_mode;

// ---- ops defined in attention.c (RoPE, attention, KV cache) ----
void cpu_rope_forward(void *qkv, const float *cos, const float *sin, int B, int T, int H, int KV, int D);
void cpu_rope_backward(void *dqkv, const float *cos, const float *sin, int B, int T, int H, int KV, int D);
void cpu_attention_forward(void *out, float *lse, const void *qkv, int B, int T, int H, int KV, int D);
void cpu_attention_backward(void *dqkv, const void *dout, const void *out, const float *lse, const void *qkv, int B,
                            int T, int H, int KV, int D);
void cpu_rope_forward_at(void *qkv, const float *cos, const float *sin, const int *pos, int N, int H, int KV, int D);
void cpu_kv_store(void *k_cache, void *v_cache, const void *qkv, const int *seq, const int *pos, int N, int S, int H,
                  int KV, int D);
void cpu_attention_decode(void *out, const void *qkv, const void *k_cache, const void *v_cache, const int *len, int B,
                          int S, int H, int KV, int D);

// ---- matmul_skinny.c: out (N,OC) = inp (N,C) @ w (OC,C)^T for small N, streaming the
// weights once; kind WEIGHTS_F32, WEIGHTS_F16 or WEIGHTS_BF16 ----
void cpu_matmul_skinny(float *out, const float *inp, const void *w, int kind, int N, int C, int OC);
void cpu_matmul_forward_w16(void *out, const void *inp, const uint16_t *w, int wtype, int N, int C, int OC);
