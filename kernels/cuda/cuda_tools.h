// cuda_tools.h: C entry points into the CUDA backend for the GPU tests (tests/gpu) and
// `strap bench gemm|attention`: a GEMM with a chosen implementation, the naive attention
// baseline, random device fills and CUDA-event timing. Not part of the Backend table.
//
// Call backend_cuda() first (it sets up the device, stream and cuBLAS). Every pointer is
// device memory from that backend's alloc (bf16 = 2-byte elements unless typed float *);
// everything runs on the backend's stream. Only defined in builds with STRAP_CUDA.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// CUDA_GEMM_OWN: the own kernel STRAP_MATMUL=own runs on this device (wgmma where
// available, else mma.sync); CUDA_GEMM_MMA / CUDA_GEMM_WGMMA: one of them explicitly
enum { CUDA_GEMM_CUBLAS = 0, CUDA_GEMM_OWN = 1, CUDA_GEMM_MMA = 2, CUDA_GEMM_WGMMA = 3 };

// Row-major C (M,N) = alpha * op(A) (M,K) @ op(B) (K,N) + beta * C, bf16 operands, fp32
// accumulation; op(X) = X^T when transX. lda/ldb/ldc: row strides of the stored matrices.
// beta == 0 does not read C. An own kernel on a call it does not take (cuda_gemm_own_takes()
// == 0), or CUDA_GEMM_WGMMA where it is not available, fails with a message.
void cuda_gemm_with(int impl, int transA, int transB, int M, int N, int K, float alpha, const void *A, int lda,
                    const void *B, int ldb, float beta, void *C, int ldc);
// 1 when the own kernel takes this call: M, N, K multiples of 8, A and B 16-byte aligned with
// lda, ldb multiples of 8, C 4-byte aligned with ldc even.
int cuda_gemm_own_takes(int transA, int transB, int M, int N, int K, const void *A, int lda, const void *B, int ldb,
                        const void *C, int ldc);
// 1 on an sm_90 GPU with sm_90a code in this binary (the wgmma kernel can run)
int cuda_gemm_wgmma_available(void);
// one line describing an implementation (tile, warps, pipeline)
const char *cuda_gemm_describe(int impl);

// The naive attention baseline (attention_naive.cu): same contract as the backend's
// attention_forward / attention_backward (causal GQA, qkv rows [q | k | v], lse per
// (b, h, t)), computed the unfused way: the (T, T) scores of every head are materialised in
// device memory (fp32 scores, bf16 probabilities) and multiplied with cuBLAS.
void cuda_attention_naive_forward(void *out /* N,H*D */, float *lse /* B,H,T */, const void *qkv, int B, int T, int H,
                                  int KV, int D);
void cuda_attention_naive_backward(void *dqkv /* N,(H+2KV)*D = */, const void *dout /* N,H*D */,
                                   const void *out /* N,H*D */, const float *lse /* B,H,T */, const void *qkv, int B,
                                   int T, int H, int KV, int D);
// device bytes the naive attention's scratch takes for this shape (B*H*T*T * 6)
size_t cuda_attention_naive_bytes(int B, int T, int H);

// n bf16 values scale * (uniform in [-1, 1)) from a counter-based hash of (seed, i):
// the same values on every run and every GPU
void cuda_fill_uniform(void *dst, size_t n, float scale, uint64_t seed);
// Milliseconds between CUDA events recorded on the backend's stream before and after
// fn(ctx) (which enqueues work on that stream); waits for the second event.
double cuda_time_ms(void (*fn)(void *ctx), void *ctx);
// "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)"
const char *cuda_device_describe(void);

#ifdef __cplusplus
}
#endif
