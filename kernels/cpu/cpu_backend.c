// cpu_backend.c: the CPU reference backend: fp32, OpenMP, OpenBLAS sgemm (or the built-in
// one). Memory, the elementwise and row-wise ops, the classifier, the optimizer and the op
// table; attention and the KV-cache ops are in attention.c.
//
// Every op is deterministic for a given thread count: loops use schedule(static), and
// reductions across rows (weight gradients of norms, sums of squares) go through fixed
// per-thread partial sums added in thread order; no atomics. No op allocates except the
// per-thread scratch rows and partial-sum buffers, which are allocated on first use and kept.
// Ops are called from one host thread at a time (the partial-sum buffer is shared).
#if defined(__GNUC__) && !defined(__clang__)
// -std=c11 turns off a*b+c -> fma contraction; sqrtf without errno lets AdamW vectorise
#pragma GCC optimize("fp-contract=fast", "no-math-errno")
#endif
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../base/check.h"
#include "../backend.h"
#include "cpu.h"
#include "gemm.h"

// ---- memory ----

void *cpu_alloc(size_t bytes) {
    CHECK(bytes <= SIZE_MAX - 64, "cannot allocate %zu bytes of host memory", bytes);
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (rounded == 0) rounded = 64;
    void *p = aligned_alloc(64, rounded);
    if (!p)
        fail(
            "out of memory: could not allocate %.1f MiB of host memory (a smaller batch, sequence length or model needs less)",
            (double)bytes / (1 << 20));
    memset(p, 0, rounded);
    return p;
}
static void cpu_free(void *p) { free(p); }
static void cpu_zero(void *p, size_t bytes) {
    if (bytes) memset(p, 0, bytes);
}
static void cpu_copy(void *dst, const void *src, size_t bytes) {
    if (bytes) memcpy(dst, src, bytes);
}
static void cpu_upload_f32(void *dst, const float *src, size_t n) { cpu_copy(dst, src, n * sizeof(float)); }
static void cpu_download_f32(float *dst, const void *src, size_t n) { cpu_copy(dst, src, n * sizeof(float)); }
static void cpu_synchronize(void) {}

static _Thread_local float *scratch_buf[CPU_SCRATCH_SLOTS];
static _Thread_local size_t scratch_cap[CPU_SCRATCH_SLOTS];

float *cpu_scratch(int slot, size_t floats) {
    if (floats > scratch_cap[slot]) {
        free(scratch_buf[slot]);
        scratch_buf[slot] = cpu_alloc(floats * sizeof(float));
        scratch_cap[slot] = floats;
    }
    return scratch_buf[slot];
}

// One grow-only buffer for per-thread partial sums, used outside parallel regions only (the
// caller sizes it before the region; threads write disjoint slices).
static void *partials_buf = NULL;
static size_t partials_cap = 0;
static void *partials(size_t bytes) {
    if (bytes > partials_cap) {
        free(partials_buf);
        partials_buf = cpu_alloc(bytes);
        partials_cap = bytes;
    }
    return partials_buf;
}

// [lo, hi) of n items for thread t of nt: the split schedule(static) makes
static inline void thread_range(size_t n, int t, int nt, size_t *lo, size_t *hi) {
    size_t base = n / (size_t)nt, extra = n % (size_t)nt;
    *lo = (size_t)t * base + ((size_t)t < extra ? (size_t)t : extra);
    *hi = *lo + base + ((size_t)t < extra ? 1 : 0);
}

// ---- embedding ----

static void embedding_forward(void *out_, const int *tokens, const void *wte_, int N, int C) {
    float *out = out_;
    const float *wte = wte_;
#pragma omp parallel for schedule(static) if ((size_t)N * C >= CPU_PAR_MIN)
    for (int i = 0; i < N; i++) memcpy(out + (size_t)i * C, wte + (size_t)tokens[i] * C, (size_t)C * sizeof(float));
}

static void embedding_backward(void *dwte_, const void *dout_, const int *tokens, int N, int C) {
    float *dwte = dwte_;
    const float *dout = dout_;
    // parallel over channels: each thread owns a slice of columns (multiples of 16 floats, so
    // threads do not share cache lines) and walks the rows in order: a repeated token's rows
    // are added in row order whatever the thread count
    int chunks = (C + 15) / 16;
#pragma omp parallel
    {
        size_t lo, hi;
        thread_range((size_t)chunks, cpu_thread_id(), cpu_team_size(), &lo, &hi);
        int c0 = (int)lo * 16, c1 = (int)hi * 16 < C ? (int)hi * 16 : C;
        if (c0 < c1)
            for (int i = 0; i < N; i++) {
                float *row = dwte + (size_t)tokens[i] * C;
                const float *d = dout + (size_t)i * C;
#pragma omp simd
                for (int c = c0; c < c1; c++) row[c] += d[c];
            }
    }
}

