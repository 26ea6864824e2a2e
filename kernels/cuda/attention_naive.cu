// attention_naive.cu: the unfused attention baseline for `strap bench attention` and a
// second, independent GPU implementation to check the FlashAttention-style kernels
// (cuda_attention.cu) against. Same contract as the backend's attention ops (backend.h):
// causal GQA, qkv rows [q (H*D) | k (KV*D) | v (KV*D)], lse[b, h, t].
//
// It does what an unfused framework does: the full (T, T) score matrix of every head is
// materialised in device memory and multiplied with cuBLAS:
//   forward:  S = scale * Q K^T (fp32)  ->  P = softmax(causal S) (bf16), lse  ->  O = P V
//   backward: S again -> P = exp(S - lse)  ->  dV = P^T dO,  dP = dO V^T (fp32),
//             dS = scale * P * (dP - rowsum(dO * O)) (bf16)  ->  dQ = dS K,  dK = dS^T Q
// Grouped-query heads: query head h = kvh * group + g reads kv head kvh; one strided
// batched cuBLAS call covers the KV heads of one (b, g); dK and dV accumulate over g.
// Scratch: B*H*T*T fp32 scores + as many bf16 probabilities (6 bytes per score).
#include "cuda_common.cuh"
#include "cuda_tools.h"

#include <math.h>

