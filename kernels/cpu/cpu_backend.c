// cpu_backend.c: the CPU reference backend: fp32, OpenMP, OpenBLAS sgemm.
//
// Every op is deterministic for a given thread count: loops use schedule(static), and
// reductions across rows (weight gradients of norms, global norms) go through fixed
// per-thread partial sums added in thread order; no atomics.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "../backend.h"
#include "../check.h"
#include "gemm.h"

static int n_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

// Dot product with 8 independent partial sums: the compiler turns it into SIMD without
// -ffast-math, and the summation order is fixed, so results stay deterministic.
static inline float dot(const float *a, const float *b, int n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += a[i + j] * b[i + j];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

// ---- memory ----

static void *cpu_alloc(size_t bytes) {
    size_t rounded = (bytes + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    CHECK(p != NULL, "out of memory allocating %zu bytes", bytes);
    memset(p, 0, rounded);
    return p;
}
static void cpu_free(void *p) { free(p); }
static void cpu_zero(void *p, size_t bytes) { memset(p, 0, bytes); }
static void cpu_copy(void *dst, const void *src, size_t bytes) {
    if (bytes) memcpy(dst, src, bytes);
}
static void cpu_upload_f32(void *dst, const float *src, size_t n) { cpu_copy(dst, src, n * sizeof(float)); }
static void cpu_download_f32(float *dst, const void *src, size_t n) { cpu_copy(dst, src, n * sizeof(float)); }
static void cpu_synchronize(void) {}

// ---- embedding ----

static void embedding_forward(void *out_, const int *tokens, const void *wte_, int N, int C) {
    float *out = out_;
    const float *wte = wte_;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) memcpy(out + (size_t)i * C, wte + (size_t)tokens[i] * C, (size_t)C * sizeof(float));
}

static void embedding_backward(void *dwte_, const void *dout_, const int *tokens, int N, int C) {
    float *dwte = dwte_;
    const float *dout = dout_;
    // parallel over channels: each thread owns a slice of columns and walks the rows in order
#pragma omp parallel
    {
        int nt = n_threads(), t = thread_id();
        int c0 = (int)((int64_t)C * t / nt), c1 = (int)((int64_t)C * (t + 1) / nt);
        for (int i = 0; i < N; i++) {
            float *row = dwte + (size_t)tokens[i] * C;
            const float *d = dout + (size_t)i * C;
            for (int c = c0; c < c1; c++) row[c] += d[c];
        }
    }
}

// ---- rmsnorm ----

static void rmsnorm_forward(void *out_, float *rstd, const void *inp_, const void *weight_, int N, int C, float eps) {
    float *out = out_;
    const float *inp = inp_, *w = weight_;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        const float *x = inp + (size_t)i * C;
        float *y = out + (size_t)i * C;
        float ss = dot(x, x, C);
        float r = 1.0f / sqrtf(ss / C + eps);
        rstd[i] = r;
        for (int c = 0; c < C; c++) y[c] = x[c] * r * w[c];
    }
}

// Per-thread partial sums for weight gradients, reduced in thread order.
static float *partials = NULL;
static size_t partials_size = 0;
static float *get_partials(size_t n) {
    if (n > partials_size) {
        free(partials);
        partials = cpu_alloc(n * sizeof(float));
        partials_size = n;
    }
    memset(partials, 0, n * sizeof(float));
    return partials;
}

static void rmsnorm_backward(void *dinp_, void *dweight_, const void *dout_, const void *inp_, const void *weight_,
                             const float *rstd, int N, int C) {
    float *dinp = dinp_, *dweight = dweight_;
    const float *dout = dout_, *inp = inp_, *w = weight_;
    int nt = n_threads();
    float *part = get_partials((size_t)nt * C);
#pragma omp parallel
    {
        float *dw = part + (size_t)thread_id() * C;
#pragma omp for schedule(static)
        for (int i = 0; i < N; i++) {
            const float *x = inp + (size_t)i * C, *dy = dout + (size_t)i * C;
            float *dx = dinp + (size_t)i * C;
            float r = rstd[i];
            // y = x * r * w;  dx = r * (dy*w - x * r^2 * mean(dy*w*x))
            float dot = 0;
            for (int c = 0; c < C; c++) dot += dy[c] * w[c] * x[c];
            float k = dot * r * r / C;
            for (int c = 0; c < C; c++) {
                dx[c] += r * (dy[c] * w[c] - x[c] * k);
                dw[c] += dy[c] * x[c] * r;
            }
        }
    }
    for (int t = 0; t < nt; t++)
        for (int c = 0; c < C; c++) dweight[c] += part[(size_t)t * C + c];
}