// ---- rmsnorm ----

static void rmsnorm_forward(void *out_, float *rstd, const void *inp_, const void *weight_, int N, int C, float eps) {
    float *out = out_;
    const float *inp = inp_, *w = weight_;
#pragma omp parallel for schedule(static) if ((size_t)N * C >= CPU_PAR_MIN)
    for (int i = 0; i < N; i++) {
        const float *x = inp + (size_t)i * C;
        float *y = out + (size_t)i * C;
        float r = 1.0f / sqrtf(cpu_dot(x, x, C) / (float)C + eps);
        rstd[i] = r;
#pragma omp simd
        for (int c = 0; c < C; c++) y[c] = x[c] * r * w[c];
    }
}

static void rmsnorm_backward(void *dinp_, void *dweight_, const void *dout_, const void *inp_, const void *weight_,
                             const float *rstd, int N, int C) {
    float *dinp = dinp_, *dweight = dweight_;
    const float *dout = dout_, *inp = inp_, *w = weight_;
    int nt = cpu_threads();
    // per thread: a C-float slice of weight-gradient partials and a C-float row of dy*w
    size_t stride = ((size_t)C + 15) & ~(size_t)15;
    float *part = partials((size_t)nt * 2 * stride * sizeof(float));
    memset(part, 0, (size_t)nt * 2 * stride * sizeof(float));
#pragma omp parallel
    {
        float *dw = part + (size_t)cpu_thread_id() * 2 * stride, *dyw = dw + stride;
#pragma omp for schedule(static)
        for (int i = 0; i < N; i++) {
            const float *x = inp + (size_t)i * C, *dy = dout + (size_t)i * C;
            float *dx = dinp + (size_t)i * C;
            float r = rstd[i];
            // y = x r w:  dx = r (dy w - x r^2 mean(dy w x)),  dw = sum_i dy x r
#pragma omp simd
            for (int c = 0; c < C; c++) dyw[c] = dy[c] * w[c];
            float k = cpu_dot(dyw, x, C) * r * r / (float)C;
#pragma omp simd
            for (int c = 0; c < C; c++) {
                dx[c] += r * (dyw[c] - x[c] * k);
                dw[c] += dy[c] * x[c] * r;
            }
        }
    }
    for (int t = 0; t < nt; t++) {
        const float *p = part + (size_t)t * 2 * stride;
#pragma omp simd
        for (int c = 0; c < C; c++) dweight[c] += p[c];
    }
}

// ---- matmul ----

// Up to this many rows (decoding a batch), the streaming matmul of matmul_skinny.c beats
// sgemm: it reads the weights once at full bandwidth on every thread, where OpenBLAS runs
// one row on one thread at a third of it (docs/perf.md, CPU generation).
#define SKINNY_MAX_ROWS 16

static void matmul_forward(void *out, const void *inp, const void *weight, int N, int C, int OC) {
    // out (N,OC) = inp (N,C) @ weight (OC,C)^T
    if (N <= SKINNY_MAX_ROWS)
        cpu_matmul_skinny(out, inp, weight, WEIGHTS_F32, N, C, OC);
    else
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
#pragma omp parallel for simd schedule(static) if (n >= CPU_PAR_MIN)
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

// ---- swiglu ----

static void swiglu_forward(void *out_, const void *gate_up_, int N, int F) {
    float *out = out_;
    const float *gu = gate_up_;
#pragma omp parallel for schedule(static) if ((size_t)N * F >= CPU_PAR_MIN)
    for (int i = 0; i < N; i++) {
        const float *g = gu + (size_t)i * 2 * F, *u = g + F;
        float *o = out + (size_t)i * F;
#pragma omp simd
        for (int j = 0; j < F; j++) o[j] = g[j] / (1.0f + cpu_expf(-g[j])) * u[j];
    }
}

static void swiglu_backward(void *dgate_up_, const void *dout_, const void *gate_up_, int N, int F) {
    float *dgu = dgate_up_;
    const float *dout = dout_, *gu = gate_up_;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        const float *g = gu + (size_t)i * 2 * F, *u = g + F, *dy = dout + (size_t)i * F;
        float *dg = dgu + (size_t)i * 2 * F, *du = dg + F;
#pragma omp simd
        for (int j = 0; j < F; j++) {
            float sig = 1.0f / (1.0f + cpu_expf(-g[j]));
            du[j] = dy[j] * g[j] * sig;
            dg[j] = dy[j] * u[j] * sig * (1.0f + g[j] * (1.0f - sig));
        }
    }
}

