// gemm.c: see gemm.h.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=fast") // a*b+c -> fma (-std=c11 turns contraction off)
#endif
#include "gemm.h"

#include <string.h>

#include "../../base/check.h"
#include "cpu.h"

#ifdef STRAP_BLAS
#include <cblas.h>
#endif

// ---- the built-in sgemm ----
//
// BLIS-style blocking. The output is cut into MC x NC tiles, one OpenMP task each
// (schedule(static) over the tile grid). A task walks K in KC steps; for each step it packs
// op(A)[tile rows, k step] into MR-row panels (k-major) and op(B)[k step, tile cols] into
// NR-column panels (k-major), zero-padded at the edges, then runs the MR x NR
// micro-kernel over every panel pair. The micro-kernel keeps its MR x NR accumulators in
// vector registers (GCC/Clang vector extensions; the compiler picks AVX-512, AVX2 or SSE
// from -march). C is written once per K step: beta * C + alpha * acc on the first step,
// C + alpha * acc after. A given element of C is therefore computed by one task in a fixed
// order, whatever the number of threads.

#if defined(__AVX512F__)
#define VL 16
#define MR 12
#elif defined(__AVX__)
#define VL 8
#define MR 6
#else
#define VL 4
#define MR 6
#endif
#define NR (2 * VL)
#define MC (MR * 8)
#define NC (NR * 8)
#define KC 256

typedef float vfloat __attribute__((vector_size(VL * sizeof(float))));

