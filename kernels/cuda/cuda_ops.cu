// cuda_ops.cu: the CUDA backend's ops other than matmul and attention: embedding, RMSNorm,
// residual, RoPE, SwiGLU, the fused classifier, sum of squares and AdamW.
// First version: correctness and readability first; one thread per element or one warp /
// block per row, scalar bf16 loads, fp32 arithmetic, fixed-order reductions.
#include "cuda_common.cuh"

#include <cub/device/device_radix_sort.cuh>
#include <math.h>

// ---------------------------------------------------------------------------------------
// embedding

__global__ void embedding_forward_kernel(bf16 *out, const int *tokens, const bf16 *wte, int C) {
    int i = blockIdx.x;
    const bf16 *src = wte + (size_t)tokens[i] * C;
    bf16 *dst = out + (size_t)i * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) dst[c] = src[c];
}

void cuda_embedding_forward(void *out, const int *tokens, const void *wte, int N, int C) {
    if (N == 0) return;
    embedding_forward_kernel<<<N, 256, 0, g_cuda.stream>>>((bf16 *)out, tokens, (const bf16 *)wte, C);
    CUDA_CHECK_LAUNCH();
}

__global__ void iota_kernel(int *rows, int N) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < N) rows[i] = i;
}

// After a stable sort of (token, row) by token, each run of equal tokens is one segment.
// The block at a segment's first position sums the segment's dout rows in row order
// (fp32) and adds the sum to the token's dwte row once; every other block exits.
__global__ void embedding_backward_kernel(bf16 *dwte, const bf16 *dout, const int *sorted_tokens,
                                          const int *sorted_rows, int N, int C) {
    int p = blockIdx.x;
    int token = sorted_tokens[p];
    if (p > 0 && sorted_tokens[p - 1] == token) return; // not the start of a segment
    int end = p + 1;
    while (end < N && sorted_tokens[end] == token) end++;
    bf16 *dst = dwte + (size_t)token * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float sum = 0.0f;
        for (int q = p; q < end; q++) sum += ld(dout + (size_t)sorted_rows[q] * C + c);
        dst[c] = __float2bfloat16(ld(dst + c) + sum);
    }
}

void cuda_embedding_backward(void *dwte, const void *dout, const int *tokens, int N, int C) {
    if (N == 0) return;
    // Deterministic without float atomics: cub's radix sort is stable, so each token's rows
    // stay in increasing order and every sum below has a fixed order.
    size_t temp_bytes = 0;
    CUDA_CHECK(cub::DeviceRadixSort::SortPairs(NULL, temp_bytes, (const int *)NULL, (int *)NULL, (const int *)NULL,
                                               (int *)NULL, N, 0, 32, g_cuda.stream));
    size_t arrays = 3 * (size_t)N * sizeof(int);
    size_t arrays_padded = (arrays + 255) & ~(size_t)255;
    char *base = (char *)cuda_scratch(SCRATCH_EMBEDDING, arrays_padded + temp_bytes);
    int *rows_in = (int *)base;
    int *sorted_tokens = rows_in + N;
    int *sorted_rows = sorted_tokens + N;
    void *temp = base + arrays_padded;
    iota_kernel<<<cdiv(N, 256), 256, 0, g_cuda.stream>>>(rows_in, N);
    CUDA_CHECK_LAUNCH();
    CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp, temp_bytes, tokens, sorted_tokens, rows_in, sorted_rows, N, 0, 32,
                                               g_cuda.stream));
    embedding_backward_kernel<<<N, 256, 0, g_cuda.stream>>>((bf16 *)dwte, (const bf16 *)dout, sorted_tokens,
                                                            sorted_rows, N, C);
    CUDA_CHECK_LAUNCH();
}

// ---------------------------------------------------------------------------------------
// RMSNorm: one warp per row for the forward; the backward uses one block per row group and
// per-block dweight partials reduced by a second kernel in block order.

