// bench_gpu.c: see bench_gpu.h.
#include "bench_gpu.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../kernels/backend.h"
#include "../model/presets.h"
#include "bench_model.h"
#ifdef STRAP_CUDA
#include "../kernels/cuda/cuda_tools.h"
#endif

typedef struct {
    char name[48];
    int tA, tB, M, N, K; // row-major C (M,N) = op(A) (M,K) @ op(B) (K,N)
} GemmShape;

typedef struct {
    int B, T, H, KV, D;
} AttnShape;

static Backend *need_gpu(const char *kind) {
    const char *why = NULL;
    Backend *b = backend_cuda(0, &why);
    if (!b) fail("strap bench %s needs a CUDA GPU: %s", kind, why ? why : "none visible");
    return b;
}

static int add_shape(GemmShape *s, int n, const char *name, int tA, int tB, int M, int N, int K) {
    snprintf(s[n].name, sizeof s[n].name, "%s", name);
    s[n].tA = tA, s[n].tB = tB, s[n].M = M, s[n].N = N, s[n].K = K;
    return n + 1;
}

// forward (0,1), dinp (0,0) and dweight (1,0) of a linear layer in -> out over `rows` rows
static int add_linear(GemmShape *s, int n, const char *layer, int rows, int in, int out) {
    char name[48];
    snprintf(name, sizeof name, "%s fwd", layer);
    n = add_shape(s, n, name, 0, 1, rows, out, in);
    snprintf(name, sizeof name, "%s dinp", layer);
    n = add_shape(s, n, name, 0, 0, rows, in, out);
    snprintf(name, sizeof name, "%s dweight", layer);
    return add_shape(s, n, name, 1, 0, out, in, rows);
}

#ifdef STRAP_CUDA

typedef struct {
    void (*fn)(void *ctx);
    void *ctx;
    int reps;
} Repeat;

static void run_repeat(void *p) {
    Repeat *r = p;
    for (int i = 0; i < r->reps; i++) r->fn(r->ctx);
}

// median milliseconds of one fn(ctx) over `iters` event-timed samples, after `warmup` runs
static double median_ms(void (*fn)(void *), void *ctx, int warmup, int iters) {
    for (int i = 0; i < warmup; i++) cuda_time_ms(fn, ctx);
    double one = cuda_time_ms(fn, ctx);
    int reps = one >= 1.0 ? 1 : (int)ceil(1.0 / fmax(one, 0.005)); // a sample lasts ~1 ms
    Repeat r = {fn, ctx, reps};
    double *t = xmalloc((size_t)iters * sizeof(double));
    for (int i = 0; i < iters; i++) t[i] = cuda_time_ms(run_repeat, &r) / reps;
    qsort(t, (size_t)iters, sizeof(double), bench_cmp_double);
    double median = iters % 2 ? t[iters / 2] : 0.5 * (t[iters / 2 - 1] + t[iters / 2]);
    free(t);
    return median;
}

// max_i |a_i - b_i| / max(|b_i|, rms(b)) of two device tensors of the backend's type
static double max_rel_diff(Backend *g, const void *a, const void *b, size_t n) {
    float *x = xmalloc(n * sizeof(float)), *y = xmalloc(n * sizeof(float));
    g->download_f32(x, a, n);
    g->download_f32(y, b, n);
    double ss = 0, worst = 0;
    for (size_t i = 0; i < n; i++) ss += (double)y[i] * y[i];
    double floor_ = n ? fmax(sqrt(ss / n), 1e-30) : 1e-30;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)x[i] - y[i]);
        if (!(d == d)) {
            worst = INFINITY;
            break;
        }
        worst = fmax(worst, d / fmax(fabs(y[i]), floor_));
    }
    free(x), free(y);
    return worst;
}

// a JSON number, or null for NaN / inf (a difference that is not finite)
static const char *jnum(char *buf, size_t size, const char *fmt, double v) {
    if (isfinite(v))
        snprintf(buf, size, fmt, v);
    else
        snprintf(buf, size, "null");
    return buf;
}

