// cuda_matmul.cu: every matmul of the CUDA backend goes through cuda_gemm(), which picks
// the implementation chosen once at start-up:
//   cublas  cublasGemmEx, bf16 operands, fp32 compute (tensor cores)  (default)
//   own     strap's own tensor-core kernels: gemm_wgmma.cu (wgmma) on an sm_90 GPU when
//           the binary has sm_90a code, gemm_mma.cu (mma.sync, ldmatrix, cp.async)
//           otherwise; calls they do not take (a dimension not a multiple of 8, an operand
//           not 16-byte aligned, as backend_at() offsets can make) go to cuBLAS
//   own-mma the mma.sync kernel on every GPU (same fallback)
// Selected with the environment variable STRAP_MATMUL=cublas|own|own-mma (a --matmul flag
// can set it before backend_cuda() is called). cublas stays the default until the own kernel
// has been verified and timed on a GPU (docs/perf.md).
//
// Row-major vs cuBLAS's column-major: a row-major matrix X (r x c, row stride ld) is, read
// column-major, the matrix X^T (c x r) with the same ld. So the row-major product
//   C = op(A) @ op(B)         (M x N)
// is computed as the column-major product
//   C^T = op(B)^T @ op(A)^T   (N x M)
// i.e. cuBLAS is called with the operands swapped, the dimensions (N, M, K) and the same
// transpose flags: the column-major view of B is B^T, which is exactly op(B)^T when B is
// not transposed (CUBLAS_OP_N), and needs CUBLAS_OP_T when it is.
#include "cuda_common.cuh"

#include <string.h>

enum MatmulImpl { MATMUL_CUBLAS, MATMUL_OWN, MATMUL_OWN_MMA };
static MatmulImpl matmul_impl = MATMUL_CUBLAS;

// cuBLAS is deterministic for a fixed workspace and stream (no split-K atomics across
// streams), so the workspace is set once here.
#define CUBLAS_WORKSPACE_BYTES ((size_t)32 << 20)

void cuda_matmul_init(void) {
    const char *impl = getenv("STRAP_MATMUL");
    if (impl && *impl) {
        if (strcmp(impl, "cublas") == 0)
            matmul_impl = MATMUL_CUBLAS;
        else if (strcmp(impl, "own") == 0)
            matmul_impl = MATMUL_OWN;
        else if (strcmp(impl, "own-mma") == 0)
            matmul_impl = MATMUL_OWN_MMA;
        else
            fail("STRAP_MATMUL='%s' is unknown (choose cublas, own or own-mma)", impl);
    }
    CUBLAS_CHECK(cublasCreate(&g_cuda.cublas));
    CUBLAS_CHECK(cublasSetStream(g_cuda.cublas, g_cuda.stream));
    g_cuda.cublas_workspace_bytes = CUBLAS_WORKSPACE_BYTES;
    CUDA_CHECK(cudaMalloc(&g_cuda.cublas_workspace, g_cuda.cublas_workspace_bytes));
    CUBLAS_CHECK(cublasSetWorkspace(g_cuda.cublas, g_cuda.cublas_workspace, g_cuda.cublas_workspace_bytes));
    CUBLAS_CHECK(cublasSetMathMode(g_cuda.cublas, CUBLAS_DEFAULT_MATH));
}

const char *cuda_matmul_impl_name(void) {
    return matmul_impl == MATMUL_OWN ? "own" : matmul_impl == MATMUL_OWN_MMA ? "own-mma" : "cublas";
}

void gemm_own(int transA, int transB, int M, int N, int K, float alpha, const bf16 *A, int lda, const bf16 *B, int ldb,
              float beta, bf16 *C, int ldc) {
    if (gemm_wgmma_available())
        gemm_wgmma(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        gemm_mma(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm_cublas(int transA, int transB, int M, int N, int K, float alpha, const bf16 *A, int lda, const bf16 *B,
                 int ldb, float beta, bf16 *C, int ldc) {
    CUBLAS_CHECK(cublasGemmEx(g_cuda.cublas, transB ? CUBLAS_OP_T : CUBLAS_OP_N, transA ? CUBLAS_OP_T : CUBLAS_OP_N, N,
                              M, K, &alpha, B, CUDA_R_16BF, ldb, A, CUDA_R_16BF, lda, &beta, C, CUDA_R_16BF, ldc,
                              CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

void cuda_gemm(int transA, int transB, int M, int N, int K, float alpha, const bf16 *A, int lda, const bf16 *B, int ldb,
               float beta, bf16 *C, int ldc) {
    if (M == 0 || N == 0) return;
    switch (matmul_impl) {
    case MATMUL_CUBLAS: gemm_cublas(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case MATMUL_OWN:
    case MATMUL_OWN_MMA:
        if (!gemm_own_takes(transA, transB, M, N, K, A, lda, B, ldb, C, ldc))
            gemm_cublas(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        else if (matmul_impl == MATMUL_OWN)
            gemm_own(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        else
            gemm_mma(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        break;
    }
}

void cuda_matmul_forward(void *out, const void *inp, const void *weight, int N, int C, int OC) {
    // out (N,OC) = inp (N,C) @ weight (OC,C)^T
    cuda_gemm(0, 1, N, OC, C, 1.0f, (const bf16 *)inp, C, (const bf16 *)weight, C, 0.0f, (bf16 *)out, OC);
}

void cuda_matmul_backward(void *dinp, void *dweight, const void *dout, const void *inp, const void *weight, int N,
                          int C, int OC) {
    // dinp (N,C) = dout (N,OC) @ weight (OC,C)
    if (dinp) cuda_gemm(0, 0, N, C, OC, 1.0f, (const bf16 *)dout, OC, (const bf16 *)weight, C, 0.0f, (bf16 *)dinp, C);
    // dweight (OC,C) += dout^T (OC,N) @ inp (N,C)
    cuda_gemm(1, 0, OC, C, N, 1.0f, (const bf16 *)dout, OC, (const bf16 *)inp, C, 1.0f, (bf16 *)dweight, C);
}
