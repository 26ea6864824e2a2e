// test_cuda_ops.c: every op of the CUDA backend against the CPU reference backend.
//
// For each op: random inputs, rounded to bf16 on the host first so both backends see the
// very same values; the op runs on backend_cpu(0) (fp32) and on backend_cuda(0) (bf16
// storage, fp32 math); the results are compared with
//     err = max_i |gpu_i - cpu_i| / max(|cpu_i|, rms(cpu))
// (relative per element, with the tensor's rms as the floor so that entries near zero do
// not dominate), against a threshold per op and dtype:
//     1e-2  bf16 outputs (one bf16 rounding is 2^-9 = 0.002; fp32 accumulation inside)
//     3e-2  classifier gradients: dlogits live in the bf16 scratch (CLASSIFIER_CHUNK x V
//           elements, as the op table specifies) before the two matmuls; a PyTorch model
//           of exactly that rounding gives errors up to 1.5e-2 on these shapes, and the
//           host emulation of these kernels 1.9e-2
//     1e-4  fp32 outputs computed from identical inputs (rstd, lse, losses use 1e-2
//           since the logits are bf16), 1e-5 AdamW state, 1e-9 sum of squares (double)
//     0     copies (embedding forward, fp32 -> bf16 round trip)
// Outputs written with "=" are poisoned with NaN bit patterns before the GPU runs, so an
// element the kernel forgot fails; "+=" outputs start from random values so that a missing
// or doubled add fails. Ops with reductions are also run twice and must give identical
// bytes (determinism).
//
// Prints one table (op, max rel err, threshold, ok) and "N passed, N failed"; exits 1 on
// any failure or when no CUDA device is visible.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../base/check.h"
#include "../../kernels/backend.h"

static Backend *CPU, *GPU;
static int n_passed = 0, n_failed = 0;

// ---- random numbers and bf16 rounding ----

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd_u32(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}
static float rnd_uniform(void) { return (rnd_u32() + 0.5f) / 4294967296.0f; } // (0, 1)
static float rnd_normal(void) {
    float u1 = rnd_uniform(), u2 = rnd_uniform();
    return sqrtf(-2.0f * logf(u1)) * cosf(6.28318530718f * u2);
}

static float bf16_round(float x) { // round to nearest even, like __float2bfloat16
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) == 0x7f800000u) return x;
    u += 0x7fffu + ((u >> 16) & 1u);
    u &= 0xffff0000u;
    memcpy(&x, &u, 4);
    return x;
}

// n values mean + scale * N(0,1), rounded to bf16 (exactly representable on both backends)
static float *randn(size_t n, float mean, float scale) {
    float *x = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = bf16_round(mean + scale * rnd_normal());
    return x;
}

// ---- a tensor that exists on both backends ----

typedef struct {
    void *c, *g; // CPU and GPU base pointers
    size_t n;    // elements (from element `off` on)
    size_t off;  // element offset of the tensor inside its buffer (tests unaligned pointers)
    int f32;     // 1: fp32 on both backends; 0: the backend's element type
} Pair;

static size_t esize(const Backend *b, int f32) { return f32 ? 4 : b->elem_bytes; }
static void *at(const Backend *b, void *base, size_t i, int f32) { return (char *)base + i * esize(b, f32); }
#define PC(p) at(CPU, (p).c, (p).off, (p).f32)
#define PG(p) at(GPU, (p).g, (p).off, (p).f32)

static Pair pair_alloc_off(size_t n, int f32, size_t off) {
    Pair p = {CPU->alloc((n + off) * esize(CPU, f32)), GPU->alloc((n + off) * esize(GPU, f32)), n, off, f32};
    return p;
}
static Pair pair_alloc(size_t n, int f32) { return pair_alloc_off(n, f32, 0); }

static void pair_set(Pair p, const float *host) {
    if (p.f32) {
        CPU->upload(PC(p), host, p.n * 4);
        GPU->upload(PG(p), host, p.n * 4);
    } else {
        CPU->upload_f32(PC(p), host, p.n);
        GPU->upload_f32(PG(p), host, p.n);
    }
}

