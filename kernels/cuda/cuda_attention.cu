// cuda_attention.cu: causal grouped-query attention, forward and backward, in the tiled
// FlashAttention-2 style: scores are never materialised in global memory; the forward
// keeps an online softmax (running max m, running sum l) and saves lse = m + log(l); the
// backward recomputes P = exp(S - lse) tile by tile.
//
// This first version uses plain fp32 FMAs from shared memory (no tensor cores); it is
// written to be read. A tensor-core version is the next step. The mapping, shared by the
// three kernels:
//   - a block has ATT_WARPS warps; a warp owns ATT_ROWS rows (query rows in the forward
//     and dQ kernels, key rows in the dK/dV kernel) and keeps their accumulators in
//     registers: lane l holds elements d = l, l + 32, ... of each row (D <= 128, so at
//     most 4 per lane);
//   - the other side (keys, or queries for dK/dV) is streamed through shared memory in
//     tiles of 32, one per lane, so a score row of the tile is one value per lane; row
//     max / sum are warp shuffles, and P @ V style products broadcast p_j with a shuffle.
//   - shared-memory rows read "one row per lane" are padded to D + 1 floats, so the 32
//     lanes hit 32 different banks.
// Templates: <DMAX, EXACT>: EXACT kernels have D == DMAX known at compile time (64, 128);
// the generic <128, false> kernel takes any even D <= 128 at run time (slower).
//
// The backward needs no atomics: one kernel computes dQ (a block per query tile, looping
// over key tiles), another computes dK and dV (a block per key tile of one kv head,
// looping over the query heads of its group and the query tiles at or after it). Both
// recompute P; D_i = rowsum(dO_i * O_i) is precomputed by a third, small kernel.
#include "cuda_common.cuh"

#include <math.h>

#define ATT_WARPS   4
#define ATT_ROWS    4                      // rows per warp
#define ATT_BR      (ATT_WARPS * ATT_ROWS) // rows owned by a block: 16
#define ATT_BC      32                     // streamed tile: one row per lane
#define ATT_THREADS (ATT_WARPS * 32)

// dot product of two shared-memory rows of length D
template <int DMAX, bool EXACT> __device__ __forceinline__ float row_dot(const float *a, const float *b, int D) {
    float s = 0.0f;
    if (EXACT) {
#pragma unroll 16
        for (int d = 0; d < DMAX; d++) s += a[d] * b[d];
    } else {
        for (int d = 0; d < D; d++) s += a[d] * b[d];
    }
    return s;
}

// Load rows [r0, r0 + rows) of one head of a (B*T, stride) bf16 matrix into shared memory
// as fp32 with row pitch `pitch`; rows at or beyond T are zero.
__device__ __forceinline__ void load_rows(float *dst, int pitch, const bf16 *src, size_t stride, int r0, int rows,
                                          int T, int D) {
    for (int idx = threadIdx.x; idx < rows * D; idx += blockDim.x) {
        int r = idx / D, d = idx % D, t = r0 + r;
        dst[r * pitch + d] = t < T ? ld(src + (size_t)t * stride + d) : 0.0f;
    }
}

// ---------------------------------------------------------------------------------------
// forward: grid (query tiles of ATT_BR, B*H)

