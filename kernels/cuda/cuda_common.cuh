// cuda_common.cuh: what every file of the CUDA backend shares: the element type, error
// macros, the backend's global state (device, stream, cuBLAS handle, scratch buffers),
// reduction helpers and the prototypes of the ops each .cu file provides.
//
// Conventions of the CUDA backend (see kernels/backend.h for the op table's spec):
//   - parameters, gradients and activations are bf16 (`bf16` below); buffers typed
//     float * are fp32; all arithmetic and every accumulation is fp32 (double for
//     sum_squares);
//   - every kernel runs on g_cuda.stream, so ops are ordered without host syncs;
//   - no float atomics anywhere: every reduction has a fixed order, so each op gives
//     bit-identical results run after run on the same GPU;
//   - a bf16 pointer may be any element offset into a bigger buffer (backend_at), so
//     kernels only assume 2-byte alignment (no vectorised loads in this first version).
#pragma once

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

extern "C" {
#include "../../base/check.h"
#include "../backend.h"
}

typedef __nv_bfloat16 bf16;

// ---- error checking: file, line, the failed call and CUDA's own words ----

#define CUDA_CHECK(call)                                                                                   \
    do {                                                                                                   \
        cudaError_t err_ = (call);                                                                         \
        if (err_ != cudaSuccess)                                                                           \
            check_failed(__FILE__, __LINE__, "CUDA error in %s: %s (%s)", #call, cudaGetErrorString(err_), \
                         cudaGetErrorName(err_));                                                          \
    } while (0)

#define CUBLAS_CHECK(call)                                                                                            \
    do {                                                                                                              \
        cublasStatus_t st_ = (call);                                                                                  \
        if (st_ != CUBLAS_STATUS_SUCCESS)                                                                             \
            check_failed(__FILE__, __LINE__, "cuBLAS error in %s: %s (status %d)", #call, cublasGetStatusString(st_), \
                         (int)st_);                                                                                   \
    } while (0)

// after every kernel launch: catches bad launch configurations at the op that made them
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

// ---- global state (defined in cuda_backend.cu) ----

struct CudaState {
    int device;
    int num_sms;
    cudaStream_t stream;
    cublasHandle_t cublas;
    void *cublas_workspace;
    size_t cublas_workspace_bytes;
};
extern CudaState g_cuda;

// Grow-only device scratch buffers, one per user, so no op allocates in the hot loop.
// Growing frees the old buffer (cudaFree synchronises the device first, so no kernel
// still reads it). Contents are undefined after a call.
enum ScratchSlot {
    SCRATCH_STAGING,         // fp32 <-> bf16 conversion for upload_f32 / download_f32
    SCRATCH_EMBEDDING,       // sorted (token, row) pairs + cub temp storage
    SCRATCH_RMSNORM,         // per-block dweight partial sums
    SCRATCH_SUMSQ,           // per-block double partial sums + the result
    SCRATCH_ATTENTION,       // D_i = rowsum(dO * O) for the attention backward
    SCRATCH_NAIVE_ATTENTION, // scores and probabilities of the naive attention (attention_naive.cu)
    SCRATCH_COUNT
};
void *cuda_scratch(ScratchSlot slot, size_t bytes);

static inline unsigned int cdiv(size_t a, size_t b) { return (unsigned int)((a + b - 1) / b); }