static Pair pair_from(const float *host, size_t n, int f32) {
    Pair p = pair_alloc(n, f32);
    pair_set(p, host);
    return p;
}

static Pair pair_ints(const int *host, size_t n) {
    Pair p = {CPU->alloc(n * 4), GPU->alloc(n * 4), n, 0, 1};
    CPU->upload(p.c, host, n * 4);
    GPU->upload(p.g, host, n * 4);
    return p;
}

static void poison(Backend *b, void *dst, size_t bytes) {
    unsigned char *h = xmalloc(bytes);
    memset(h, 0xFF, bytes); // all-ones: NaN in bf16 and in fp32
    b->upload(dst, h, bytes);
    free(h);
}
static void pair_poison(Pair p) {
    poison(CPU, PC(p), p.n * esize(CPU, p.f32));
    poison(GPU, PG(p), p.n * esize(GPU, p.f32));
}

static void get(Backend *b, void *src, size_t n, int f32, float *dst) {
    if (f32)
        b->download(dst, src, n * 4);
    else
        b->download_f32(dst, src, n);
}

static void pair_free(Pair p) {
    CPU->free(p.c);
    GPU->free(p.g);
}

// raw bytes of the GPU tensor (for determinism checks); caller frees
static void *gpu_bytes(Pair p) {
    size_t bytes = p.n * esize(GPU, p.f32);
    void *h = xmalloc(bytes);
    GPU->download(h, PG(p), bytes);
    return h;
}

// ---- comparison and the table ----

static double rel_err(const float *got, const float *want, size_t n) {
    double ss = 0;
    for (size_t i = 0; i < n; i++) ss += (double)want[i] * want[i];
    double floor_ = n ? sqrt(ss / n) : 0;
    if (floor_ < 1e-30) floor_ = 1e-30;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d == d) || isinf(got[i])) return INFINITY; // NaN or inf on the GPU side
        double s = fabs(want[i]) > floor_ ? fabs(want[i]) : floor_;
        if (d / s > worst) worst = d / s;
    }
    return worst;
}

static void report(const char *op, double err, double threshold) {
    int ok = err <= threshold; // NaN fails
    printf("%-44s %12.3e %10.1e  %s\n", op, err, threshold, ok ? "ok" : "FAIL");
    fflush(stdout);
    if (ok)
        n_passed++;
    else
        n_failed++;
}

// compare the CPU and GPU versions of p
static void compare(const char *op, Pair p, double threshold) {
    float *c = xmalloc(p.n * sizeof(float)), *g = xmalloc(p.n * sizeof(float));
    get(CPU, PC(p), p.n, p.f32, c);
    get(GPU, PG(p), p.n, p.f32, g);
    report(op, rel_err(g, c, p.n), threshold);
    free(c);
    free(g);
}

static void report_same_bytes(const char *op, const void *a, const void *b, size_t bytes) {
    char name[96];
    snprintf(name, sizeof name, "%s (determinism)", op);
    report(name, memcmp(a, b, bytes) == 0 ? 0.0 : 1.0, 0.0);
}

// ---- the tests ----

static void test_memory(void) {
    // alloc is zero-filled
    size_t n = 1000;
    void *z = GPU->alloc(n * GPU->elem_bytes);
    float *h = xmalloc(n * sizeof(float));
    GPU->download_f32(h, z, n);
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(h[i]));
    report("alloc zero-filled", worst, 0.0);
    GPU->free(z);
    free(h);

    // fp32 -> bf16 -> fp32 is exact bf16 rounding, also across several staging chunks
    n = ((size_t)16 << 20) + 1001;
    float *x = xmalloc(n * sizeof(float)), *back = xmalloc(n * sizeof(float)), *want = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        x[i] = rnd_normal() * 3.0f;
        want[i] = bf16_round(x[i]);
    }
    void *d = GPU->alloc(n * GPU->elem_bytes);
    GPU->upload_f32(d, x, n);
    GPU->download_f32(back, d, n);
    report("upload_f32/download_f32 (bf16 rounding)", rel_err(back, want, n), 0.0);
    // zero
    GPU->zero(d, 100 * GPU->elem_bytes);
    GPU->download_f32(back, d, 101);
    worst = 0;
    for (int i = 0; i < 100; i++) worst = fmax(worst, fabs(back[i]));
    report("zero", worst + (back[100] == want[100] ? 0.0 : 1.0), 0.0);
    GPU->free(d);
    free(x);
    free(back);
    free(want);
}