template <int DMAX, bool EXACT>
__global__ void __launch_bounds__(ATT_THREADS)
    attention_forward_kernel(bf16 *out, float *lse, const bf16 *qkv, int T, int H, int KV, int D_rt) {
    constexpr int DL = DMAX / 32;
    const int D = EXACT ? DMAX : D_rt;
    extern __shared__ float smem[];
    float *Qs = smem;                  // [ATT_BR][D]
    float *Ks = Qs + ATT_BR * D;       // [ATT_BC][D + 1]
    float *Vs = Ks + ATT_BC * (D + 1); // [ATT_BC][D]

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int q0 = blockIdx.x * ATT_BR;
    const int b = blockIdx.y / H, h = blockIdx.y % H, kvh = h / (H / KV);
    const size_t stride = (size_t)(H + 2 * KV) * D;
    const bf16 *q_base = qkv + (size_t)b * T * stride + (size_t)h * D;
    const bf16 *k_base = qkv + (size_t)b * T * stride + (size_t)(H + kvh) * D;
    const bf16 *v_base = qkv + (size_t)b * T * stride + (size_t)(H + KV + kvh) * D;
    const float scale = 1.0f / sqrtf((float)D);

    load_rows(Qs, D, q_base, stride, q0, ATT_BR, T, D);

    float o[ATT_ROWS][DL], m[ATT_ROWS], l[ATT_ROWS];
#pragma unroll
    for (int rr = 0; rr < ATT_ROWS; rr++) {
        m[rr] = -INFINITY;
        l[rr] = 0.0f;
#pragma unroll
        for (int k = 0; k < DL; k++) o[rr][k] = 0.0f;
    }

    const int q_last = min(q0 + ATT_BR, T) - 1; // causal: no key after the block's last query
    for (int k0 = 0; k0 <= q_last; k0 += ATT_BC) {
        __syncthreads(); // everyone is done with the previous K/V tile (and Qs is loaded)
        load_rows(Ks, D + 1, k_base, stride, k0, ATT_BC, T, D);
        load_rows(Vs, D, v_base, stride, k0, ATT_BC, T, D);
        __syncthreads();
#pragma unroll
        for (int rr = 0; rr < ATT_ROWS; rr++) {
            const int r = warp * ATT_ROWS + rr, t = q0 + r;
            if (t >= T || k0 > t) continue; // warp-uniform: this row sees no key of the tile
            const int j = k0 + lane;        // this lane's key
            float s = -INFINITY;
            if (j <= t) s = row_dot<DMAX, EXACT>(Qs + r * D, Ks + lane * (D + 1), D) * scale;
            const float m_new = fmaxf(m[rr], warp_max(s)); // finite: key k0 <= t is valid
            const float p = j <= t ? expf(s - m_new) : 0.0f;
            const float alpha = expf(m[rr] - m_new); // 0 on the first tile (m = -inf)
            l[rr] = l[rr] * alpha + warp_sum(p);
            m[rr] = m_new;
#pragma unroll
            for (int k = 0; k < DL; k++) o[rr][k] *= alpha;
            const int valid = min(ATT_BC, t - k0 + 1); // keys k0 .. t of this tile
            for (int jj = 0; jj < valid; jj++) {
                const float pj = __shfl_sync(0xffffffffu, p, jj);
#pragma unroll
                for (int k = 0; k < DL; k++) {
                    const int d = lane + 32 * k;
                    if (EXACT || d < D) o[rr][k] += pj * Vs[jj * D + d];
                }
            }
        }
    }

#pragma unroll
    for (int rr = 0; rr < ATT_ROWS; rr++) {
        const int t = q0 + warp * ATT_ROWS + rr;
        if (t >= T) continue;
        const float inv = 1.0f / l[rr];
        bf16 *o_row = out + ((size_t)b * T + t) * H * D + (size_t)h * D;
#pragma unroll
        for (int k = 0; k < DL; k++) {
            const int d = lane + 32 * k;
            if (EXACT || d < D) o_row[d] = __float2bfloat16(o[rr][k] * inv);
        }
        if (lane == 0) lse[((size_t)b * H + h) * T + t] = m[rr] + logf(l[rr]);
    }
}

// ---------------------------------------------------------------------------------------
// backward, step 1: Dsum[b,h,t] = sum_d dO[b,t,h,d] * O[b,t,h,d]; one warp per (b,t,h)

__global__ void attention_dsum_kernel(float *dsum, const bf16 *dout, const bf16 *out, int B, int T, int H, int D) {
    const size_t row = blockIdx.x * (size_t)(blockDim.x / 32) + threadIdx.x / 32; // = (b*T + t)*H + h
    const int lane = threadIdx.x % 32;
    if (row >= (size_t)B * T * H) return;
    const bf16 *o = out + row * D, *dO = dout + row * D;
    float s = 0.0f;
    for (int d = lane; d < D; d += 32) s += ld(dO + d) * ld(o + d);
    s = warp_sum(s);
    const int h = (int)(row % H), t = (int)((row / H) % T), b = (int)(row / ((size_t)H * T));
    if (lane == 0) dsum[((size_t)b * H + h) * T + t] = s;
}

// ---------------------------------------------------------------------------------------
// backward, step 2: dQ. grid (query tiles of ATT_BR, B*H), like the forward.
//   S = Q K^T * scale,  P = exp(S - lse),  dP = dO V^T,  dS = P * (dP - Dsum),
//   dQ = dS K * scale