// ---- matmul ----

static void matmul_forward(void *out, const void *inp, const void *weight, int N, int C, int OC) {
    // out (N,OC) = inp (N,C) @ weight (OC,C)^T
    gemm_f32(0, 1, N, OC, C, 1.0f, inp, C, weight, C, 0.0f, out, OC);
}

static void matmul_backward(void *dinp, void *dweight, const void *dout, const void *inp, const void *weight, int N,
                            int C, int OC) {
    // dinp (N,C) = dout (N,OC) @ weight (OC,C)
    if (dinp) gemm_f32(0, 0, N, C, OC, 1.0f, dout, OC, weight, C, 0.0f, dinp, C);
    // dweight (OC,C) += dout^T (OC,N) @ inp (N,C)
    gemm_f32(1, 0, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dweight, C);
}

static void residual_forward(void *out_, const void *a_, const void *b_, size_t n) {
    float *out = out_;
    const float *a = a_, *b = b_;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

// ---- rope ----

static void rope_apply(float *qkv, const float *cos_t, const float *sin_t, int B, int T, int H, int KV, int D,
                       float sign) {
    int half = D / 2, row = (H + 2 * KV) * D, rotated = H + KV;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < B * T; i++) {
        int t = i % T;
        const float *cs = cos_t + (size_t)t * half, *sn = sin_t + (size_t)t * half;
        float *x = qkv + (size_t)i * row;
        for (int h = 0; h < rotated; h++) {
            float *v = x + (size_t)h * D;
            for (int j = 0; j < half; j++) {
                float x1 = v[j], x2 = v[j + half], s = sign * sn[j];
                v[j] = x1 * cs[j] - x2 * s;
                v[j + half] = x2 * cs[j] + x1 * s;
            }
        }
    }
}

static void rope_forward(void *qkv, const float *cos_t, const float *sin_t, int B, int T, int H, int KV, int D) {
    rope_apply(qkv, cos_t, sin_t, B, T, H, KV, D, 1.0f);
}

static void rope_backward(void *dqkv, const float *cos_t, const float *sin_t, int B, int T, int H, int KV, int D) {
    // the transpose of a rotation is the rotation by the opposite angle
    rope_apply(dqkv, cos_t, sin_t, B, T, H, KV, D, -1.0f);
}

// ---- attention ----
//
// Blocked over queries: for a block of ATT_BLOCK query rows of one head, the scores
// against every key up to the block's last row are one gemm (rows x keys), the causal
// mask and softmax run on that block, and P @ V is a second gemm. The backward recomputes
// P from the saved log-sum-exp (never storing B*H*T*T probabilities) and forms dQ, dK, dV
// with gemms too. Each thread owns two (ATT_BLOCK x T) scratch blocks; gemms called
// inside the parallel region run single-threaded.

#define ATT_BLOCK 64

static float *att_scratch = NULL;
static size_t att_scratch_size = 0;
// Two (ATT_BLOCK x T) blocks for the calling thread; grown once, outside the parallel loop.
static void att_reserve(int T) {
    size_t need = (size_t)n_threads() * 2 * ATT_BLOCK * T;
    if (need > att_scratch_size) {
        free(att_scratch);
        att_scratch = cpu_alloc(need * sizeof(float));
        att_scratch_size = need;
    }
}
static float *att_block(int T, int which) {
    return att_scratch + ((size_t)thread_id() * 2 + which) * ATT_BLOCK * T;
}

static void attention_forward(void *out_, float *lse, const void *qkv_, int B, int T, int H, int KV, int D) {
    float *out = out_;
    const float *qkv = qkv_;
    int row = (H + 2 * KV) * D, group = H / KV, blocks = (T + ATT_BLOCK - 1) / ATT_BLOCK;
    float scale = 1.0f / sqrtf((float)D);
    att_reserve(T);
#pragma omp parallel for collapse(3) schedule(static)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int blk = 0; blk < blocks; blk++) {
                int kh = h / group, t0 = blk * ATT_BLOCK;
                int rows = T - t0 < ATT_BLOCK ? T - t0 : ATT_BLOCK, keys = t0 + rows;
                const float *q = qkv + ((size_t)b * T + t0) * row + (size_t)h * D;
                const float *k = qkv + (size_t)b * T * row + (size_t)(H + kh) * D;
                const float *v = qkv + (size_t)b * T * row + (size_t)(H + KV + kh) * D;
                float *p = att_block(T, 0);
                gemm_f32(0, 1, rows, keys, D, scale, q, row, k, row, 0.0f, p, keys); // scores
                for (int i = 0; i < rows; i++) {
                    int t = t0 + i;
                    float *pr = p + (size_t)i * keys, mx = -INFINITY, sum = 0;
                    for (int s2 = 0; s2 <= t; s2++) mx = pr[s2] > mx ? pr[s2] : mx;
                    for (int s2 = 0; s2 <= t; s2++) {
                        pr[s2] = expf(pr[s2] - mx);
                        sum += pr[s2];
                    }
                    float inv = 1.0f / sum;
                    for (int s2 = 0; s2 <= t; s2++) pr[s2] *= inv;
                    for (int s2 = t + 1; s2 < keys; s2++) pr[s2] = 0; // causal mask
                    lse[((size_t)b * H + h) * T + t] = mx + logf(sum);
                }
                float *o = out + ((size_t)b * T + t0) * H * D + (size_t)h * D;
                gemm_f32(0, 0, rows, D, keys, 1.0f, p, keys, v, row, 0.0f, o, H * D); // P @ V
            }
}