static void test_embedding(void) {
    const int N = 128, C = 128, V = 1000;
    int *tok = xmalloc(N * sizeof(int)), *tok_dup = xmalloc(N * sizeof(int));
    for (int i = 0; i < N; i++) {
        tok[i] = (int)(rnd_u32() % V);
        tok_dup[i] = (int)(rnd_u32() % 40); // many repeats: tests the per-token sums
    }
    float *h_wte = randn((size_t)V * C, 0, 1), *h_dout = randn((size_t)N * C, 0, 1),
          *h_dwte = randn((size_t)V * C, 0, 1);
    Pair tokens = pair_ints(tok, N), tokens_dup = pair_ints(tok_dup, N);
    Pair wte = pair_from(h_wte, (size_t)V * C, 0), out = pair_alloc((size_t)N * C, 0);
    pair_poison(out);
    CPU->embedding_forward(PC(out), tokens.c, wte.c, N, C);
    GPU->embedding_forward(PG(out), tokens.g, wte.g, N, C);
    compare("embedding_forward", out, 0.0);

    Pair dout = pair_from(h_dout, (size_t)N * C, 0), dwte = pair_from(h_dwte, (size_t)V * C, 0);
    CPU->embedding_backward(dwte.c, dout.c, tokens_dup.c, N, C);
    GPU->embedding_backward(dwte.g, dout.g, tokens_dup.g, N, C);
    compare("embedding_backward (+=, repeated tokens)", dwte, 1e-2);
    void *first = gpu_bytes(dwte);
    GPU->upload_f32(dwte.g, h_dwte, (size_t)V * C);
    GPU->embedding_backward(dwte.g, dout.g, tokens_dup.g, N, C);
    void *second = gpu_bytes(dwte);
    report_same_bytes("embedding_backward", first, second, (size_t)V * C * GPU->elem_bytes);
    free(first);
    free(second);

    pair_free(tokens), pair_free(tokens_dup), pair_free(wte), pair_free(out), pair_free(dout), pair_free(dwte);
    free(tok), free(tok_dup), free(h_wte), free(h_dout), free(h_dwte);
}

static void test_rmsnorm(void) {
    const int N = 128, C = 128;
    const float eps = 1e-5f;
    float *h_inp = randn((size_t)N * C, 0.1f, 1), *h_w = randn(C, 1, 0.2f), *h_dout = randn((size_t)N * C, 0, 1),
          *h_dinp = randn((size_t)N * C, 0, 1), *h_dw = randn(C, 0, 1);
    Pair inp = pair_from(h_inp, (size_t)N * C, 0), w = pair_from(h_w, C, 0);
    Pair out = pair_alloc((size_t)N * C, 0), rstd = pair_alloc(N, 1);
    pair_poison(out), pair_poison(rstd);
    CPU->rmsnorm_forward(out.c, rstd.c, inp.c, w.c, N, C, eps);
    GPU->rmsnorm_forward(out.g, rstd.g, inp.g, w.g, N, C, eps);
    compare("rmsnorm_forward out", out, 1e-2);
    compare("rmsnorm_forward rstd (fp32)", rstd, 1e-4);

    // backward from the same rstd on both sides (the CPU's)
    float *h_rstd = xmalloc(N * sizeof(float));
    CPU->download(h_rstd, rstd.c, N * sizeof(float));
    GPU->upload(rstd.g, h_rstd, N * sizeof(float));
    Pair dout = pair_from(h_dout, (size_t)N * C, 0), dinp = pair_from(h_dinp, (size_t)N * C, 0),
         dw = pair_from(h_dw, C, 0);
    CPU->rmsnorm_backward(dinp.c, dw.c, dout.c, inp.c, w.c, rstd.c, N, C);
    GPU->rmsnorm_backward(dinp.g, dw.g, dout.g, inp.g, w.g, rstd.g, N, C);
    compare("rmsnorm_backward dinp (+=)", dinp, 1e-2);
    compare("rmsnorm_backward dweight (+=)", dw, 1e-2);
    void *a = gpu_bytes(dw), *a2 = gpu_bytes(dinp);
    GPU->upload_f32(dinp.g, h_dinp, (size_t)N * C);
    GPU->upload_f32(dw.g, h_dw, C);
    GPU->rmsnorm_backward(dinp.g, dw.g, dout.g, inp.g, w.g, rstd.g, N, C);
    void *b = gpu_bytes(dw), *b2 = gpu_bytes(dinp);
    report_same_bytes("rmsnorm_backward dweight", a, b, C * GPU->elem_bytes);
    report_same_bytes("rmsnorm_backward dinp", a2, b2, (size_t)N * C * GPU->elem_bytes);
    free(a), free(b), free(a2), free(b2);

    pair_free(inp), pair_free(w), pair_free(out), pair_free(rstd), pair_free(dout), pair_free(dinp), pair_free(dw);
    free(h_inp), free(h_w), free(h_dout), free(h_dinp), free(h_dw), free(h_rstd);
}

