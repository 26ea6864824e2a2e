// cuda_decode.cu: the KV-cache ops for generation: RoPE at explicit positions, storing
// k/v rows into the caches, and one-query-per-sequence attention over a cache.
// First versions: simple and correct; a split-K flash-decoding kernel is the next step.
#include "cuda_common.cuh"

__global__ void rope_at_kernel(bf16 *qkv, const float *cos_t, const float *sin_t, const int *pos, int N, int H, int KV,
                               int D) {
    int half = D / 2, heads = H + KV;
    size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (idx >= (size_t)N * heads * half) return;
    int j = (int)(idx % half);
    int h = (int)((idx / half) % heads);
    int i = (int)(idx / ((size_t)half * heads));
    bf16 *v = qkv + (size_t)i * (H + 2 * KV) * D + (size_t)h * D;
    float c = cos_t[(size_t)pos[i] * half + j], s = sin_t[(size_t)pos[i] * half + j];
    float x1 = ld(v + j), x2 = ld(v + j + half);
    v[j] = __float2bfloat16(x1 * c - x2 * s);
    v[j + half] = __float2bfloat16(x2 * c + x1 * s);
}

void cuda_rope_forward_at(void *qkv, const float *cos_t, const float *sin_t, const int *pos, int N, int H, int KV,
                          int D) {
    size_t total = (size_t)N * (H + KV) * (D / 2);
    if (total == 0) return;
    rope_at_kernel<<<cdiv(total, 256), 256, 0, g_cuda.stream>>>((bf16 *)qkv, cos_t, sin_t, pos, N, H, KV, D);
    CUDA_CHECK_LAUNCH();
}

__global__ void kv_store_kernel(bf16 *kc, bf16 *vc, const bf16 *qkv, const int *seq, const int *pos, int N, int S,
                                int H, int KV, int D) {
    size_t kvd = (size_t)KV * D, idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (idx >= (size_t)N * kvd) return;
    size_t i = idx / kvd, c = idx % kvd;
    size_t at = ((size_t)seq[i] * S + (size_t)pos[i]) * kvd + c;
    const bf16 *row = qkv + i * (size_t)(H + 2 * KV) * D;
    kc[at] = row[(size_t)H * D + c];
    vc[at] = row[(size_t)(H + KV) * D + c];
}

void cuda_kv_store(void *k_cache, void *v_cache, const void *qkv, const int *seq, const int *pos, int N, int S, int H,
                   int KV, int D) {
    size_t total = (size_t)N * KV * D;
    if (total == 0) return;
    kv_store_kernel<<<cdiv(total, 256), 256, 0, g_cuda.stream>>>((bf16 *)k_cache, (bf16 *)v_cache, (const bf16 *)qkv,
                                                                 seq, pos, N, S, H, KV, D);
    CUDA_CHECK_LAUNCH();
}

// One block per (sequence, query head); the scores of the whole cache row live in shared
// memory (S floats), fp32 softmax, fp32 accumulation of P @ V.
__global__ void attention_decode_kernel(bf16 *out, const bf16 *qkv, const bf16 *kc, const bf16 *vc, const int *len,
                                        int S, int H, int KV, int D) {
    extern __shared__ float scores[]; // [S] then 32 floats for reductions
    float *red = scores + S;
    int b = blockIdx.x / H, h = blockIdx.x % H, kh = h / (H / KV), n = len[b];
    size_t kvd = (size_t)KV * D;
    const bf16 *q = qkv + (size_t)b * (H + 2 * KV) * D + (size_t)h * D;
    const bf16 *k = kc + (size_t)b * S * kvd + (size_t)kh * D, *v = vc + (size_t)b * S * kvd + (size_t)kh * D;
    float scale = rsqrtf((float)D), mx = -INFINITY;
    for (int s = threadIdx.x; s < n; s += blockDim.x) {
        float dot = 0;
        for (int d = 0; d < D; d++) dot += ld(q + d) * ld(k + (size_t)s * kvd + d);
        scores[s] = dot * scale;
        mx = fmaxf(mx, scores[s]);
    }
    mx = block_max(mx, red);
    float sum = 0;
    for (int s = threadIdx.x; s < n; s += blockDim.x) {
        scores[s] = __expf(scores[s] - mx);
        sum += scores[s];
    }
    sum = block_sum(sum, red); // also orders the score writes before the reads below
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
        float acc = 0;
        for (int s = 0; s < n; s++) acc += scores[s] * ld(v + (size_t)s * kvd + d);
        out[(size_t)b * H * D + (size_t)h * D + d] = __float2bfloat16(acc / sum);
    }
}

void cuda_attention_decode(void *out, const void *qkv, const void *k_cache, const void *v_cache, const int *len, int B,
                           int S, int H, int KV, int D) {
    if (B == 0) return;
    size_t smem = ((size_t)S + 32) * sizeof(float);
    CHECK(smem <= 48 * 1024, "attention_decode: cache capacity %d needs %zu bytes of shared memory (at most 48 KiB)", S,
          smem);
    attention_decode_kernel<<<(unsigned)(B * H), 128, smem, g_cuda.stream>>>(
        (bf16 *)out, (const bf16 *)qkv, (const bf16 *)k_cache, (const bf16 *)v_cache, len, S, H, KV, D);
    CUDA_CHECK_LAUNCH();
}