__global__ void rmsnorm_forward_kernel(bf16 *out, float *rstd, const bf16 *inp, const bf16 *weight, int N, int C,
                                       float eps) {
    int lane = threadIdx.x % 32;
    int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    if (row >= N) return;
    const bf16 *x = inp + (size_t)row * C;
    bf16 *y = out + (size_t)row * C;
    float ss = 0.0f;
    for (int c = lane; c < C; c += 32) {
        float v = ld(x + c);
        ss += v * v;
    }
    ss = warp_sum(ss);
    float r = 1.0f / sqrtf(ss / C + eps);
    if (lane == 0) rstd[row] = r;
    for (int c = lane; c < C; c += 32) y[c] = __float2bfloat16(ld(x + c) * r * ld(weight + c));
}

void cuda_rmsnorm_forward(void *out, float *rstd, const void *inp, const void *weight, int N, int C, float eps) {
    if (N == 0) return;
    const int warps = 8;
    rmsnorm_forward_kernel<<<cdiv(N, warps), warps * 32, 0, g_cuda.stream>>>((bf16 *)out, rstd, (const bf16 *)inp,
                                                                             (const bf16 *)weight, N, C, eps);
    CUDA_CHECK_LAUNCH();
}

// y = x * r * w  =>  dx = r * (dy*w - x * r^2 * mean(dy*w*x)),  dw = sum_rows dy * x * r
// Block b handles rows b, b + gridDim.x, ... and owns partial[b, :] (fp32).
__global__ void rmsnorm_backward_kernel(bf16 *dinp, float *partial, const bf16 *dout, const bf16 *inp,
                                        const bf16 *weight, const float *rstd, int N, int C) {
    __shared__ float red[32];
    float *dw = partial + (size_t)blockIdx.x * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) dw[c] = 0.0f;
    for (int row = blockIdx.x; row < N; row += gridDim.x) {
        const bf16 *x = inp + (size_t)row * C, *dy = dout + (size_t)row * C;
        bf16 *dx = dinp + (size_t)row * C;
        float r = rstd[row];
        float dot = 0.0f;
        for (int c = threadIdx.x; c < C; c += blockDim.x) dot += ld(dy + c) * ld(weight + c) * ld(x + c);
        dot = block_sum(dot, red);
        float k = dot * r * r / C;
        for (int c = threadIdx.x; c < C; c += blockDim.x) {
            float xc = ld(x + c), dyc = ld(dy + c);
            dx[c] = __float2bfloat16(ld(dx + c) + r * (dyc * ld(weight + c) - xc * k));
            dw[c] += dyc * xc * r; // only this thread touches dw[c]
        }
    }
}

__global__ void reduce_partials_kernel(bf16 *dweight, const float *partial, int blocks, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float sum = 0.0f;
    for (int b = 0; b < blocks; b++) sum += partial[(size_t)b * C + c];
    dweight[c] = __float2bfloat16(ld(dweight + c) + sum);
}

void cuda_rmsnorm_backward(void *dinp, void *dweight, const void *dout, const void *inp, const void *weight,
                           const float *rstd, int N, int C) {
    if (N == 0) return;
    int blocks = N < 512 ? N : 512; // depends on N only: same reduction order on every run
    float *partial = (float *)cuda_scratch(SCRATCH_RMSNORM, (size_t)blocks * C * sizeof(float));
    rmsnorm_backward_kernel<<<blocks, 256, 0, g_cuda.stream>>>((bf16 *)dinp, partial, (const bf16 *)dout,
                                                               (const bf16 *)inp, (const bf16 *)weight, rstd, N, C);
    CUDA_CHECK_LAUNCH();
    reduce_partials_kernel<<<cdiv(C, 256), 256, 0, g_cuda.stream>>>((bf16 *)dweight, partial, blocks, C);
    CUDA_CHECK_LAUNCH();
}

// ---------------------------------------------------------------------------------------
// residual

__global__ void residual_kernel(bf16 *out, const bf16 *a, const bf16 *b, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        out[i] = __float2bfloat16(ld(a + i) + ld(b + i));
}