template <int DMAX, bool EXACT>
__global__ void __launch_bounds__(ATT_THREADS)
    attention_dq_kernel(bf16 *dqkv, const bf16 *dout, const float *lse, const float *dsum, const bf16 *qkv, int T,
                        int H, int KV, int D_rt) {
    constexpr int DL = DMAX / 32;
    const int D = EXACT ? DMAX : D_rt;
    extern __shared__ float smem[];
    float *Qs = smem;                  // [ATT_BR][D]
    float *dOs = Qs + ATT_BR * D;      // [ATT_BR][D]
    float *Ks = dOs + ATT_BR * D;      // [ATT_BC][D + 1]
    float *Vs = Ks + ATT_BC * (D + 1); // [ATT_BC][D + 1]

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int q0 = blockIdx.x * ATT_BR;
    const int b = blockIdx.y / H, h = blockIdx.y % H, kvh = h / (H / KV);
    const size_t stride = (size_t)(H + 2 * KV) * D;
    const bf16 *q_base = qkv + (size_t)b * T * stride + (size_t)h * D;
    const bf16 *k_base = qkv + (size_t)b * T * stride + (size_t)(H + kvh) * D;
    const bf16 *v_base = qkv + (size_t)b * T * stride + (size_t)(H + KV + kvh) * D;
    const bf16 *do_base = dout + (size_t)b * T * H * D + (size_t)h * D;
    const float scale = 1.0f / sqrtf((float)D);

    load_rows(Qs, D, q_base, stride, q0, ATT_BR, T, D);
    load_rows(dOs, D, do_base, (size_t)H * D, q0, ATT_BR, T, D);

    float dq[ATT_ROWS][DL], row_lse[ATT_ROWS], row_dsum[ATT_ROWS];
#pragma unroll
    for (int rr = 0; rr < ATT_ROWS; rr++) {
        const int t = q0 + warp * ATT_ROWS + rr;
        row_lse[rr] = t < T ? lse[((size_t)b * H + h) * T + t] : 0.0f;
        row_dsum[rr] = t < T ? dsum[((size_t)b * H + h) * T + t] : 0.0f;
#pragma unroll
        for (int k = 0; k < DL; k++) dq[rr][k] = 0.0f;
    }

    const int q_last = min(q0 + ATT_BR, T) - 1;
    for (int k0 = 0; k0 <= q_last; k0 += ATT_BC) {
        __syncthreads();
        load_rows(Ks, D + 1, k_base, stride, k0, ATT_BC, T, D);
        load_rows(Vs, D + 1, v_base, stride, k0, ATT_BC, T, D);
        __syncthreads();
#pragma unroll
        for (int rr = 0; rr < ATT_ROWS; rr++) {
            const int r = warp * ATT_ROWS + rr, t = q0 + r;
            if (t >= T || k0 > t) continue;
            const int j = k0 + lane;
            float ds = 0.0f;
            if (j <= t) {
                const float s = row_dot<DMAX, EXACT>(Qs + r * D, Ks + lane * (D + 1), D) * scale;
                const float p = expf(s - row_lse[rr]);
                const float dp = row_dot<DMAX, EXACT>(dOs + r * D, Vs + lane * (D + 1), D);
                ds = p * (dp - row_dsum[rr]);
            }
            const int valid = min(ATT_BC, t - k0 + 1);
            for (int jj = 0; jj < valid; jj++) {
                const float dsj = __shfl_sync(0xffffffffu, ds, jj);
#pragma unroll
                for (int k = 0; k < DL; k++) {
                    const int d = lane + 32 * k;
                    if (EXACT || d < D) dq[rr][k] += dsj * Ks[jj * (D + 1) + d];
                }
            }
        }
    }

#pragma unroll
    for (int rr = 0; rr < ATT_ROWS; rr++) {
        const int t = q0 + warp * ATT_ROWS + rr;
        if (t >= T) continue;
        bf16 *dq_row = dqkv + ((size_t)b * T + t) * stride + (size_t)h * D;
#pragma unroll
        for (int k = 0; k < DL; k++) {
            const int d = lane + 32 * k;
            if (EXACT || d < D) dq_row[d] = __float2bfloat16(dq[rr][k] * scale);
        }
    }
}

// ---------------------------------------------------------------------------------------
// backward, step 3: dK and dV. grid (key tiles of ATT_BR, B*KV). A warp owns ATT_ROWS key
// rows; query tiles of 32 (one query per lane) of every query head of the group stream by:
//   dV_j = sum_i P_ij dO_i,   dK_j = scale * sum_i dS_ij Q_i