// ---- gemm ----

typedef struct {
    int impl, tA, tB, M, N, K, lda, ldb, ldc;
    const void *A, *B;
    void *C;
} GemmCall;

static void gemm_call(void *p) {
    GemmCall *c = p;
    cuda_gemm_with(c->impl, c->tA, c->tB, c->M, c->N, c->K, 1.0f, c->A, c->lda, c->B, c->ldb, 0.0f, c->C, c->ldc);
}

// one implementation on one shape: median ms (NAN when it does not take the call) and the max
// relative difference of its output to C_ref
static double time_impl(Backend *g, GemmCall *call, int impl, void *C, const void *C_ref, int warmup, int iters,
                        double *diff) {
    *diff = NAN;
    if (!cuda_gemm_own_takes(call->tA, call->tB, call->M, call->N, call->K, call->A, call->lda, call->B, call->ldb, C,
                             call->ldc))
        return NAN;
    call->impl = impl, call->C = C;
    double ms = median_ms(gemm_call, call, warmup, iters);
    *diff = max_rel_diff(g, C, C_ref, (size_t)call->M * call->N);
    return ms;
}

static void run_gemm_bench(Backend *g, const GemmShape *shapes, int n_shapes, int warmup, int iters, int json,
                           int use_wgmma) {
    const char *device = cuda_device_describe();
    const int wgmma = use_wgmma && cuda_gemm_wgmma_available();
    if (!json) {
        printf("GEMM, bf16 in / fp32 accumulate / bf16 out, on %s\n", device);
        printf("mma:   %s\nwgmma: %s\n", cuda_gemm_describe(CUDA_GEMM_MMA),
               wgmma       ? cuda_gemm_describe(CUDA_GEMM_WGMMA)
               : use_wgmma ? "not available (needs sm_90 and sm_90a code)"
                           : "not run (--no-wgmma)");
        printf("median of %d samples after %d warm-up runs, CUDA events; ratio = best own / cuBLAS; diff = max "
               "relative difference of the best own output to cuBLAS's\n\n",
               iters, warmup);
        printf("%-22s %2s %6s %6s %6s %9s %9s %9s %7s %10s\n", "shape", "op", "M", "N", "K", "mma TF/s", "wgmma",
               "cuBLAS", "ratio", "max diff");
    }
    for (int i = 0; i < n_shapes; i++) {
        const GemmShape *s = &shapes[i];
        size_t na = (size_t)s->M * s->K, nb = (size_t)s->K * s->N, nc = (size_t)s->M * s->N;
        void *A = g->alloc(na * 2), *B = g->alloc(nb * 2), *C = g->alloc(nc * 2), *C_ref = g->alloc(nc * 2);
        cuda_fill_uniform(A, na, 1.0f, 1000 + i);
        cuda_fill_uniform(B, nb, 1.0f, 2000 + i);
        GemmCall call = {CUDA_GEMM_CUBLAS,    s->tA, s->tB, s->M, s->N, s->K, s->tA ? s->M : s->K,
                         s->tB ? s->K : s->N, s->N,  A,     B,    C_ref};
        const double flop = 2.0 * s->M * s->N * s->K;
        double cublas_ms = median_ms(gemm_call, &call, warmup, iters), mma_diff, wgmma_diff = NAN;
        double mma_ms = time_impl(g, &call, CUDA_GEMM_MMA, C, C_ref, warmup, iters, &mma_diff);
        double wgmma_ms = wgmma ? time_impl(g, &call, CUDA_GEMM_WGMMA, C, C_ref, warmup, iters, &wgmma_diff) : NAN;
        double cublas_tf = flop / (cublas_ms * 1e-3) / 1e12;
        double mma_tf = flop / (mma_ms * 1e-3) / 1e12, wgmma_tf = flop / (wgmma_ms * 1e-3) / 1e12; // NAN: not run
        int best_wgmma = wgmma_tf == wgmma_tf && !(wgmma_tf < mma_tf);
        double own_tf = best_wgmma ? wgmma_tf : mma_tf, diff = best_wgmma ? wgmma_diff : mma_diff;
        double ratio = own_tf / cublas_tf;
        const char *op = s->tA ? (s->tB ? "TT" : "TN") : (s->tB ? "NT" : "NN");
        char b1[32], b2[32], b3[32], b4[32], b5[32];
        if (!json) {
            printf("%-22s %2s %6d %6d %6d %9s %9s %9.1f %7s %10s\n", s->name, op, s->M, s->N, s->K,
                   jnum(b1, sizeof b1, "%.1f", mma_tf),
                   isfinite(wgmma_tf) ? jnum(b2, sizeof b2, "%.1f", wgmma_tf) : "-", cublas_tf,
                   isfinite(ratio) ? jnum(b3, sizeof b3, "%.2fx", ratio) : "-",
                   isfinite(diff) ? jnum(b4, sizeof b4, "%.2e", diff) : "-");
            fflush(stdout);
        } else {
            printf("{\"bench\": \"gemm\", \"shape\": \"%s\", \"op\": \"%s\", \"M\": %d, \"N\": %d, \"K\": %d, "
                   "\"cublas_ms\": %.4f, \"cublas_tflops\": %.2f, \"mma_tflops\": %s, \"wgmma_tflops\": %s, "
                   "\"own_kernel\": \"%s\", \"own_tflops\": %s, \"ratio\": %s, \"max_rel_diff\": %s, \"iters\": %d, "
                   "\"device\": \"%s\"}\n",
                   s->name, op, s->M, s->N, s->K, cublas_ms, cublas_tf, jnum(b1, sizeof b1, "%.2f", mma_tf),
                   jnum(b2, sizeof b2, "%.2f", wgmma_tf), best_wgmma ? "wgmma" : "mma",
                   jnum(b3, sizeof b3, "%.2f", own_tf), jnum(b4, sizeof b4, "%.3f", ratio),
                   jnum(b5, sizeof b5, "%.3e", diff), iters, device);
        }
        g->free(A), g->free(B), g->free(C), g->free(C_ref);
    }
}

