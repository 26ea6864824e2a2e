// gemm.h: the one sgemm the CPU backend calls: row-major
//   C (M,N) = alpha * op(A) (M,K) @ op(B) (K,N) + beta * C
// op(X) = X or X^T (trans_a / trans_b); lda/ldb/ldc are row strides of the stored matrices.
// OpenBLAS when built with STRAP_BLAS, otherwise a blocked C version (deterministic).
#pragma once

void gemm_f32(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);
void gemm_set_threads(int threads);
// "OpenBLAS" or "built-in"
const char *gemm_impl_name(void);