// ---- classifier ----

static void classifier(float *losses, void *dinp_, void *dweight_, void *scratch_, const void *inp_,
                       const void *weight_, const int *targets, const float *dlosses, int N, int C, int V) {
    float *dinp = dinp_, *scratch = scratch_;
    const float *inp = inp_, *weight = weight_;
    CHECK(V > 0, "classifier: vocabulary size %d", V);
    for (int i = 0; i < N; i++)
        CHECK(targets[i] < V, "classifier: target %d at row %d is outside the vocabulary [0, %d)", targets[i], i, V);
    for (int r0 = 0; r0 < N; r0 += CLASSIFIER_CHUNK) {
        int rows = N - r0 < CLASSIFIER_CHUNK ? N - r0 : CLASSIFIER_CHUNK;
        const float *x = inp + (size_t)r0 * C;
        gemm_f32(0, 1, rows, V, C, 1.0f, x, C, weight, C, 0.0f, scratch, V); // logits
#pragma omp parallel for schedule(static)
        for (int r = 0; r < rows; r++) {
            int i = r0 + r, target = targets[i];
            float *z = scratch + (size_t)r * V;
            if (target < 0) {
                losses[i] = 0;
                if (dlosses) memset(z, 0, (size_t)V * sizeof(float));
                continue;
            }
            float mx = cpu_max(z, V), z_target = z[target];
            cpu_exp_shift(z, V, mx); // z = exp(logit - max), kept for the gradient
            double sum = cpu_sum_d(z, (size_t)V);
            losses[i] = mx + (float)log(sum) - z_target;
            if (dlosses) { // dlogits = (softmax - onehot) * dlosses[i]
                float g = dlosses[i], s = (float)(g / sum);
#pragma omp simd
                for (int v = 0; v < V; v++) z[v] *= s;
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
    int nt = cpu_threads();
    double *part = partials((size_t)nt * 8 * sizeof(double)); // a cache line per thread
    memset(part, 0, (size_t)nt * 8 * sizeof(double));
#pragma omp parallel
    {
        int t = cpu_thread_id(), used = cpu_team_size();
        size_t lo, hi;
        thread_range(n, t, used, &lo, &hi);
        double acc[8] = {0};
        size_t i = lo;
        for (; i + 8 <= hi; i += 8)
            for (int j = 0; j < 8; j++) acc[j] += (double)g[i + j] * (double)g[i + j];
        for (int j = 0; i < hi; i++, j++) acc[j] += (double)g[i] * (double)g[i];
        part[(size_t)t * 8] = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    }
    double total = 0;
    for (int t = 0; t < nt; t++) total += part[(size_t)t * 8];
    return total;
}

static void adamw_update(void *params_, float *master, const void *grads_, float *m, float *v, size_t n, float lr,
                         float beta1, float beta2, float eps, float weight_decay, float grad_scale, int t) {
    (void)master; // fp32 params are their own master copy
    float *p = params_;
    const float *g = grads_;
    // mhat / (sqrt(vhat) + eps) = m * inv_bc1 / (sqrt(v) * inv_sqrt_bc2 + eps)
    float inv_bc1 = (float)(1.0 / (1.0 - pow(beta1, t))), inv_sqrt_bc2 = (float)(1.0 / sqrt(1.0 - pow(beta2, t)));
    float a1 = 1.0f - beta1, a2 = 1.0f - beta2;
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] * grad_scale;
        float mi = beta1 * m[i] + a1 * gi;
        float vi = beta2 * v[i] + a2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= lr * (mi * inv_bc1 / (sqrtf(vi) * inv_sqrt_bc2 + eps) + weight_decay * p[i]);
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
    .rope_forward = cpu_rope_forward,
    .rope_backward = cpu_rope_backward,
    .attention_forward = cpu_attention_forward,
    .attention_backward = cpu_attention_backward,
    .swiglu_forward = swiglu_forward,
    .swiglu_backward = swiglu_backward,
    .classifier = classifier,
    .rope_forward_at = cpu_rope_forward_at,
    .kv_store = cpu_kv_store,
    .attention_decode = cpu_attention_decode,
    .matmul_forward_w16 = cpu_matmul_forward_w16,
    .sum_squares = sum_squares,
    .adamw_update = adamw_update,
};

Backend *backend_cpu(int threads) {
    if (threads < 0) fail("%d CPU threads asked for: give a positive number of threads, or 0 for all cores", threads);
#ifdef _OPENMP
    if (threads == 0) threads = omp_get_num_procs();
    omp_set_num_threads(threads);
#else
    threads = 1;
#endif
    gemm_set_threads(threads);
    return &cpu_backend;
}