// ---- attention ----

typedef struct {
    Backend *g;
    int naive, B, T, H, KV, D;
    void *qkv, *out, *dout, *dqkv;
    float *lse;
} AttnCall;

static void attn_forward(void *p) {
    AttnCall *a = p;
    if (a->naive)
        cuda_attention_naive_forward(a->out, a->lse, a->qkv, a->B, a->T, a->H, a->KV, a->D);
    else
        a->g->attention_forward(a->out, a->lse, a->qkv, a->B, a->T, a->H, a->KV, a->D);
}

static void attn_backward(void *p) {
    AttnCall *a = p;
    if (a->naive)
        cuda_attention_naive_backward(a->dqkv, a->dout, a->out, a->lse, a->qkv, a->B, a->T, a->H, a->KV, a->D);
    else
        a->g->attention_backward(a->dqkv, a->dout, a->out, a->lse, a->qkv, a->B, a->T, a->H, a->KV, a->D);
}

static void print_attn_row(int json, const AttnShape *s, const char *pass, double flop, double flash_ms,
                           double naive_ms, double diff, int iters, const char *device) {
    double flash_tf = flop / (flash_ms * 1e-3) / 1e12, naive_tf = flop / (naive_ms * 1e-3) / 1e12;
    char d[32];
    if (!json) {
        printf("%3d %5d %3d %3d %4d %-8s %10.3f %8.1f %10.3f %8.1f %7.2fx %10.2e\n", s->B, s->T, s->H, s->KV, s->D,
               pass, flash_ms, flash_tf, naive_ms, naive_tf, naive_ms / flash_ms, diff);
        fflush(stdout);
        return;
    }
    printf("{\"bench\": \"attention\", \"pass\": \"%s\", \"causal\": true, \"B\": %d, \"T\": %d, \"H\": %d, "
           "\"KV\": %d, \"D\": %d, \"flash_ms\": %.4f, \"flash_tflops\": %.3f, \"naive_ms\": %.4f, "
           "\"naive_tflops\": %.3f, \"speedup\": %.3f, \"max_rel_diff\": %s, \"iters\": %d, \"device\": \"%s\"}\n",
           pass, s->B, s->T, s->H, s->KV, s->D, flash_ms, flash_tf, naive_ms, naive_tf, naive_ms / flash_ms,
           jnum(d, sizeof d, "%.3e", diff), iters, device);
}

