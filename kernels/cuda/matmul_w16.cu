// matmul_w16.cu: out = inp @ weight^T with 16-bit weights given as raw fp16 or bf16 bits
// (matmul_forward_w16, generation's --weights f16 | bf16). The CUDA backend already keeps
// bf16 weights, so this exists for the op table's contract: a first, simple version, one
// warp per output element, weights widened to fp32, fp32 sums, bf16 output. Decode rows
// are few, so the loads of each warp (one weight row, contiguous) stay coalesced.
#include <cuda_fp16.h>

#include "../backend.h"
#include "cuda_common.cuh"

__device__ __forceinline__ float w16_to_float(unsigned short h, int bf16) {
    return bf16 ? __uint_as_float((unsigned int)h << 16) : __half2float(__ushort_as_half(h));
}

__global__ void matmul_w16_kernel(bf16 *out, const bf16 *inp, const unsigned short *w, int bf16w, int N, int C,
                                  int OC) {
    size_t warp = (blockIdx.x * (size_t)blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x % 32;
    if (warp >= (size_t)N * OC) return;
    int n = (int)(warp / OC), o = (int)(warp % OC);
    const bf16 *x = inp + (size_t)n * C;
    const unsigned short *wr = w + (size_t)o * C;
    float acc = 0;
    for (int c = lane; c < C; c += 32) acc += w16_to_float(wr[c], bf16w) * __bfloat162float(x[c]);
    for (int off = 16; off > 0; off /= 2) acc += __shfl_down_sync(0xffffffffu, acc, off);
    if (lane == 0) out[(size_t)n * OC + o] = __float2bfloat16(acc);
}

void cuda_matmul_forward_w16(void *out, const void *inp, const uint16_t *weight, int wtype, int N, int C, int OC) {
    CHECK(wtype == WEIGHTS_F16 || wtype == WEIGHTS_BF16, "matmul_forward_w16: weight type %d is not 16-bit", wtype);
    size_t threads = (size_t)N * OC * 32;
    if (threads == 0) return;
    matmul_w16_kernel<<<cdiv(threads, 256), 256, 0, g_cuda.stream>>>(
        (bf16 *)out, (const bf16 *)inp, (const unsigned short *)weight, wtype == WEIGHTS_BF16, N, C, OC);
    CUDA_CHECK_LAUNCH();
}