// off > 0 places every tensor at an odd element offset (2-byte aligned pointers), as
// backend_at() can produce; with_dinp = 0 tests matmul_backward's dinp == NULL
static void test_matmul(int N, int C, int OC, size_t off, int with_dinp) {
    char name[96];
    float *h_inp = randn((size_t)N * C, 0, 1), *h_w = randn((size_t)OC * C, 0, 0.1f),
          *h_dout = randn((size_t)N * OC, 0, 1), *h_dw = randn((size_t)OC * C, 0, 1);
    Pair inp = pair_alloc_off((size_t)N * C, 0, off), w = pair_alloc_off((size_t)OC * C, 0, off),
         out = pair_alloc_off((size_t)N * OC, 0, off), dout = pair_alloc_off((size_t)N * OC, 0, off),
         dinp = pair_alloc_off((size_t)N * C, 0, off), dw = pair_alloc_off((size_t)OC * C, 0, off);
    pair_set(inp, h_inp), pair_set(w, h_w), pair_set(dout, h_dout), pair_set(dw, h_dw);
    pair_poison(out), pair_poison(dinp);
    CPU->matmul_forward(PC(out), PC(inp), PC(w), N, C, OC);
    GPU->matmul_forward(PG(out), PG(inp), PG(w), N, C, OC);
    snprintf(name, sizeof name, "matmul_forward N=%d C=%d OC=%d off=%zu", N, C, OC, off);
    compare(name, out, 1e-2);
    CPU->matmul_backward(with_dinp ? PC(dinp) : NULL, PC(dw), PC(dout), PC(inp), PC(w), N, C, OC);
    GPU->matmul_backward(with_dinp ? PG(dinp) : NULL, PG(dw), PG(dout), PG(inp), PG(w), N, C, OC);
    if (with_dinp) {
        snprintf(name, sizeof name, "matmul_backward dinp N=%d C=%d OC=%d", N, C, OC);
        compare(name, dinp, 1e-2);
    }
    snprintf(name, sizeof name, "matmul_backward dweight (+=)%s", with_dinp ? "" : " dinp=NULL");
    compare(name, dw, 1e-2);
    pair_free(inp), pair_free(w), pair_free(out), pair_free(dout), pair_free(dinp), pair_free(dw);
    free(h_inp), free(h_w), free(h_dout), free(h_dw);
}

static void test_residual(void) {
    const size_t n = 10007;
    float *h_a = randn(n, 0, 1), *h_b = randn(n, 0, 1);
    Pair a = pair_from(h_a, n, 0), b = pair_from(h_b, n, 0), out = pair_alloc(n, 0);
    pair_poison(out);
    CPU->residual_forward(out.c, a.c, b.c, n);
    GPU->residual_forward(out.g, a.g, b.g, n);
    compare("residual_forward", out, 1e-2);
    pair_free(a), pair_free(b), pair_free(out);
    free(h_a), free(h_b);
}