static void run_attention_bench(Backend *g, const AttnShape *shapes, int n_shapes, int warmup, int iters, int json) {
    const char *device = cuda_device_describe();
    if (!json) {
        printf("causal attention, bf16, on %s: flash = the backend's FlashAttention-2 style kernels, naive = "
               "materialised scores + cuBLAS (cuDNN is not linked)\n",
               device);
        printf("median of %d samples after %d warm-up runs, CUDA events; TFLOP/s count the causal half "
               "(forward 2 matmuls, backward 5)\n\n",
               iters, warmup);
        printf("%3s %5s %3s %3s %4s %-8s %10s %8s %10s %8s %8s %10s\n", "B", "T", "H", "KV", "D", "pass", "flash ms",
               "TF/s", "naive ms", "TF/s", "speedup", "max diff");
    }
    for (int i = 0; i < n_shapes; i++) {
        const AttnShape *s = &shapes[i];
        size_t N = (size_t)s->B * s->T, nqkv = N * (s->H + 2 * s->KV) * s->D, nout = N * s->H * s->D;
        size_t nlse = (size_t)s->B * s->H * s->T;
        AttnCall flash = {g,
                          0,
                          s->B,
                          s->T,
                          s->H,
                          s->KV,
                          s->D,
                          g->alloc(nqkv * 2),
                          g->alloc(nout * 2),
                          g->alloc(nout * 2),
                          g->alloc(nqkv * 2),
                          g->alloc(nlse * sizeof(float))};
        AttnCall naive = flash;
        naive.naive = 1, naive.out = g->alloc(nout * 2), naive.lse = g->alloc(nlse * sizeof(float));
        naive.dqkv = g->alloc(nqkv * 2);
        cuda_fill_uniform(flash.qkv, nqkv, 1.0f, 3000 + i);
        cuda_fill_uniform(flash.dout, nout, 1.0f, 4000 + i);
        // per head: QK^T and PV are 2*T*T*D flops each, half of them under the causal mask
        double fwd_flop = 2.0 * s->B * s->H * (double)s->T * s->T * s->D, bwd_flop = 2.5 * fwd_flop;

        double flash_fwd = median_ms(attn_forward, &flash, warmup, iters);
        double naive_fwd = median_ms(attn_forward, &naive, warmup, iters);
        double diff_fwd = max_rel_diff(g, flash.out, naive.out, nout);
        print_attn_row(json, s, "forward", fwd_flop, flash_fwd, naive_fwd, diff_fwd, iters, device);

        // both backwards from the flash forward's out and lse
        void *naive_out = naive.out;
        float *naive_lse = naive.lse;
        naive.out = flash.out, naive.lse = flash.lse;
        double flash_bwd = median_ms(attn_backward, &flash, warmup, iters);
        double naive_bwd = median_ms(attn_backward, &naive, warmup, iters);
        double diff_bwd = max_rel_diff(g, flash.dqkv, naive.dqkv, nqkv);
        print_attn_row(json, s, "backward", bwd_flop, flash_bwd, naive_bwd, diff_bwd, iters, device);

        g->free(flash.qkv), g->free(flash.out), g->free(flash.dout), g->free(flash.dqkv), g->free(flash.lse);
        g->free(naive.dqkv), g->free(naive_out), g->free(naive_lse);
    }
}

#endif // STRAP_CUDA

