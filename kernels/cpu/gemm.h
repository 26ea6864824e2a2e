// gemm.h: the one sgemm the CPU backend calls: row-major
//   C (M,N) = alpha * op(A) (M,K) @ op(B) (K,N) + beta * C
// op(X) = X or X^T (trans_a / trans_b); lda/ldb/ldc are row strides of the stored matrices.
// With beta == 0, C is not read (it may hold NaN). Safe to call from inside an OpenMP
// parallel region (it then runs on the calling thread only).
#pragma once

// OpenBLAS when built with STRAP_BLAS, otherwise gemm_f32_builtin.
void gemm_f32(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc);

// The plain-C sgemm (always compiled, so tests can check it in either build): packed
// panels, a register-blocked micro-kernel, OpenMP over output tiles. Every element of C is
// summed in the same order whatever the thread count, so its results are bit-identical
// for any number of threads.
void gemm_f32_builtin(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc);

void gemm_set_threads(int threads);
// "OpenBLAS" or "built-in sgemm"
const char *gemm_impl_name(void);