static unsigned int grid_for(size_t n) {
    size_t g = (n + 255) / 256, cap = (size_t)g_cuda.num_sms * 32;
    return (unsigned int)(g < cap ? (g ? g : 1) : cap);
}

void cuda_residual_forward(void *out, const void *a, const void *b, size_t n) {
    if (n == 0) return;
    residual_kernel<<<grid_for(n), 256, 0, g_cuda.stream>>>((bf16 *)out, (const bf16 *)a, (const bf16 *)b, n);
    CUDA_CHECK_LAUNCH();
}

// ---------------------------------------------------------------------------------------
// RoPE, rotate-half: one thread per (row, q-or-k head, pair j < D/2); sign = -1 rotates
// back (the backward is the transpose rotation).

__global__ void rope_kernel(bf16 *qkv, const float *cos_t, const float *sin_t, int N, int T, int H, int KV, int D,
                            float sign) {
    int half = D / 2, heads = H + KV; // q heads then k heads; v is not rotated
    size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    size_t total = (size_t)N * heads * half;
    if (idx >= total) return;
    int j = (int)(idx % half);
    int h = (int)((idx / half) % heads);
    int i = (int)(idx / ((size_t)half * heads));
    int t = i % T;
    bf16 *v = qkv + (size_t)i * (H + 2 * KV) * D + (size_t)h * D;
    float c = cos_t[(size_t)t * half + j], s = sign * sin_t[(size_t)t * half + j];
    float x1 = ld(v + j), x2 = ld(v + j + half);
    v[j] = __float2bfloat16(x1 * c - x2 * s);
    v[j + half] = __float2bfloat16(x2 * c + x1 * s);
}

static void rope(void *qkv, const float *cos_t, const float *sin_t, int B, int T, int H, int KV, int D, float sign) {
    CHECK(D % 2 == 0, "rope: head dim %d must be even", D);
    size_t total = (size_t)B * T * (H + KV) * (D / 2);
    if (total == 0) return;
    rope_kernel<<<cdiv(total, 256), 256, 0, g_cuda.stream>>>((bf16 *)qkv, cos_t, sin_t, B * T, T, H, KV, D, sign);
    CUDA_CHECK_LAUNCH();
}

void cuda_rope_forward(void *qkv, const float *cos_t, const float *sin_t, int B, int T, int H, int KV, int D) {
    rope(qkv, cos_t, sin_t, B, T, H, KV, D, 1.0f);
}

void cuda_rope_backward(void *dqkv, const float *cos_t, const float *sin_t, int B, int T, int H, int KV, int D) {
    rope(dqkv, cos_t, sin_t, B, T, H, KV, D, -1.0f);
}

// ---------------------------------------------------------------------------------------
// SwiGLU: out = silu(gate) * up, gate_up row = [gate (F) | up (F)]

__global__ void swiglu_forward_kernel(bf16 *out, const bf16 *gate_up, int N, int F) {
    size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (idx >= (size_t)N * F) return;
    size_t i = idx / F, j = idx % F;
    const bf16 *g = gate_up + i * 2 * F;
    float gv = ld(g + j), uv = ld(g + F + j);
    out[idx] = __float2bfloat16(gv / (1.0f + expf(-gv)) * uv);
}

__global__ void swiglu_backward_kernel(bf16 *dgate_up, const bf16 *dout, const bf16 *gate_up, int N, int F) {
    size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (idx >= (size_t)N * F) return;
    size_t i = idx / F, j = idx % F;
    const bf16 *g = gate_up + i * 2 * F;
    bf16 *dg = dgate_up + i * 2 * F;
    float gv = ld(g + j), uv = ld(g + F + j), dy = ld(dout + idx);
    float sig = 1.0f / (1.0f + expf(-gv));
    dg[j] = __float2bfloat16(dy * uv * sig * (1.0f + gv * (1.0f - sig)));
    dg[F + j] = __float2bfloat16(dy * gv * sig);
}