static void attention_backward(void *dqkv_, const void *dout_, const void *out_, const float *lse, const void *qkv_,
                               int B, int T, int H, int KV, int D) {
    float *dqkv = dqkv_;
    const float *dout = dout_, *out = out_, *qkv = qkv_;
    int row = (H + 2 * KV) * D, group = H / KV, blocks = (T + ATT_BLOCK - 1) / ATT_BLOCK;
    float scale = 1.0f / sqrtf((float)D);
    att_reserve(T);
    // each (b, kv head) task owns its dK, dV and the dQ of its query heads: no races, and
    // a fixed accumulation order
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
        for (int kh = 0; kh < KV; kh++) {
            const float *k = qkv + (size_t)b * T * row + (size_t)(H + kh) * D;
            const float *v = qkv + (size_t)b * T * row + (size_t)(H + KV + kh) * D;
            float *dk = dqkv + (size_t)b * T * row + (size_t)(H + kh) * D;
            float *dv = dqkv + (size_t)b * T * row + (size_t)(H + KV + kh) * D;
            for (int t = 0; t < T; t++) {
                memset(dk + (size_t)t * row, 0, (size_t)D * sizeof(float));
                memset(dv + (size_t)t * row, 0, (size_t)D * sizeof(float));
            }
            float *p = att_block(T, 0), *dp = att_block(T, 1);
            for (int h = kh * group; h < (kh + 1) * group; h++)
                for (int blk = 0; blk < blocks; blk++) {
                    int t0 = blk * ATT_BLOCK;
                    int rows = T - t0 < ATT_BLOCK ? T - t0 : ATT_BLOCK, keys = t0 + rows;
                    const float *q = qkv + ((size_t)b * T + t0) * row + (size_t)h * D;
                    const float *o = out + ((size_t)b * T + t0) * H * D + (size_t)h * D;
                    const float *dO = dout + ((size_t)b * T + t0) * H * D + (size_t)h * D;
                    float *dq = dqkv + ((size_t)b * T + t0) * row + (size_t)h * D;
                    gemm_f32(0, 1, rows, keys, D, scale, q, row, k, row, 0.0f, p, keys);    // scores
                    gemm_f32(0, 1, rows, keys, D, 1.0f, dO, H * D, v, row, 0.0f, dp, keys); // dP = dO V^T
                    for (int i = 0; i < rows; i++) {
                        int t = t0 + i;
                        float l = lse[((size_t)b * H + h) * T + t];
                        float di = dot(dO + (size_t)i * H * D, o + (size_t)i * H * D, D);
                        float *pr = p + (size_t)i * keys, *dpr = dp + (size_t)i * keys;
                        for (int s2 = 0; s2 <= t; s2++) {
                            pr[s2] = expf(pr[s2] - l);
                            dpr[s2] = pr[s2] * (dpr[s2] - di) * scale; // dS
                        }
                        for (int s2 = t + 1; s2 < keys; s2++) pr[s2] = dpr[s2] = 0;
                    }
                    gemm_f32(0, 0, rows, D, keys, 1.0f, dp, keys, k, row, 0.0f, dq, row); // dQ = dS K
                    gemm_f32(1, 0, keys, D, rows, 1.0f, dp, keys, q, row, 1.0f, dk, row); // dK += dS^T Q
                    gemm_f32(1, 0, keys, D, rows, 1.0f, p, keys, dO, H * D, 1.0f, dv, row); // dV += P^T dO
                }
        }
}

// ---- generation ----