// Row-major strided batched GEMM, C_i = alpha * op(A_i) @ op(B_i) + beta * C_i with
// X_i = X + i * sX; bf16 A and B, C bf16 or fp32 (ctype). Operands swapped for cuBLAS's
// column-major view, as in cuda_matmul.cu.
static void gemm_batched(int transA, int transB, int M, int N, int K, float alpha, const bf16 *A, int lda, long long sA,
                         const bf16 *B, int ldb, long long sB, float beta, void *C, cudaDataType_t ctype, int ldc,
                         long long sC, int batch) {
    CUBLAS_CHECK(cublasGemmStridedBatchedEx(g_cuda.cublas, transB ? CUBLAS_OP_T : CUBLAS_OP_N,
                                            transA ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &alpha, B, CUDA_R_16BF, ldb,
                                            sB, A, CUDA_R_16BF, lda, sA, &beta, C, ctype, ldc, sC, batch,
                                            CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

size_t cuda_attention_naive_bytes(int B, int T, int H) {
    return (size_t)B * H * T * T * (sizeof(float) + sizeof(bf16));
}

// S (fp32, B,H,T,T) and P (bf16, B,H,T,T) in one scratch buffer
static void naive_buffers(int B, int T, int H, float **S, bf16 **P) {
    const size_t n = (size_t)B * H * T * T;
    char *base = (char *)cuda_scratch(SCRATCH_NAIVE_ATTENTION, cuda_attention_naive_bytes(B, T, H));
    *S = (float *)base;
    *P = (bf16 *)(base + n * sizeof(float));
}

// S_h = scale * Q_h K_kvh^T for every head of every sequence
static void scores(float *S, const bf16 *qkv, int B, int T, int H, int KV, int D, float scale) {
    const int group = H / KV;
    const size_t stride = (size_t)(H + 2 * KV) * D, TT = (size_t)T * T;
    for (int b = 0; b < B; b++)
        for (int g = 0; g < group; g++) {
            const bf16 *q = qkv + (size_t)b * T * stride + (size_t)g * D,
                       *k = qkv + (size_t)b * T * stride + (size_t)H * D;
            gemm_batched(0, 1, T, T, D, scale, q, (int)stride, (long long)group * D, k, (int)stride, D, 0.0f,
                         S + ((size_t)b * H + g) * TT, CUDA_R_32F, T, (long long)group * TT, KV);
        }
}

// one block per score row r = (b*H + h)*T + t: P = softmax over keys 0..t (0 after t), lse
__global__ void naive_softmax_kernel(bf16 *P, float *lse, const float *S, int T) {
    __shared__ float red[32];
    const size_t r = blockIdx.x;
    const int t = (int)(r % T);
    const float *s = S + r * T;
    float m = -INFINITY;
    for (int j = threadIdx.x; j <= t; j += blockDim.x) m = fmaxf(m, s[j]);
    m = block_max(m, red);
    float sum = 0.0f;
    for (int j = threadIdx.x; j <= t; j += blockDim.x) sum += expf(s[j] - m);
    sum = block_sum(sum, red);
    const float inv = 1.0f / sum;
    for (int j = threadIdx.x; j < T; j += blockDim.x)
        P[r * T + j] = __float2bfloat16(j <= t ? expf(s[j] - m) * inv : 0.0f);
    if (threadIdx.x == 0) lse[r] = m + logf(sum);
}

// P = exp(S - lse) on keys 0..t, 0 after
__global__ void naive_probs_kernel(bf16 *P, const float *S, const float *lse, int T) {
    const size_t r = blockIdx.x;
    const int t = (int)(r % T);
    const float l = lse[r];
    for (int j = threadIdx.x; j < T; j += blockDim.x)
        P[r * T + j] = __float2bfloat16(j <= t ? expf(S[r * T + j] - l) : 0.0f);
}

// dS = scale * P * (dP - sum_d dO*O) in place of P; dP is in S. Row r = (b*H + h)*T + t.
__global__ void naive_dscores_kernel(bf16 *P, const float *dP, const bf16 *dout, const bf16 *out, int T, int H, int D,
                                     float scale) {
    __shared__ float red[32];
    const size_t r = blockIdx.x;
    const int t = (int)(r % T), h = (int)((r / T) % H), b = (int)(r / ((size_t)T * H));
    const size_t o_off = ((size_t)b * T + t) * H * D + (size_t)h * D;
    float dsum = 0.0f;
    for (int d = threadIdx.x; d < D; d += blockDim.x) dsum += ld(dout + o_off + d) * ld(out + o_off + d);
    dsum = block_sum(dsum, red);
    for (int j = threadIdx.x; j < T; j += blockDim.x) {
        const float p = __bfloat162float(P[r * T + j]);
        P[r * T + j] = __float2bfloat16(scale * p * (dP[r * T + j] - dsum));
    }
}

static void check_naive(int B, int T, int H, int KV, int D) {
    CHECK(B > 0 && T > 0 && D > 0 && KV > 0 && H % KV == 0, "naive attention: bad shape B=%d T=%d H=%d KV=%d D=%d", B,
          T, H, KV, D);
}

void cuda_attention_naive_forward(void *out, float *lse, const void *qkv, int B, int T, int H, int KV, int D) {
    check_naive(B, T, H, KV, D);
    float *S;
    bf16 *P;
    naive_buffers(B, T, H, &S, &P);
    const bf16 *x = (const bf16 *)qkv;
    scores(S, x, B, T, H, KV, D, 1.0f / sqrtf((float)D));
    naive_softmax_kernel<<<(unsigned int)((size_t)B * H * T), 256, 0, g_cuda.stream>>>(P, lse, S, T);
    CUDA_CHECK_LAUNCH();
    const int group = H / KV;
    const size_t stride = (size_t)(H + 2 * KV) * D, TT = (size_t)T * T;
    for (int b = 0; b < B; b++)
        for (int g = 0; g < group; g++) {
            const bf16 *v = x + (size_t)b * T * stride + (size_t)(H + KV) * D;
            bf16 *o = (bf16 *)out + (size_t)b * T * H * D + (size_t)g * D;
            gemm_batched(0, 0, T, D, T, 1.0f, P + ((size_t)b * H + g) * TT, T, (long long)group * TT, v, (int)stride, D,
                         0.0f, o, CUDA_R_16BF, H * D, (long long)group * D, KV);
        }
}

void cuda_attention_naive_backward(void *dqkv, const void *dout, const void *out, const float *lse, const void *qkv,
                                   int B, int T, int H, int KV, int D) {
    check_naive(B, T, H, KV, D);
    float *S;
    bf16 *P;
    naive_buffers(B, T, H, &S, &P);
    const bf16 *x = (const bf16 *)qkv, *dO = (const bf16 *)dout;
    bf16 *dx = (bf16 *)dqkv;
    const float scale = 1.0f / sqrtf((float)D);
    const int group = H / KV;
    const size_t stride = (size_t)(H + 2 * KV) * D, TT = (size_t)T * T;
    const unsigned int rows = (unsigned int)((size_t)B * H * T);

    scores(S, x, B, T, H, KV, D, scale);
    naive_probs_kernel<<<rows, 256, 0, g_cuda.stream>>>(P, S, lse, T);
    CUDA_CHECK_LAUNCH();
    for (int b = 0; b < B; b++)
        for (int g = 0; g < group; g++) {
            const bf16 *Ph = P + ((size_t)b * H + g) * TT, *dOh = dO + (size_t)b * T * H * D + (size_t)g * D;
            const bf16 *v = x + (size_t)b * T * stride + (size_t)(H + KV) * D;
            // dV_kvh (+)= P_h^T dO_h
            gemm_batched(1, 0, T, D, T, 1.0f, Ph, T, (long long)group * TT, dOh, H * D, (long long)group * D,
                         g ? 1.0f : 0.0f, dx + (size_t)b * T * stride + (size_t)(H + KV) * D, CUDA_R_16BF, (int)stride,
                         D, KV);
            // dP_h = dO_h V_kvh^T (fp32, into S)
            gemm_batched(0, 1, T, T, D, 1.0f, dOh, H * D, (long long)group * D, v, (int)stride, D, 0.0f,
                         S + ((size_t)b * H + g) * TT, CUDA_R_32F, T, (long long)group * TT, KV);
        }
    naive_dscores_kernel<<<rows, 256, 0, g_cuda.stream>>>(P, S, dO, (const bf16 *)out, T, H, D, scale);
    CUDA_CHECK_LAUNCH();
    for (int b = 0; b < B; b++)
        for (int g = 0; g < group; g++) {
            const bf16 *dSh = P + ((size_t)b * H + g) * TT;
            const bf16 *q = x + (size_t)b * T * stride + (size_t)g * D, *k = x + (size_t)b * T * stride + (size_t)H * D;
            // dQ_h = dS_h K_kvh
            gemm_batched(0, 0, T, D, T, 1.0f, dSh, T, (long long)group * TT, k, (int)stride, D, 0.0f,
                         dx + (size_t)b * T * stride + (size_t)g * D, CUDA_R_16BF, (int)stride, (long long)group * D,
                         KV);
            // dK_kvh (+)= dS_h^T Q_h
            gemm_batched(1, 0, T, D, T, 1.0f, dSh, T, (long long)group * TT, q, (int)stride, (long long)group * D,
                         g ? 1.0f : 0.0f, dx + (size_t)b * T * stride + (size_t)H * D, CUDA_R_16BF, (int)stride, D, KV);
        }
}