int bench_gemm_shape_sets(const char *name) {
    if (strcmp(name, "all") == 0) return BENCH_GEMM_SQUARE | BENCH_GEMM_MODEL;
    if (strcmp(name, "square") == 0) return BENCH_GEMM_SQUARE;
    if (strcmp(name, "model") == 0) return BENCH_GEMM_MODEL;
    return 0;
}

void bench_gemm_options_default(BenchGemmOptions *o) {
    memset(o, 0, sizeof *o);
    o->shapes = "all";
    o->preset = "125m";
    o->tokens = 8192;
    o->iters = 30;
    o->warmup = 5;
}

int bench_gemm_run(const BenchGemmOptions *o) {
    int sets = bench_gemm_shape_sets(o->shapes);
    if (!sets) fail("the GEMM shape set '%s' is unknown (square, model or all)", o->shapes);
    int square = sets & BENCH_GEMM_SQUARE, model = sets & BENCH_GEMM_MODEL, tokens = o->tokens;
    LlamaConfig c;
    memset(&c, 0, sizeof c);
    if (model && !preset_config(o->preset, &c))
        fail("the model shape '%s' is unknown (known: %s)", o->preset, preset_names());
    GemmShape shapes[32];
    int n = 0;
    if (square) {
        n = add_shape(shapes, n, "4096^3", 0, 1, 4096, 4096, 4096);
        n = add_shape(shapes, n, "4096^3", 0, 0, 4096, 4096, 4096);
        n = add_shape(shapes, n, "4096^3", 1, 0, 4096, 4096, 4096);
        n = add_shape(shapes, n, "8192^3", 0, 1, 8192, 8192, 8192);
    }
    if (model) {
        int C = c.hidden_size, D = c.head_dim, qkv = (c.n_heads + 2 * c.n_kv_heads) * D, F = c.intermediate_size;
        n = add_linear(shapes, n, "qkv", tokens, C, qkv);
        n = add_linear(shapes, n, "attn out", tokens, c.n_heads * D, C);
        n = add_linear(shapes, n, "gate_up", tokens, C, 2 * F);
        n = add_linear(shapes, n, "down", tokens, F, C);
        n = add_linear(shapes, n, "lm_head chunk", CLASSIFIER_CHUNK, C, c.vocab_size);
    }
    Backend *g = need_gpu("gemm");
#ifdef STRAP_CUDA
    if (!o->json && model)
        printf("model shapes: preset %s, %d tokens (the classifier runs %d-row chunks)\n", o->preset, tokens,
               CLASSIFIER_CHUNK);
    run_gemm_bench(g, shapes, n, o->warmup, o->iters, o->json, !o->no_wgmma);
#else
    (void)g, (void)shapes, (void)n;
#endif
    return 0;
}

void bench_attention_options_default(BenchAttentionOptions *o) {
    memset(o, 0, sizeof *o);
    o->max_seq = 4096;
    o->iters = 20;
    o->warmup = 3;
}

int bench_attention_run(const BenchAttentionOptions *o) {
    static const int D_[2] = {64, 128}, T_[3] = {1024, 2048, 4096};
    AttnShape shapes[8];
    int n = 0;
    if (o->max_seq >= 1024) shapes[n++] = (AttnShape){8, 1024, 9, 3, 64}; // the 125m preset (SmolLM2-135M)
    for (int d = 0; d < 2; d++)
        for (int t = 0; t < 3; t++)
            if (T_[t] <= o->max_seq) shapes[n++] = (AttnShape){8192 / T_[t], T_[t], 16, 4, D_[d]};
    if (n == 0) fail("sequences of at most %d tokens leave no shape (the shortest sequence is 1024)", o->max_seq);
    Backend *g = need_gpu("attention");
#ifdef STRAP_CUDA
    run_attention_bench(g, shapes, n, o->warmup, o->iters, o->json);
#else
    (void)g, (void)shapes, (void)n;
#endif
    return 0;
}