void cuda_swiglu_forward(void *out, const void *gate_up, int N, int F) {
    size_t n = (size_t)N * F;
    if (n == 0) return;
    swiglu_forward_kernel<<<cdiv(n, 256), 256, 0, g_cuda.stream>>>((bf16 *)out, (const bf16 *)gate_up, N, F);
    CUDA_CHECK_LAUNCH();
}

void cuda_swiglu_backward(void *dgate_up, const void *dout, const void *gate_up, int N, int F) {
    size_t n = (size_t)N * F;
    if (n == 0) return;
    swiglu_backward_kernel<<<cdiv(n, 256), 256, 0, g_cuda.stream>>>((bf16 *)dgate_up, (const bf16 *)dout,
                                                                    (const bf16 *)gate_up, N, F);
    CUDA_CHECK_LAUNCH();
}

// ---------------------------------------------------------------------------------------
// classifier: per chunk of rows, logits (bf16, in scratch) = inp @ weight^T; then one block
// per row computes the loss in fp32 and, for the backward, overwrites the logits with
// dlogits = (softmax - onehot(target)) * dlosses[row]; then two matmuls.

__global__ void cross_entropy_kernel(float *losses, bf16 *logits, const int *targets, const float *dlosses, int V) {
    __shared__ float red[32];
    int r = blockIdx.x;
    bf16 *z = logits + (size_t)r * V;
    int target = targets[r];
    if (target < 0 || target >= V) {
        // ignored row (target < 0): no loss, no gradient. target >= V is a caller bug
        // (targets are checked on the host): the loss becomes NaN so it cannot go unseen.
        if (threadIdx.x == 0) losses[r] = target < 0 ? 0.0f : NAN;
        if (dlosses)
            for (int v = threadIdx.x; v < V; v += blockDim.x) z[v] = __float2bfloat16(0.0f);
        return;
    }
    float z_target = ld(z + target); // read before any thread overwrites the row
    float mx = -INFINITY;
    for (int v = threadIdx.x; v < V; v += blockDim.x) mx = fmaxf(mx, ld(z + v));
    mx = block_max(mx, red);
    float sum = 0.0f;
    for (int v = threadIdx.x; v < V; v += blockDim.x) sum += expf(ld(z + v) - mx);
    sum = block_sum(sum, red); // ends with every thread past its reads of z
    float lse = mx + logf(sum);
    if (threadIdx.x == 0) losses[r] = lse - z_target;
    if (dlosses) {
        float g = dlosses[r];
        for (int v = threadIdx.x; v < V; v += blockDim.x) {
            float p = expf(ld(z + v) - lse);
            z[v] = __float2bfloat16((p - (v == target ? 1.0f : 0.0f)) * g);
        }
    }
}

void cuda_classifier(float *losses, void *dinp, void *dweight, void *scratch, const void *inp, const void *weight,
                     const int *targets, const float *dlosses, int N, int C, int V) {
    bf16 *logits = (bf16 *)scratch;
    const bf16 *x = (const bf16 *)inp, *w = (const bf16 *)weight;
    for (int r0 = 0; r0 < N; r0 += CLASSIFIER_CHUNK) {
        int rows = N - r0 < CLASSIFIER_CHUNK ? N - r0 : CLASSIFIER_CHUNK;
        const bf16 *xc = x + (size_t)r0 * C;
        cuda_gemm(0, 1, rows, V, C, 1.0f, xc, C, w, C, 0.0f, logits, V);
        cross_entropy_kernel<<<rows, 256, 0, g_cuda.stream>>>(losses + r0, logits, targets + r0,
                                                              dlosses ? dlosses + r0 : NULL, V);
        CUDA_CHECK_LAUNCH();
        if (!dlosses) continue;
        // dinp (rows,C) = dlogits (rows,V) @ weight (V,C);  dweight (V,C) += dlogits^T @ x
        if (dinp) cuda_gemm(0, 0, rows, C, V, 1.0f, logits, V, w, C, 0.0f, (bf16 *)dinp + (size_t)r0 * C, C);
        if (dweight) cuda_gemm(1, 0, V, C, rows, 1.0f, logits, V, xc, C, 1.0f, (bf16 *)dweight, C);
    }
}

