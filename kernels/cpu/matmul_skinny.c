// matmul_skinny.c: out (N,OC) = inp (N,C) @ w (OC,C)^T for a few rows N (decoding), with
// fp32, fp16 or bf16 weights; fp32 inputs, outputs and sums.
//
// Decoding a handful of rows is bound by the bytes of weight streamed from memory, not by
// arithmetic, so this loop is built to stream: each thread owns a contiguous range of
// output channels (weight rows, split as schedule(static) would), and reads each weight
// once per call whatever N is. With one input row it takes 8 weight rows at a time (8
// vector accumulators); with more it takes 4 rows x up to 4 inputs (16 accumulators), the
// 4 rows (<= 4 x C x 4 bytes) staying in L1 while every group of inputs passes. 16-bit
// weights are widened to fp32 in registers right after the load (vcvtph2ps for fp16, a
// 16-bit shift for bf16). Software prefetch fetches the same cache line of the next
// block's rows: the hardware prefetchers lose track of 8 interleaved short streams (rows of
// 1-3 KiB) and single-thread bandwidth then drops by a third.
//
// Each output is one vector accumulator reduced in a fixed tree, then the scalar tail of C
// in order: the result does not depend on the thread count or on N.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=fast") // a*b+c -> fma (-std=c11 turns contraction off)
#endif
#include <stdint.h>
#include <string.h>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__F16C__))
#include <immintrin.h>
#endif

#include "../../base/check.h"
#include "../backend.h"
#include "cpu.h"

#if defined(__AVX512F__)
#define WVL 16
#elif defined(__AVX2__) && defined(__F16C__)
#define WVL 8
#else
#define WVL 4
#endif
#define ROWS1 8 // weight rows per block with one input row
#define ROWS  4 // weight rows per block with several input rows
#define INS   4 // input rows per block

typedef float wfloat __attribute__((vector_size(WVL * sizeof(float))));

// ---- scalar conversions (the tails of rows, and the portable vector fallback) ----