static void rope_tables(int T, int D, float **cos_t, float **sin_t) {
    int half = D / 2;
    *cos_t = xmalloc((size_t)T * half * sizeof(float));
    *sin_t = xmalloc((size_t)T * half * sizeof(float));
    for (int t = 0; t < T; t++)
        for (int i = 0; i < half; i++) {
            double angle = t * pow(10000.0, -2.0 * i / D);
            (*cos_t)[(size_t)t * half + i] = (float)cos(angle);
            (*sin_t)[(size_t)t * half + i] = (float)sin(angle);
        }
}

static void test_rope(int B, int T, int H, int KV, int D) {
    char name[96];
    size_t n = (size_t)B * T * (H + 2 * KV) * D;
    float *h_x = randn(n, 0, 1), *h_cos, *h_sin;
    rope_tables(T, D, &h_cos, &h_sin);
    Pair x = pair_from(h_x, n, 0), cs = pair_from(h_cos, (size_t)T * D / 2, 1),
         sn = pair_from(h_sin, (size_t)T * D / 2, 1);
    CPU->rope_forward(x.c, cs.c, sn.c, B, T, H, KV, D);
    GPU->rope_forward(x.g, cs.g, sn.g, B, T, H, KV, D);
    snprintf(name, sizeof name, "rope_forward D=%d (in place)", D);
    compare(name, x, 1e-2);
    pair_set(x, h_x);
    CPU->rope_backward(x.c, cs.c, sn.c, B, T, H, KV, D);
    GPU->rope_backward(x.g, cs.g, sn.g, B, T, H, KV, D);
    snprintf(name, sizeof name, "rope_backward D=%d (in place)", D);
    compare(name, x, 1e-2);
    pair_free(x), pair_free(cs), pair_free(sn);
    free(h_x), free(h_cos), free(h_sin);
}

static void test_attention(int B, int T, int H, int KV, int D) {
    char name[128];
    size_t N = (size_t)B * T, nqkv = N * (H + 2 * KV) * D, nout = N * H * D, nlse = (size_t)B * H * T;
    float *h_qkv = randn(nqkv, 0, 1), *h_dout = randn(nout, 0, 1);
    Pair qkv = pair_from(h_qkv, nqkv, 0), out = pair_alloc(nout, 0), lse = pair_alloc(nlse, 1);
    pair_poison(out), pair_poison(lse);
    CPU->attention_forward(out.c, lse.c, qkv.c, B, T, H, KV, D);
    GPU->attention_forward(out.g, lse.g, qkv.g, B, T, H, KV, D);
    snprintf(name, sizeof name, "attention_forward out B=%d T=%d H=%d KV=%d D=%d", B, T, H, KV, D);
    compare(name, out, 1e-2);
    snprintf(name, sizeof name, "attention_forward lse (fp32) D=%d", D);
    compare(name, lse, 1e-4);

    // backward from the CPU's out (rounded to bf16) and lse on both sides
    float *h_out = xmalloc(nout * sizeof(float)), *h_lse = xmalloc(nlse * sizeof(float));
    CPU->download_f32(h_out, out.c, nout);
    for (size_t i = 0; i < nout; i++) h_out[i] = bf16_round(h_out[i]);
    CPU->download(h_lse, lse.c, nlse * sizeof(float));
    pair_set(out, h_out), pair_set(lse, h_lse);
    Pair dout = pair_from(h_dout, nout, 0), dqkv = pair_alloc(nqkv, 0);
    pair_poison(dqkv);
    CPU->attention_backward(dqkv.c, dout.c, out.c, lse.c, qkv.c, B, T, H, KV, D);
    GPU->attention_backward(dqkv.g, dout.g, out.g, lse.g, qkv.g, B, T, H, KV, D);
    snprintf(name, sizeof name, "attention_backward dqkv D=%d", D);
    compare(name, dqkv, 1e-2);
    void *a = gpu_bytes(dqkv);
    poison(GPU, dqkv.g, nqkv * GPU->elem_bytes);
    GPU->attention_backward(dqkv.g, dout.g, out.g, lse.g, qkv.g, B, T, H, KV, D);
    void *b = gpu_bytes(dqkv);
    snprintf(name, sizeof name, "attention_backward D=%d", D);
    report_same_bytes(name, a, b, nqkv * GPU->elem_bytes);
    free(a), free(b);

    pair_free(qkv), pair_free(out), pair_free(lse), pair_free(dout), pair_free(dqkv);
    free(h_qkv), free(h_dout), free(h_out), free(h_lse);
}