static void rope_forward_at(void *qkv_, const float *cos_t, const float *sin_t, const int *pos, int N, int H, int KV,
                            int D) {
    float *qkv = qkv_;
    int half = D / 2, row = (H + 2 * KV) * D;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        const float *cs = cos_t + (size_t)pos[i] * half, *sn = sin_t + (size_t)pos[i] * half;
        for (int h = 0; h < H + KV; h++) {
            float *v = qkv + (size_t)i * row + (size_t)h * D;
            for (int j = 0; j < half; j++) {
                float x1 = v[j], x2 = v[j + half];
                v[j] = x1 * cs[j] - x2 * sn[j];
                v[j + half] = x2 * cs[j] + x1 * sn[j];
            }
        }
    }
}

static void kv_store(void *k_cache_, void *v_cache_, const void *qkv_, const int *seq, const int *pos, int N, int S,
                     int H, int KV, int D) {
    float *kc = k_cache_, *vc = v_cache_;
    const float *qkv = qkv_;
    size_t row = (size_t)(H + 2 * KV) * D, kvd = (size_t)KV * D;
    for (int i = 0; i < N; i++) {
        size_t at = ((size_t)seq[i] * S + (size_t)pos[i]) * kvd;
        memcpy(kc + at, qkv + i * row + (size_t)H * D, kvd * sizeof(float));
        memcpy(vc + at, qkv + i * row + (size_t)(H + KV) * D, kvd * sizeof(float));
    }
}

static void attention_decode(void *out_, const void *qkv_, const void *k_cache_, const void *v_cache_, const int *len,
                             int B, int S, int H, int KV, int D) {
    float *out = out_;
    const float *qkv = qkv_, *kc = k_cache_, *vc = v_cache_;
    int row = (H + 2 * KV) * D, group = H / KV, kvd = KV * D;
    float scale = 1.0f / sqrtf((float)D);
    int max_len = 0;
    for (int b = 0; b < B; b++) max_len = len[b] > max_len ? len[b] : max_len;
    att_reserve(max_len);
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            int kh = h / group, n = len[b];
            const float *q = qkv + (size_t)b * row + (size_t)h * D;
            const float *k = kc + (size_t)b * S * kvd + (size_t)kh * D, *v = vc + (size_t)b * S * kvd + (size_t)kh * D;
            float *p = att_block(max_len, 0), mx = -INFINITY, sum = 0;
            for (int s2 = 0; s2 < n; s2++) {
                p[s2] = dot(q, k + (size_t)s2 * kvd, D) * scale;
                mx = p[s2] > mx ? p[s2] : mx;
            }
            for (int s2 = 0; s2 < n; s2++) {
                p[s2] = expf(p[s2] - mx);
                sum += p[s2];
            }
            float *o = out + (size_t)b * H * D + (size_t)h * D;
            for (int d = 0; d < D; d++) o[d] = 0;
            for (int s2 = 0; s2 < n; s2++) {
                float w = p[s2] / sum;
                const float *vr = v + (size_t)s2 * kvd;
                for (int d = 0; d < D; d++) o[d] += w * vr[d];
            }
        }
}

// ---- swiglu ----

static void swiglu_forward(void *out_, const void *gate_up_, int N, int F) {
    float *out = out_;
    const float *gu = gate_up_;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        const float *g = gu + (size_t)i * 2 * F, *u = g + F;
        float *o = out + (size_t)i * F;
        for (int j = 0; j < F; j++) o[j] = g[j] / (1.0f + expf(-g[j])) * u[j];
    }
}

static void swiglu_backward(void *dgate_up_, const void *dout_, const void *gate_up_, int N, int F) {
    float *dgu = dgate_up_;
    const float *dout = dout_, *gu = gate_up_;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        const float *g = gu + (size_t)i * 2 * F, *u = g + F, *dy = dout + (size_t)i * F;
        float *dg = dgu + (size_t)i * 2 * F, *du = dg + F;
        for (int j = 0; j < F; j++) {
            float sig = 1.0f / (1.0f + expf(-g[j]));
            float silu = g[j] * sig;
            du[j] = dy[j] * silu;
            dg[j] = dy[j] * u[j] * sig * (1.0f + g[j] * (1.0f - sig));
        }
    }
}

// ---- classifier ----