template <int DMAX, bool EXACT>
__global__ void __launch_bounds__(ATT_THREADS)
    attention_dkv_kernel(bf16 *dqkv, const bf16 *dout, const float *lse, const float *dsum, const bf16 *qkv, int T,
                         int H, int KV, int D_rt) {
    constexpr int DL = DMAX / 32;
    const int D = EXACT ? DMAX : D_rt;
    extern __shared__ float smem[];
    float *Ks = smem;                      // [ATT_BR][D]
    float *Vs = Ks + ATT_BR * D;           // [ATT_BR][D]
    float *Qs = Vs + ATT_BR * D;           // [ATT_BC][D + 1]
    float *dOs = Qs + ATT_BC * (D + 1);    // [ATT_BC][D + 1]
    float *lse_s = dOs + ATT_BC * (D + 1); // [ATT_BC]
    float *dsum_s = lse_s + ATT_BC;        // [ATT_BC]

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int j0 = blockIdx.x * ATT_BR; // first key row of the block
    const int b = blockIdx.y / KV, kvh = blockIdx.y % KV, group = H / KV;
    const size_t stride = (size_t)(H + 2 * KV) * D;
    const bf16 *k_base = qkv + (size_t)b * T * stride + (size_t)(H + kvh) * D;
    const bf16 *v_base = qkv + (size_t)b * T * stride + (size_t)(H + KV + kvh) * D;
    const float scale = 1.0f / sqrtf((float)D);

    load_rows(Ks, D, k_base, stride, j0, ATT_BR, T, D);
    load_rows(Vs, D, v_base, stride, j0, ATT_BR, T, D);

    float dk[ATT_ROWS][DL], dv[ATT_ROWS][DL];
#pragma unroll
    for (int rr = 0; rr < ATT_ROWS; rr++)
#pragma unroll
        for (int k = 0; k < DL; k++) dk[rr][k] = dv[rr][k] = 0.0f;

    for (int h = kvh * group; h < (kvh + 1) * group; h++) {
        const bf16 *q_base = qkv + (size_t)b * T * stride + (size_t)h * D;
        const bf16 *do_base = dout + (size_t)b * T * H * D + (size_t)h * D;
        const float *lse_h = lse + ((size_t)b * H + h) * T, *dsum_h = dsum + ((size_t)b * H + h) * T;
        // causal: queries before the block's first key see none of its keys
        for (int i0 = (j0 / ATT_BC) * ATT_BC; i0 < T; i0 += ATT_BC) {
            __syncthreads(); // done with the previous query tile (and Ks/Vs are loaded)
            load_rows(Qs, D + 1, q_base, stride, i0, ATT_BC, T, D);
            load_rows(dOs, D + 1, do_base, (size_t)H * D, i0, ATT_BC, T, D);
            if (threadIdx.x < ATT_BC) {
                const int i = i0 + threadIdx.x;
                lse_s[threadIdx.x] = i < T ? lse_h[i] : 0.0f;
                dsum_s[threadIdx.x] = i < T ? dsum_h[i] : 0.0f;
            }
            __syncthreads();
#pragma unroll
            for (int rr = 0; rr < ATT_ROWS; rr++) {
                const int r = warp * ATT_ROWS + rr, j = j0 + r;
                if (j >= T || i0 + ATT_BC - 1 < j) continue; // warp-uniform: no query of the tile sees key j
                const int i = i0 + lane;                     // this lane's query
                float p = 0.0f, ds = 0.0f;
                if (i < T && i >= j) {
                    const float s = row_dot<DMAX, EXACT>(Qs + lane * (D + 1), Ks + r * D, D) * scale;
                    p = expf(s - lse_s[lane]);
                    const float dp = row_dot<DMAX, EXACT>(dOs + lane * (D + 1), Vs + r * D, D);
                    ds = p * (dp - dsum_s[lane]);
                }
                const int first = max(0, j - i0); // queries before j contribute nothing
                for (int ii = first; ii < ATT_BC; ii++) {
                    const float pi = __shfl_sync(0xffffffffu, p, ii);
                    const float dsi = __shfl_sync(0xffffffffu, ds, ii);
#pragma unroll
                    for (int k = 0; k < DL; k++) {
                        const int d = lane + 32 * k;
                        if (EXACT || d < D) {
                            dv[rr][k] += pi * dOs[ii * (D + 1) + d];
                            dk[rr][k] += dsi * Qs[ii * (D + 1) + d];
                        }
                    }
                }
            }
        }
    }

#pragma unroll
    for (int rr = 0; rr < ATT_ROWS; rr++) {
        const int j = j0 + warp * ATT_ROWS + rr;
        if (j >= T) continue;
        bf16 *dk_row = dqkv + ((size_t)b * T + j) * stride + (size_t)(H + kvh) * D;
        bf16 *dv_row = dqkv + ((size_t)b * T + j) * stride + (size_t)(H + KV + kvh) * D;
#pragma unroll
        for (int k = 0; k < DL; k++) {
            const int d = lane + 32 * k;
            if (EXACT || d < D) {
                dk_row[d] = __float2bfloat16(dk[rr][k] * scale);
                dv_row[d] = __float2bfloat16(dv[rr][k]);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// host side

static void check_shape(const char *op, int H, int KV, int D) {
    CHECK(D > 0 && D <= 128 && D % 2 == 0, "%s: head dim %d is not supported by the CUDA backend (even, <= 128)", op,
          D);
    CHECK(KV > 0 && H % KV == 0, "%s: %d query heads are not a multiple of %d key/value heads", op, H, KV);
}

// Launch kernel<DMAX, EXACT> with `smem` bytes of dynamic shared memory (over 48 KiB needs
// an opt-in per kernel).
template <typename Kernel, typename... Args> static void launch(Kernel kernel, dim3 grid, size_t smem, Args... args) {
    if (smem > 48 * 1024)
        CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    kernel<<<grid, ATT_THREADS, smem, g_cuda.stream>>>(args...);
    CUDA_CHECK_LAUNCH();
}

void cuda_attention_forward(void *out, float *lse, const void *qkv, int B, int T, int H, int KV, int D) {
    check_shape("attention_forward", H, KV, D);
    if (B == 0 || T == 0) return;
    dim3 grid(cdiv(T, ATT_BR), B * H);
    size_t smem = (size_t)(ATT_BR * D + ATT_BC * (D + 1) + ATT_BC * D) * sizeof(float);
    bf16 *o = (bf16 *)out;
    const bf16 *x = (const bf16 *)qkv;
    if (D == 64)
        launch(attention_forward_kernel<64, true>, grid, smem, o, lse, x, T, H, KV, D);
    else if (D == 128)
        launch(attention_forward_kernel<128, true>, grid, smem, o, lse, x, T, H, KV, D);
    else
        launch(attention_forward_kernel<128, false>, grid, smem, o, lse, x, T, H, KV, D);
}

void cuda_attention_backward(void *dqkv, const void *dout, const void *out, const float *lse, const void *qkv, int B,
                             int T, int H, int KV, int D) {
    check_shape("attention_backward", H, KV, D);
    if (B == 0 || T == 0) return;
    float *dsum = (float *)cuda_scratch(SCRATCH_ATTENTION, (size_t)B * H * T * sizeof(float));
    size_t rows = (size_t)B * T * H;
    attention_dsum_kernel<<<cdiv(rows, 8), 256, 0, g_cuda.stream>>>(dsum, (const bf16 *)dout, (const bf16 *)out, B, T,
                                                                    H, D);
    CUDA_CHECK_LAUNCH();

    bf16 *dx = (bf16 *)dqkv;
    const bf16 *dO = (const bf16 *)dout, *x = (const bf16 *)qkv;
    dim3 grid_q(cdiv(T, ATT_BR), B * H);
    size_t smem_q = (size_t)(2 * ATT_BR * D + 2 * ATT_BC * (D + 1)) * sizeof(float);
    if (D == 64)
        launch(attention_dq_kernel<64, true>, grid_q, smem_q, dx, dO, lse, (const float *)dsum, x, T, H, KV, D);
    else if (D == 128)
        launch(attention_dq_kernel<128, true>, grid_q, smem_q, dx, dO, lse, (const float *)dsum, x, T, H, KV, D);
    else
        launch(attention_dq_kernel<128, false>, grid_q, smem_q, dx, dO, lse, (const float *)dsum, x, T, H, KV, D);

    dim3 grid_kv(cdiv(T, ATT_BR), B * KV);
    size_t smem_kv = (size_t)(2 * ATT_BR * D + 2 * ATT_BC * (D + 1) + 2 * ATT_BC) * sizeof(float);
    if (D == 64)
        launch(attention_dkv_kernel<64, true>, grid_kv, smem_kv, dx, dO, lse, (const float *)dsum, x, T, H, KV, D);
    else if (D == 128)
        launch(attention_dkv_kernel<128, true>, grid_kv, smem_kv, dx, dO, lse, (const float *)dsum, x, T, H, KV, D);
    else
        launch(attention_dkv_kernel<128, false>, grid_kv, smem_kv, dx, dO, lse, (const float *)dsum, x, T, H, KV, D);
}