static void test_swiglu(void) {
    const int N = 128, F = 344;
    float *h_gu = randn((size_t)N * 2 * F, 0, 2), *h_dout = randn((size_t)N * F, 0, 1);
    Pair gu = pair_from(h_gu, (size_t)N * 2 * F, 0), out = pair_alloc((size_t)N * F, 0),
         dout = pair_from(h_dout, (size_t)N * F, 0), dgu = pair_alloc((size_t)N * 2 * F, 0);
    pair_poison(out), pair_poison(dgu);
    CPU->swiglu_forward(out.c, gu.c, N, F);
    GPU->swiglu_forward(out.g, gu.g, N, F);
    compare("swiglu_forward", out, 1e-2);
    CPU->swiglu_backward(dgu.c, dout.c, gu.c, N, F);
    GPU->swiglu_backward(dgu.g, dout.g, gu.g, N, F);
    compare("swiglu_backward", dgu, 1e-2);
    pair_free(gu), pair_free(out), pair_free(dout), pair_free(dgu);
    free(h_gu), free(h_dout);
}

static void test_classifier(void) {
    const int N = 300, C = 128, V = 1000; // N > CLASSIFIER_CHUNK: two chunks, the second partial
    int *tgt = xmalloc(N * sizeof(int));
    for (int i = 0; i < N; i++) tgt[i] = rnd_u32() % 10 == 0 ? -1 : (int)(rnd_u32() % V);
    float *h_inp = randn((size_t)N * C, 0, 1), *h_w = randn((size_t)V * C, 0, 0.15f),
          *h_dw = randn((size_t)V * C, 0, 0.1f);
    float *h_dl = xmalloc(N * sizeof(float));
    for (int i = 0; i < N; i++) h_dl[i] = 0.5f + rnd_uniform();
    Pair targets = pair_ints(tgt, N), inp = pair_from(h_inp, (size_t)N * C, 0), w = pair_from(h_w, (size_t)V * C, 0),
         losses = pair_alloc(N, 1), scratch = pair_alloc((size_t)CLASSIFIER_CHUNK * V, 0),
         dlosses = pair_from(h_dl, N, 1), dinp = pair_alloc((size_t)N * C, 0), dw = pair_from(h_dw, (size_t)V * C, 0);

    // forward only
    pair_poison(losses);
    CPU->classifier(losses.c, NULL, NULL, scratch.c, inp.c, w.c, targets.c, NULL, N, C, V);
    GPU->classifier(losses.g, NULL, NULL, scratch.g, inp.g, w.g, targets.g, NULL, N, C, V);
    compare("classifier losses (no backward)", losses, 1e-2);
    float *h_loss = xmalloc(N * sizeof(float));
    GPU->download(h_loss, losses.g, N * sizeof(float));
    double ignored = 0;
    for (int i = 0; i < N; i++)
        if (tgt[i] < 0) ignored = fmax(ignored, fabs(h_loss[i]));
    report("classifier ignored rows have loss 0", ignored, 0.0);

    // forward + backward
    pair_poison(losses), pair_poison(dinp);
    CPU->classifier(losses.c, dinp.c, dw.c, scratch.c, inp.c, w.c, targets.c, dlosses.c, N, C, V);
    GPU->classifier(losses.g, dinp.g, dw.g, scratch.g, inp.g, w.g, targets.g, dlosses.g, N, C, V);
    compare("classifier losses", losses, 1e-2);
    compare("classifier dinp", dinp, 3e-2);
    compare("classifier dweight (+=)", dw, 3e-2);
    void *a = gpu_bytes(dw), *a2 = gpu_bytes(dinp);
    GPU->upload_f32(dw.g, h_dw, (size_t)V * C);
    GPU->classifier(losses.g, dinp.g, dw.g, scratch.g, inp.g, w.g, targets.g, dlosses.g, N, C, V);
    void *b = gpu_bytes(dw), *b2 = gpu_bytes(dinp);
    report_same_bytes("classifier dweight", a, b, (size_t)V * C * GPU->elem_bytes);
    report_same_bytes("classifier dinp", a2, b2, (size_t)N * C * GPU->elem_bytes);
    free(a), free(b), free(a2), free(b2);

    pair_free(targets), pair_free(inp), pair_free(w), pair_free(losses), pair_free(scratch), pair_free(dlosses);
    pair_free(dinp), pair_free(dw);
    free(tgt), free(h_inp), free(h_w), free(h_dw), free(h_dl), free(h_loss);
}