static void classifier(float *losses, void *dinp_, void *dweight_, void *scratch_, const void *inp_, const void *weight_,
                       const int *targets, const float *dlosses, int N, int C, int V) {
    float *dinp = dinp_, *scratch = scratch_;
    const float *inp = inp_, *weight = weight_;
    for (int i = 0; i < N; i++) CHECK(targets[i] < V, "target %d at row %d is outside the vocabulary (%d)", targets[i], i, V);
    for (int r0 = 0; r0 < N; r0 += CLASSIFIER_CHUNK) {
        int rows = N - r0 < CLASSIFIER_CHUNK ? N - r0 : CLASSIFIER_CHUNK;
        const float *x = inp + (size_t)r0 * C;
        gemm_f32(0, 1, rows, V, C, 1.0f, x, C, weight, C, 0.0f, scratch, V);
#pragma omp parallel for schedule(static)
        for (int r = 0; r < rows; r++) {
            int i = r0 + r, target = targets[i];
            float *z = scratch + (size_t)r * V;
            if (target < 0) {
                losses[i] = 0;
                if (dlosses) memset(z, 0, (size_t)V * sizeof(float));
                continue;
            }
            float mx = -INFINITY;
            for (int v = 0; v < V; v++) mx = z[v] > mx ? z[v] : mx;
            float z_target = z[target];
            double sum = 0;
            for (int v = 0; v < V; v++) {
                z[v] = expf(z[v] - mx); // keep exp(z - max) for the gradient
                sum += z[v];
            }
            losses[i] = mx + (float)log(sum) - z_target;
            if (dlosses) { // dlogits = (softmax - onehot) * dlosses[i]
                float g = dlosses[i], scale = (float)(g / sum);
                for (int v = 0; v < V; v++) z[v] *= scale;
                z[target] -= g;
            }
        }
        if (!dlosses) continue;
        if (dinp) gemm_f32(0, 0, rows, C, V, 1.0f, scratch, V, weight, C, 0.0f, dinp + (size_t)r0 * C, C);
        if (dweight_) gemm_f32(1, 0, V, C, rows, 1.0f, scratch, V, x, C, 1.0f, dweight_, C);
    }
}

// ---- optimizer ----

static double sum_squares(const void *grads_, size_t n) {
    const float *g = grads_;
    int nt = n_threads();
    double part[256] = {0};
    CHECK(nt <= 256, "too many threads (%d)", nt);
#pragma omp parallel
    {
        double s = 0;
#pragma omp for schedule(static)
        for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
        part[thread_id()] = s;
    }
    double total = 0;
    for (int t = 0; t < nt; t++) total += part[t];
    return total;
}

static void adamw_update(void *params_, float *master, const void *grads_, float *m, float *v, size_t n, float lr,
                         float beta1, float beta2, float eps, float weight_decay, float grad_scale, int t) {
    (void)master; // fp32 params are their own master copy
    float *p = params_;
    const float *g = grads_;
    float bc1 = 1.0f - powf(beta1, (float)t), bc2 = 1.0f - powf(beta2, (float)t);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] * grad_scale;
        m[i] = beta1 * m[i] + (1.0f - beta1) * gi;
        v[i] = beta2 * v[i] + (1.0f - beta2) * gi * gi;
        float mhat = m[i] / bc1, vhat = v[i] / bc2;
        p[i] -= lr * (mhat / (sqrtf(vhat) + eps) + weight_decay * p[i]);
    }
}

// ---- the table ----

static Backend cpu_backend = {
    .name = "cpu",
    .elem_bytes = 4,
    .has_master = 0,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .zero = cpu_zero,
    .upload = cpu_copy,
    .download = cpu_copy,
    .upload_f32 = cpu_upload_f32,
    .download_f32 = cpu_download_f32,
    .synchronize = cpu_synchronize,
    .embedding_forward = embedding_forward,
    .embedding_backward = embedding_backward,
    .rmsnorm_forward = rmsnorm_forward,
    .rmsnorm_backward = rmsnorm_backward,
    .matmul_forward = matmul_forward,
    .matmul_backward = matmul_backward,
    .residual_forward = residual_forward,
    .rope_forward = rope_forward,
    .rope_backward = rope_backward,
    .attention_forward = attention_forward,
    .attention_backward = attention_backward,
    .swiglu_forward = swiglu_forward,
    .swiglu_backward = swiglu_backward,
    .classifier = classifier,
    .rope_forward_at = rope_forward_at,
    .kv_store = kv_store,
    .attention_decode = attention_decode,
    .sum_squares = sum_squares,
    .adamw_update = adamw_update,
};

Backend *backend_cpu(int threads) {
#ifdef _OPENMP
    if (threads > 0) omp_set_num_threads(threads);
    else omp_set_num_threads(omp_get_num_procs());
#endif
    gemm_set_threads(threads > 0 ? threads : n_threads());
    return &cpu_backend;
}