static inline vfloat vload(const float *p) {
    vfloat v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void vstore(float *p, vfloat v) { memcpy(p, &v, sizeof v); }

// acc (MR x NR, row-major) = Ap (kc x MR) ^T @ Bp (kc x NR)
static void micro_kernel(int kc, const float *restrict Ap, const float *restrict Bp, float *restrict acc) {
    vfloat c0[MR], c1[MR];
    for (int i = 0; i < MR; i++) c0[i] = c1[i] = (vfloat){0};
    for (int k = 0; k < kc; k++) {
        vfloat b0 = vload(Bp + (size_t)k * NR), b1 = vload(Bp + (size_t)k * NR + VL);
        const float *a = Ap + (size_t)k * MR;
        for (int i = 0; i < MR; i++) {
            c0[i] += a[i] * b0;
            c1[i] += a[i] * b1;
        }
    }
    for (int i = 0; i < MR; i++) {
        vstore(acc + i * NR, c0[i]);
        vstore(acc + i * NR + VL, c1[i]);
    }
}

// Ap: ceil(mc/MR) panels of kc x MR; element (i, k) of op(A) block = panel i/MR, [k][i%MR]
static void pack_a(float *Ap, int trans_a, const float *A, int lda, int i0, int mc, int k0, int kc) {
    for (int p = 0; p < mc; p += MR) {
        float *dst = Ap + (size_t)p * kc;
        int rows = mc - p < MR ? mc - p : MR;
        if (!trans_a) { // A row-major (M,K): rows contiguous along k
            for (int i = 0; i < rows; i++) {
                const float *src = A + (size_t)(i0 + p + i) * lda + k0;
                for (int k = 0; k < kc; k++) dst[(size_t)k * MR + i] = src[k];
            }
        } else { // A stored (K,M): contiguous along i
            for (int k = 0; k < kc; k++) {
                const float *src = A + (size_t)(k0 + k) * lda + i0 + p;
                for (int i = 0; i < rows; i++) dst[(size_t)k * MR + i] = src[i];
            }
        }
        for (int i = rows; i < MR; i++)
            for (int k = 0; k < kc; k++) dst[(size_t)k * MR + i] = 0;
    }
}

// Bp: ceil(nc/NR) panels of kc x NR; element (k, j) of op(B) block = panel j/NR, [k][j%NR]
static void pack_b(float *Bp, int trans_b, const float *B, int ldb, int k0, int kc, int j0, int nc) {
    for (int p = 0; p < nc; p += NR) {
        float *dst = Bp + (size_t)p * kc;
        int cols = nc - p < NR ? nc - p : NR;
        if (!trans_b) { // B row-major (K,N): contiguous along j
            for (int k = 0; k < kc; k++) {
                const float *src = B + (size_t)(k0 + k) * ldb + j0 + p;
                float *d = dst + (size_t)k * NR;
                for (int j = 0; j < cols; j++) d[j] = src[j];
                for (int j = cols; j < NR; j++) d[j] = 0;
            }
        } else { // B stored (N,K): rows contiguous along k
            const float *src = B + (size_t)(j0 + p) * ldb + k0;
            for (int k = 0; k < kc; k++) {
                float *d = dst + (size_t)k * NR;
                for (int j = 0; j < cols; j++) d[j] = src[(size_t)j * ldb + k];
                for (int j = cols; j < NR; j++) d[j] = 0;
            }
        }
    }
}

static void gemm_tile(int trans_a, int trans_b, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                      float beta, float *C, int ldc, int i0, int mc, int j0, int nc) {
    float *Ap = cpu_scratch(CPU_SCRATCH_GEMM_A, (size_t)MC * KC);
    float *Bp = cpu_scratch(CPU_SCRATCH_GEMM_B, (size_t)NC * KC + (size_t)MR * NR);
    float *acc = Bp + (size_t)NC * KC;
    for (int k0 = 0; k0 < K; k0 += KC) {
        int kc = K - k0 < KC ? K - k0 : KC;
        pack_a(Ap, trans_a, A, lda, i0, mc, k0, kc);
        pack_b(Bp, trans_b, B, ldb, k0, kc, j0, nc);
        for (int jp = 0; jp < nc; jp += NR) {
            int cols = nc - jp < NR ? nc - jp : NR;
            for (int ip = 0; ip < mc; ip += MR) {
                int rows = mc - ip < MR ? mc - ip : MR;
                micro_kernel(kc, Ap + (size_t)ip * kc, Bp + (size_t)jp * kc, acc);
                for (int i = 0; i < rows; i++) {
                    float *c = C + (size_t)(i0 + ip + i) * ldc + j0 + jp;
                    const float *a = acc + i * NR;
                    if (k0 > 0 || beta == 1.0f) {
                        for (int j = 0; j < cols; j++) c[j] += alpha * a[j];
                    } else if (beta == 0.0f) {
                        for (int j = 0; j < cols; j++) c[j] = alpha * a[j];
                    } else {
                        for (int j = 0; j < cols; j++) c[j] = beta * c[j] + alpha * a[j];
                    }
                }
            }
        }
    }
}

void gemm_f32_builtin(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) { // C = beta * C
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                float *c = C + (size_t)i * ldc + j;
                *c = beta == 0.0f ? 0.0f : beta * *c;
            }
        return;
    }
    int tiles_m = (M + MC - 1) / MC, tiles_n = (N + NC - 1) / NC, tiles = tiles_m * tiles_n;
#pragma omp parallel for schedule(static) if (tiles > 1 && !cpu_in_parallel())
    for (int t = 0; t < tiles; t++) {
        int tm = t / tiles_n, tn = t % tiles_n;
        int i0 = tm * MC, j0 = tn * NC;
        gemm_tile(trans_a, trans_b, K, alpha, A, lda, B, ldb, beta, C, ldc, i0, M - i0 < MC ? M - i0 : MC, j0,
                  N - j0 < NC ? N - j0 : NC);
    }
}

// ---- the sgemm the backend uses ----

void gemm_f32(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc) {
#ifdef STRAP_BLAS
    if (M <= 0 || N <= 0) return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha,
                A, lda, B, ldb, beta, C, ldc);
#else
    gemm_f32_builtin(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

void gemm_set_threads(int threads) {
#ifdef STRAP_BLAS
    openblas_set_num_threads(threads);
#else
    (void)threads;
#endif
}

const char *gemm_impl_name(void) {
#ifdef STRAP_BLAS
    return "OpenBLAS";
#else
    return "built-in sgemm";
#endif
}