static void test_sum_squares(void) {
    const size_t n = 1000003;
    float *h = randn(n, 0, 0.01f);
    Pair g = pair_from(h, n, 0);
    double want = CPU->sum_squares(g.c, n), got = GPU->sum_squares(g.g, n), again = GPU->sum_squares(g.g, n);
    report("sum_squares", fabs(got - want) / fabs(want), 1e-9);
    report_same_bytes("sum_squares", &got, &again, sizeof got);
    double small = GPU->sum_squares(backend_at(GPU, g.g, 1), 37),
           small_want = CPU->sum_squares(backend_at(CPU, g.c, 1), 37);
    report("sum_squares n=37 at an odd offset", fabs(small - small_want) / fabs(small_want), 1e-9);
    pair_free(g);
    free(h);
}

static void test_adamw(void) {
    const size_t n = 100003;
    float *h_p = randn(n, 0, 1), *h_g = randn(n, 0, 0.1f), *h_m = randn(n, 0, 0.01f), *h_v = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) h_v[i] = 1e-4f + 1e-3f * rnd_uniform();
    Pair p = pair_from(h_p, n, 0), g = pair_from(h_g, n, 0), m = pair_from(h_m, n, 1), v = pair_from(h_v, n, 1);
    float *master = GPU->alloc(n * sizeof(float));
    GPU->upload(master, h_p, n * sizeof(float));
    const float lr = 1e-3f, b1 = 0.9f, b2 = 0.95f, eps = 1e-8f, wd = 0.1f, scale = 0.5f;
    const int t = 3;
    CPU->adamw_update(p.c, NULL, g.c, m.c, v.c, n, lr, b1, b2, eps, wd, scale, t);
    GPU->adamw_update(p.g, master, g.g, m.g, v.g, n, lr, b1, b2, eps, wd, scale, t);
    compare("adamw params (bf16 rounding of master)", p, 1e-2);
    compare("adamw m (fp32)", m, 1e-5);
    compare("adamw v (fp32)", v, 1e-5);
    float *want = xmalloc(n * sizeof(float)), *got = xmalloc(n * sizeof(float));
    CPU->download(want, p.c, n * sizeof(float));
    GPU->download(got, master, n * sizeof(float));
    report("adamw master (fp32)", rel_err(got, want, n), 1e-5);
    pair_free(p), pair_free(g), pair_free(m), pair_free(v);
    GPU->free(master);
    free(h_p), free(h_g), free(h_m), free(h_v), free(want), free(got);
}