// ---------------------------------------------------------------------------------------
// sum of squares: pass 1, a fixed number of blocks (a function of n only) each sum a
// grid-stride slice in double; pass 2, one warp adds the block sums in order.

#define SUMSQ_MAX_BLOCKS 1024

__global__ void sum_squares_kernel(double *partial, const bf16 *g, size_t n) {
    __shared__ double red[32];
    double s = 0.0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        double v = (double)ld(g + i);
        s += v * v;
    }
    s = warp_sum_d(s);
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (lane == 0) red[warp] = s;
    __syncthreads();
    if (warp == 0) {
        s = lane < (int)(blockDim.x / 32) ? red[lane] : 0.0;
        s = warp_sum_d(s);
        if (lane == 0) partial[blockIdx.x] = s;
    }
}

__global__ void sum_partials_kernel(double *out, const double *partial, int blocks) {
    int lane = threadIdx.x;
    double s = 0.0;
    for (int b = lane; b < blocks; b += 32) s += partial[b];
    s = warp_sum_d(s);
    if (lane == 0) *out = s;
}

double cuda_sum_squares(const void *grads, size_t n) {
    if (n == 0) return 0.0;
    size_t want = (n + 255) / 256;
    int blocks = (int)(want < SUMSQ_MAX_BLOCKS ? want : SUMSQ_MAX_BLOCKS);
    double *buf = (double *)cuda_scratch(SCRATCH_SUMSQ, (SUMSQ_MAX_BLOCKS + 1) * sizeof(double));
    double *result = buf + SUMSQ_MAX_BLOCKS;
    sum_squares_kernel<<<blocks, 256, 0, g_cuda.stream>>>(buf, (const bf16 *)grads, n);
    CUDA_CHECK_LAUNCH();
    sum_partials_kernel<<<1, 32, 0, g_cuda.stream>>>(result, buf, blocks);
    CUDA_CHECK_LAUNCH();
    double host = 0.0;
    CUDA_CHECK(cudaMemcpyAsync(&host, result, sizeof host, cudaMemcpyDeviceToHost, g_cuda.stream));
    CUDA_CHECK(cudaStreamSynchronize(g_cuda.stream));
    return host;
}

// ---------------------------------------------------------------------------------------
// AdamW: one thread per parameter. With master weights, the fp32 master is updated and the
// bf16 params receive its round-to-nearest-even rounding.

__global__ void adamw_kernel(bf16 *params, float *master, const bf16 *grads, float *m, float *v, size_t n, float lr,
                             float beta1, float beta2, float eps, float weight_decay, float grad_scale, float bc1,
                             float bc2) {
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= n) return;
    float g = ld(grads + i) * grad_scale;
    float mi = beta1 * m[i] + (1.0f - beta1) * g;
    float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    float mhat = mi / bc1, vhat = vi / bc2;
    float p = master ? master[i] : ld(params + i);
    p -= lr * (mhat / (sqrtf(vhat) + eps) + weight_decay * p);
    if (master) master[i] = p;
    params[i] = __float2bfloat16(p);
}

void cuda_adamw_update(void *params, float *master, const void *grads, float *m, float *v, size_t n, float lr,
                       float beta1, float beta2, float eps, float weight_decay, float grad_scale, int t) {
    if (n == 0) return;
    // bias corrections on the host, exactly as the CPU backend computes them
    float bc1 = 1.0f - powf(beta1, (float)t), bc2 = 1.0f - powf(beta2, (float)t);
    adamw_kernel<<<cdiv(n, 256), 256, 0, g_cuda.stream>>>((bf16 *)params, master, (const bf16 *)grads, m, v, n, lr,
                                                          beta1, beta2, eps, weight_decay, grad_scale, bc1, bc2);
    CUDA_CHECK_LAUNCH();
}
