// gemm.c: see gemm.h.
#include "gemm.h"

#include <stdlib.h>
#include <string.h>

#ifdef STRAP_BLAS
#include <cblas.h>

void gemm_f32(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc) {
    if (M == 0 || N == 0) return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K,
                alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm_set_threads(int threads) { openblas_set_num_threads(threads); }
const char *gemm_impl_name(void) { return "OpenBLAS"; }

#else

// Blocked C sgemm. Each output tile is owned by one thread and its K loop runs in a fixed
// order, so results do not depend on the thread count. Panels of A and B are copied into
// contiguous (non-transposed) tiles so the inner loop is a unit-stride axpy the compiler
// vectorises.
#define TILE_M 64
#define TILE_N 256
#define TILE_K 256

static inline float at(const float *X, int ld, int trans, int r, int c) {
    return trans ? X[(size_t)c * ld + r] : X[(size_t)r * ld + c];
}

void gemm_f32(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc) {
    if (M == 0 || N == 0) return;
    int tiles_m = (M + TILE_M - 1) / TILE_M, tiles_n = (N + TILE_N - 1) / TILE_N;
#pragma omp parallel
    {
        float *a_tile = malloc(sizeof(float) * TILE_M * TILE_K);
        float *b_tile = malloc(sizeof(float) * TILE_K * TILE_N);
        float *acc = malloc(sizeof(float) * TILE_M * TILE_N);
#pragma omp for collapse(2) schedule(static)
        for (int tm = 0; tm < tiles_m; tm++)
            for (int tn = 0; tn < tiles_n; tn++) {
                int m0 = tm * TILE_M, n0 = tn * TILE_N;
                int mb = M - m0 < TILE_M ? M - m0 : TILE_M, nb = N - n0 < TILE_N ? N - n0 : TILE_N;
                memset(acc, 0, sizeof(float) * TILE_M * TILE_N);
                for (int k0 = 0; k0 < K; k0 += TILE_K) {
                    int kb = K - k0 < TILE_K ? K - k0 : TILE_K;
                    for (int i = 0; i < mb; i++)
                        for (int k = 0; k < kb; k++) a_tile[i * TILE_K + k] = at(A, lda, trans_a, m0 + i, k0 + k);
                    for (int k = 0; k < kb; k++)
                        for (int j = 0; j < nb; j++) b_tile[k * TILE_N + j] = at(B, ldb, trans_b, k0 + k, n0 + j);
                    for (int i = 0; i < mb; i++) {
                        float *acc_row = acc + i * TILE_N;
                        for (int k = 0; k < kb; k++) {
                            float a = a_tile[i * TILE_K + k];
                            const float *b_row = b_tile + k * TILE_N;
                            for (int j = 0; j < nb; j++) acc_row[j] += a * b_row[j];
                        }
                    }
                }
                for (int i = 0; i < mb; i++) {
                    float *c_row = C + (size_t)(m0 + i) * ldc + n0;
                    for (int j = 0; j < nb; j++)
                        c_row[j] = alpha * acc[i * TILE_N + j] + (beta == 0.0f ? 0.0f : beta * c_row[j]);
                }
            }
        free(a_tile);
        free(b_tile);
        free(acc);
    }
}

void gemm_set_threads(int threads) { (void)threads; }
const char *gemm_impl_name(void) { return "built-in sgemm"; }
#endif