// the KV-cache ops: rope at positions, kv_store, decode attention over caches of 2 sequences
static void test_decode(int H, int KV, int D) {
    char name[96];
    int B = 2, S = 80, row = (H + 2 * KV) * D, kvd = KV * D;
    float *h_qkv = randn((size_t)B * row, 0, 1), *h_cos, *h_sin;
    rope_tables(S, D, &h_cos, &h_sin);
    float *h_k = randn((size_t)B * S * kvd, 0, 1), *h_v = randn((size_t)B * S * kvd, 0, 1);
    int pos[2] = {17, 63}, seq[2] = {0, 1}, len[2] = {18, 64};
    Pair qkv = pair_from(h_qkv, (size_t)B * row, 0), cs = pair_from(h_cos, (size_t)S * D / 2, 1),
         sn = pair_from(h_sin, (size_t)S * D / 2, 1), kc = pair_from(h_k, (size_t)B * S * kvd, 0),
         vc = pair_from(h_v, (size_t)B * S * kvd, 0), p = pair_ints(pos, 2), q = pair_ints(seq, 2),
         l = pair_ints(len, 2), out = pair_alloc((size_t)B * H * D, 0);
    CPU->rope_forward_at(qkv.c, cs.c, sn.c, p.c, B, H, KV, D);
    GPU->rope_forward_at(qkv.g, cs.g, sn.g, p.g, B, H, KV, D);
    snprintf(name, sizeof name, "rope_forward_at D=%d", D);
    compare(name, qkv, 1e-2);
    CPU->kv_store(kc.c, vc.c, qkv.c, q.c, p.c, B, S, H, KV, D);
    GPU->kv_store(kc.g, vc.g, qkv.g, q.g, p.g, B, S, H, KV, D);
    snprintf(name, sizeof name, "kv_store k cache D=%d", D);
    compare(name, kc, 0);
    snprintf(name, sizeof name, "kv_store v cache D=%d", D);
    compare(name, vc, 0);
    pair_poison(out);
    CPU->attention_decode(out.c, qkv.c, kc.c, vc.c, l.c, B, S, H, KV, D);
    GPU->attention_decode(out.g, qkv.g, kc.g, vc.g, l.g, B, S, H, KV, D);
    snprintf(name, sizeof name, "attention_decode H=%d KV=%d D=%d", H, KV, D);
    compare(name, out, 1e-2);
    pair_free(qkv), pair_free(cs), pair_free(sn), pair_free(kc), pair_free(vc), pair_free(p), pair_free(q);
    pair_free(l), pair_free(out);
    free(h_qkv), free(h_cos), free(h_sin), free(h_k), free(h_v);
}

int main(void) {
    const char *why = NULL;
    GPU = backend_cuda(0, &why);
    if (!GPU) {
        printf("test_cuda_ops: the CUDA backend is not available: %s\n", why ? why : "(no reason given)");
        printf("0 passed, 1 failed\n");
        return 1;
    }
    CPU = backend_cpu(0);
    CHECK(GPU->elem_bytes == 2 && GPU->has_master == 1, "unexpected CUDA backend: elem_bytes %zu, has_master %d",
          GPU->elem_bytes, GPU->has_master);

    printf("%-44s %12s %10s  %s\n", "op", "max rel err", "threshold", "ok");
    test_memory();
    test_embedding();
    test_rmsnorm();
    test_matmul(128, 128, 384, 0, 1);
    test_matmul(37, 72, 50, 1, 1);
    test_matmul(300, 96, 130, 3, 0);
    test_residual();
    test_rope(2, 64, 4, 2, 32);
    test_rope(2, 64, 4, 2, 64);
    test_rope(2, 64, 4, 2, 128);
    test_attention(2, 64, 4, 2, 32);   // generic kernel
    test_attention(2, 64, 4, 2, 64);   // D = 64 kernel
    test_attention(2, 64, 4, 2, 128);  // D = 128 kernel
    test_attention(1, 37, 6, 2, 48);   // generic, T not a multiple of any tile
    test_attention(2, 100, 4, 4, 64);  // no grouping (H == KV), partial tiles
    test_attention(1, 150, 8, 1, 128); // one kv head for 8 query heads, partial tiles
    test_decode(4, 2, 64);
    test_decode(9, 3, 64); // SmolLM2's grouping
    test_decode(8, 1, 128);
    test_swiglu();
    test_classifier();
    test_sum_squares();
    test_adamw();
    GPU->synchronize();

    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed ? 1 : 0;
}