// ---- device helpers ----

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
__device__ __forceinline__ double warp_sum_d(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Sum over the whole block (blockDim.x a multiple of 32, at most 1024); every thread gets
// the result. Fixed order: warp butterflies, then warp 0 adds the warp sums. `shared`
// must hold 32 floats; the function syncs before reuse so it can be called repeatedly.
__device__ __forceinline__ float block_sum(float v, float *shared) {
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32, nwarps = blockDim.x / 32;
    v = warp_sum(v);
    __syncthreads(); // previous use of `shared` is finished
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    v = lane < nwarps ? shared[lane] : 0.0f;
    return warp_sum(v);
}
__device__ __forceinline__ float block_max(float v, float *shared) {
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32, nwarps = blockDim.x / 32;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    v = lane < nwarps ? shared[lane] : -INFINITY;
    return warp_max(v);
}

__device__ __forceinline__ float ld(const bf16 *p) { return __bfloat162float(*p); }

// ---- asynchronous copies (sm_80+), shared by the GEMM kernels ----

__device__ __forceinline__ uint32_t smem_u32(const void *p) { return (uint32_t)__cvta_generic_to_shared(p); }
// 16-byte global -> shared copy; src_bytes = 0 writes 16 zero bytes (and reads nothing)
__device__ __forceinline__ void cp_async16(uint32_t dst, const void *src, int src_bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
// wait until at most N of this thread's committed copy groups are still in flight
template <int N> __device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

// ---- the ops, by file (all take device pointers, all enqueue on g_cuda.stream) ----

// cuda_matmul.cu: row-major C(M,N) = alpha * op(A)(M,K) @ op(B)(K,N) + beta * C, bf16
// operands, fp32 accumulation. lda/ldb/ldc are row strides (elements) of the stored
// matrices. Every matmul of the backend goes through here; the implementation is chosen
// once (env STRAP_MATMUL=cublas|own, default cublas).
void cuda_matmul_init(void);
void cuda_gemm(int transA, int transB, int M, int N, int K, float alpha, const bf16 *A, int lda, const bf16 *B, int ldb,
               float beta, bf16 *C, int ldc);
void cuda_matmul_forward(void *out, const void *inp, const void *weight, int N, int C, int OC);
void cuda_matmul_backward(void *dinp, void *dweight, const void *dout, const void *inp, const void *weight, int N,
                          int C, int OC);
// cuBLAS for the same contract (the baseline and the fallback of the own kernel)
void gemm_cublas(int transA, int transB, int M, int N, int K, float alpha, const bf16 *A, int lda, const bf16 *B,
                 int ldb, float beta, bf16 *C, int ldc);
// the implementation cuda_gemm uses: "cublas", "own" or "own-mma"
const char *cuda_matmul_impl_name(void);

// strap's own tensor-core GEMMs, same contract as cuda_gemm. gemm_own_takes() says whether
// they handle a call (M, N, K multiples of 8; A, B 16-byte aligned with lda, ldb multiples
// of 8; C 4-byte aligned, ldc even); each fails on a call it does not take.
int gemm_own_takes(int transA, int transB, int M, int N, int K, const bf16 *A, int lda, const bf16 *B, int ldb,
                   const bf16 *C, int ldc);
// gemm_mma.cu: mma.sync (sm_80+)
void gemm_mma(int transA, int transB, int M, int N, int K, float alpha, const bf16 *A, int lda, const bf16 *B, int ldb,
              float beta, bf16 *C, int ldc);
const char *gemm_mma_describe(void);
// gemm_wgmma.cu: wgmma (sm_90a); available = an sm_90 device and sm_90a code in this binary
int gemm_wgmma_available(void);
void gemm_wgmma(int transA, int transB, int M, int N, int K, float alpha, const bf16 *A, int lda, const bf16 *B,
                int ldb, float beta, bf16 *C, int ldc);
const char *gemm_wgmma_describe(void);
// cuda_matmul.cu: the best own kernel for this device (wgmma where available, else mma.sync)
void gemm_own(int transA, int transB, int M, int N, int K, float alpha, const bf16 *A, int lda, const bf16 *B, int ldb,
              float beta, bf16 *C, int ldc);

// cuda_ops.cu
void cuda_embedding_forward(void *out, const int *tokens, const void *wte, int N, int C);
void cuda_embedding_backward(void *dwte, const void *dout, const int *tokens, int N, int C);
void cuda_rmsnorm_forward(void *out, float *rstd, const void *inp, const void *weight, int N, int C, float eps);
void cuda_rmsnorm_backward(void *dinp, void *dweight, const void *dout, const void *inp, const void *weight,
                           const float *rstd, int N, int C);
void cuda_residual_forward(void *out, const void *a, const void *b, size_t n);
void cuda_rope_forward(void *qkv, const float *cos, const float *sin, int B, int T, int H, int KV, int D);
void cuda_rope_backward(void *dqkv, const float *cos, const float *sin, int B, int T, int H, int KV, int D);
void cuda_swiglu_forward(void *out, const void *gate_up, int N, int F);
void cuda_swiglu_backward(void *dgate_up, const void *dout, const void *gate_up, int N, int F);
void cuda_classifier(float *losses, void *dinp, void *dweight, void *scratch, const void *inp, const void *weight,
                     const int *targets, const float *dlosses, int N, int C, int V);
double cuda_sum_squares(const void *grads, size_t n);
void cuda_adamw_update(void *params, float *master, const void *grads, float *m, float *v, size_t n, float lr,
                       float beta1, float beta2, float eps, float weight_decay, float grad_scale, int t);

// cuda_attention.cu
// cuda_decode.cu
void cuda_rope_forward_at(void *qkv, const float *cos_t, const float *sin_t, const int *pos, int N, int H, int KV,
                          int D);
void cuda_kv_store(void *k_cache, void *v_cache, const void *qkv, const int *seq, const int *pos, int N, int S, int H,
                   int KV, int D);
void cuda_attention_decode(void *out, const void *qkv, const void *k_cache, const void *v_cache, const int *len, int B,
                           int S, int H, int KV, int D);
void cuda_attention_forward(void *out, float *lse, const void *qkv, int B, int T, int H, int KV, int D);
void cuda_attention_backward(void *dqkv, const void *dout, const void *out, const float *lse, const void *qkv, int B,
                             int T, int H, int KV, int D);