static inline float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, bits;
    if (exp == 0) { // zero or subnormal: mant * 2^-24 (exact in fp32)
        float f = (float)mant * 5.9604644775390625e-8f;
        return sign ? -f : f;
    }
    bits = exp == 31 ? sign | 0x7f800000u | (mant << 13) : sign | ((exp + 112u) << 23) | (mant << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline float bfloat_to_float(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

// element i of a weight row of type `kind` (WEIGHTS_F32 / F16 / BF16)
static inline float weight_at(const void *row, int i, int kind) {
    if (kind == WEIGHTS_F32) return ((const float *)row)[i];
    uint16_t h = ((const uint16_t *)row)[i];
    return kind == WEIGHTS_BF16 ? bfloat_to_float(h) : half_to_float(h);
}

// ---- vector loads: WVL weights as fp32 ----

static inline wfloat load_f32(const float *p) {
    wfloat v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline wfloat load_f16(const uint16_t *p) {
#if defined(__AVX512F__)
    return (wfloat)_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
#elif WVL == 8
    return (wfloat)_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
#else
    wfloat v;
    for (int i = 0; i < WVL; i++) v[i] = half_to_float(p[i]);
    return v;
#endif
}

static inline wfloat load_bf16(const uint16_t *p) {
#if defined(__AVX512F__)
    __m512i x = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p));
    return (wfloat)_mm512_castsi512_ps(_mm512_slli_epi32(x, 16));
#elif WVL == 8
    __m256i x = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return (wfloat)_mm256_castsi256_ps(_mm256_slli_epi32(x, 16));
#else
    wfloat v;
    for (int i = 0; i < WVL; i++) v[i] = bfloat_to_float(p[i]);
    return v;
#endif
}

static inline wfloat load_w(const void *row, int c, int kind) {
    if (kind == WEIGHTS_F32) return load_f32((const float *)row + c);
    if (kind == WEIGHTS_BF16) return load_bf16((const uint16_t *)row + c);
    return load_f16((const uint16_t *)row + c);
}

// sum of the lanes in a fixed tree (halves added pairwise)
static inline float hsum(wfloat v) {
#if defined(__AVX512F__)
    __m512 z = (__m512)v;
    __m256 a = _mm256_add_ps(_mm512_castps512_ps256(z), _mm512_extractf32x8_ps(z, 1));
#endif
#if defined(__AVX512F__) || WVL == 8
#if WVL == 8
    __m256 a = (__m256)v;
#endif
    __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    b = _mm_add_ps(b, _mm_movehl_ps(b, b));
    b = _mm_add_ss(b, _mm_movehdup_ps(b));
    return _mm_cvtss_f32(b);
#else
    float l[WVL];
    memcpy(l, &v, sizeof l);
    for (int w = WVL / 2; w >= 1; w /= 2)
        for (int j = 0; j < w; j++) l[j] += l[j + w];
    return l[0];
#endif
}

// out[n][o] for weight rows o0..o0+nr and input rows n0..n0+ni. Inlined with constant kind,
// nr and ni so the accumulators stay in registers.
static inline __attribute__((always_inline)) void block(float *out, const float *inp, const void *w, int kind, int C,
                                                        int OC, int o0, int nr, int n0, int ni) {
    size_t esize = kind == WEIGHTS_F32 ? 4 : 2, row_bytes = (size_t)C * esize;
    const char *w0 = (const char *)w + (size_t)o0 * row_bytes;
    int line = (int)(64 / esize), prefetch = n0 == 0; // weights per cache line; the first pass prefetches
    wfloat acc[ROWS1][INS];
    for (int r = 0; r < nr; r++)
        for (int i = 0; i < ni; i++) acc[r][i] = (wfloat){0};
    int cv = C / WVL * WVL;
    for (int c = 0; c < cv; c += WVL) {
        wfloat wv[ROWS1], xv[INS];
        for (int r = 0; r < nr; r++) {
            const char *row = w0 + r * row_bytes;
            wv[r] = load_w(row, c, kind);
#if defined(__GNUC__) && WVL > 4
            // keep the weights in registers: without this GCC folds an fp32 weight load into
            // each of the ni FMAs that use it (ni loads instead of one)
            __asm__("" : "+v"(wv[r]));
#endif
            // (past the matrix for its last block: a prefetch never faults)
            if (prefetch && c % line == 0) __builtin_prefetch(row + (size_t)nr * row_bytes + (size_t)c * esize, 0, 2);
        }
        for (int i = 0; i < ni; i++) xv[i] = load_f32(inp + (size_t)(n0 + i) * C + c);
        for (int r = 0; r < nr; r++)
            for (int i = 0; i < ni; i++) acc[r][i] += wv[r] * xv[i];
    }
    for (int r = 0; r < nr; r++)
        for (int i = 0; i < ni; i++) {
            float s = hsum(acc[r][i]);
            const float *x = inp + (size_t)(n0 + i) * C;
            for (int c = cv; c < C; c++) s += weight_at(w0 + r * row_bytes, c, kind) * x[c];
            out[(size_t)(n0 + i) * OC + o0 + r] = s;
        }
}

// weight rows [o0, o0 + nr) (nr <= ROWS1) against every input row, for one weight type
static inline __attribute__((always_inline)) void rows_all_inputs(float *out, const float *inp, const void *w, int kind,
                                                                  int N, int C, int OC, int o0, int nr) {
    if (N == 1 && nr == ROWS1) {
        block(out, inp, w, kind, C, OC, o0, ROWS1, 0, 1);
        return;
    }
    for (int o = o0; o < o0 + nr; o += ROWS) {
        int rows = o0 + nr - o < ROWS ? o0 + nr - o : ROWS;
        for (int n0 = 0; n0 < N; n0 += INS) {
            int ni = N - n0 < INS ? N - n0 : INS;
            if (rows == ROWS) {
                switch (ni) {
                case 1: block(out, inp, w, kind, C, OC, o, ROWS, n0, 1); break;
                case 2: block(out, inp, w, kind, C, OC, o, ROWS, n0, 2); break;
                case 3: block(out, inp, w, kind, C, OC, o, ROWS, n0, 3); break;
                default: block(out, inp, w, kind, C, OC, o, ROWS, n0, INS); break;
                }
            } else { // the last rows of the matrix, one at a time
                for (int r = o; r < o + rows; r++) switch (ni) {
                    case 1: block(out, inp, w, kind, C, OC, r, 1, n0, 1); break;
                    case 2: block(out, inp, w, kind, C, OC, r, 1, n0, 2); break;
                    case 3: block(out, inp, w, kind, C, OC, r, 1, n0, 3); break;
                    default: block(out, inp, w, kind, C, OC, r, 1, n0, INS); break;
                    }
            }
        }
    }
}

static void rows_f32(float *out, const float *inp, const void *w, int N, int C, int OC, int o0, int nr) {
    rows_all_inputs(out, inp, w, WEIGHTS_F32, N, C, OC, o0, nr);
}
static void rows_f16(float *out, const float *inp, const void *w, int N, int C, int OC, int o0, int nr) {
    rows_all_inputs(out, inp, w, WEIGHTS_F16, N, C, OC, o0, nr);
}
static void rows_bf16(float *out, const float *inp, const void *w, int N, int C, int OC, int o0, int nr) {
    rows_all_inputs(out, inp, w, WEIGHTS_BF16, N, C, OC, o0, nr);
}

void cpu_matmul_skinny(float *out, const float *inp, const void *w, int kind, int N, int C, int OC) {
    CHECK(kind == WEIGHTS_F32 || kind == WEIGHTS_F16 || kind == WEIGHTS_BF16, "matmul: unknown weight type %d", kind);
    if (N <= 0 || OC <= 0) return;
    void (*rows)(float *, const float *, const void *, int, int, int, int, int) = kind == WEIGHTS_F32   ? rows_f32
                                                                                  : kind == WEIGHTS_F16 ? rows_f16
                                                                                                        : rows_bf16;
    int blocks = (OC + ROWS1 - 1) / ROWS1;
#pragma omp parallel if (blocks > 1 && !cpu_in_parallel())
    {
        // contiguous blocks of rows per thread, as schedule(static) splits them
        int t = cpu_thread_id(), nt = cpu_team_size();
        int per = blocks / nt, extra = blocks % nt;
        int b0 = t * per + (t < extra ? t : extra), b1 = b0 + per + (t < extra ? 1 : 0);
        for (int b = b0; b < b1; b++) {
            int o0 = b * ROWS1;
            rows(out, inp, w, N, C, OC, o0, OC - o0 < ROWS1 ? OC - o0 : ROWS1);
        }
    }
}

void cpu_matmul_forward_w16(void *out, const void *inp, const uint16_t *w, int wtype, int N, int C, int OC) {
    CHECK(wtype == WEIGHTS_F16 || wtype == WEIGHTS_BF16, "matmul_forward_w16: weight type %d is not 16-bit", wtype);
    cpu_matmul_skinny(out, inp, w, wtype, N, C, OC);
}
