// test_ops.c: every CPU backend op against an independent float64 implementation written
// here, every backward against central finite differences of that float64 forward, the
// write rules ("=" outputs are poisoned with NaN first, "+=" outputs pre-filled with random
// values), determinism (the same call twice gives the same bytes), the built-in sgemm
// (compiled in either build) and the OpenBLAS one, and backend_select's errors.
//
// `test_ops -v` prints the measured error of every comparison.
//
// Error measure: err = max_i |got_i - ref_i| / max_i |ref_i|, i.e. the worst absolute error
// in units of the tensor's largest entry (entries near zero cannot dominate).
//
// Tolerances, and why:
//   1e-5  fp32 ops against float64. fp32 rounds at u = 6e-8; every output here is a sum of
//         at most a few hundred products (K <= 300 in the gemms, C <= 29 in the norms, T <=
//         130 keys, V <= 300 logits), whose rounding error is at most ~K*u = 2e-5 in the
//         worst case and ~sqrt(K)*u = 1e-6 in practice (measured: 1e-7 to 2e-6). A wrong
//         formula, index or missed term gives errors of 1e-2 or more.
//   1e-5  backwards against finite differences. The differences are central, step 1e-6,
//         of the float64 forward: truncation error ~h^2 = 1e-12 and cancellation error
//         ~1e-16 * |L| / h <= 1e-8 for the losses here, so the float64 side is exact to
//         ~1e-8 and the fp32 op's own rounding (as above) dominates.
//   0     copies (embedding forward, kv_store, residual) and determinism: exact bytes.
//   1e-12 sum of squares (double accumulation of exact float squares).
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/rng.h"
#include "../kernels/backend.h"
#include "../kernels/cpu/cpu.h"
#include "../kernels/cpu/gemm.h"
#include "test.h"

static Rng rng;
static Backend *be;
static int verbose = 0;

// ---- allocation: everything a test allocates is freed when it ends ----

static void *allocs[4096];
static int n_allocs = 0;
static void *talloc(size_t bytes) {
    CHECK(n_allocs < 4096, "test allocation table full");
    return allocs[n_allocs++] = xmalloc(bytes);
}
static void tfree_all(void) {
    while (n_allocs) free(allocs[--n_allocs]);
}
#define TEST(fn)     \
    do {             \
        RUN(fn);     \
        tfree_all(); \
    } while (0)

static float *randf(size_t n, double scale) {
    float *x = talloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = (float)(scale * rng_normal(&rng));
    return x;
}
static float *copyf(const float *x, size_t n) {
    float *y = talloc(n * sizeof(float));
    memcpy(y, x, n * sizeof(float));
    return y;
}
static double *to_d(const float *x, size_t n) {
    double *d = talloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) d[i] = x[i];
    return d;
}
static double *dalloc(size_t n) { return talloc(n * sizeof(double)); }
static float *poisoned(size_t n) { // NaN everywhere: an element an op forgets to write fails
    float *x = talloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = NAN;
    return x;
}
static int rand_int(int n) { return (int)(rng_u64(&rng) % (uint64_t)n); }

static void check(const char *what, const float *got, const double *ref, size_t n, double tol) {
    double e = scaled_err_f64(got, ref, n);
    if (verbose) printf("    %-44s err %.2e  (tol %.0e)\n", what, e, tol);
    EXPECT(e < tol, "%s: err %.3g >= %.0e", what, e, tol);
}
static void check_same(const char *what, const void *a, const void *b, size_t bytes) {
    EXPECT(memcmp(a, b, bytes) == 0, "%s: not bit-identical", what);
}
static double dot_d(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

// Central finite difference of L(x) = <weights, f(x)> at coordinate i of x (float64).
typedef void (*ForwardFn)(double *out, const double *x, void *ctx);
static double fd_at(double *x, size_t i, size_t n_out, const double *weights, ForwardFn f, void *ctx, double *tmp) {
    const double h = 1e-6;
    double saved = x[i];
    x[i] = saved + h;
    f(tmp, x, ctx);
    double up = dot_d(tmp, weights, n_out);
    x[i] = saved - h;
    f(tmp, x, ctx);
    double down = dot_d(tmp, weights, n_out);
    x[i] = saved;
    return (up - down) / (2 * h);
}
// the whole gradient
static double *fd_grad(double *x, size_t n, size_t n_out, const double *weights, ForwardFn f, void *ctx) {
    double *g = dalloc(n), *tmp = dalloc(n_out);
    for (size_t i = 0; i < n; i++) g[i] = fd_at(x, i, n_out, weights, f, ctx, tmp);
    return g;
}

// ---- float64 references ----

static void ref_gemm(double *C, int ta, int tb, int M, int N, int K, double alpha, const float *A, int lda,
                     const float *B, int ldb, double beta, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++) {
                double a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                double b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += a * b;
            }
            double *c = C + (size_t)i * ldc + j;
            *c = alpha * s + (beta == 0 ? 0 : beta * *c);
        }
}

static void ref_rmsnorm(double *out, const double *x, const double *w, int N, int C, double eps, double *rstd) {
    for (int i = 0; i < N; i++) {
        double ss = 0;
        for (int c = 0; c < C; c++) ss += x[i * C + c] * x[i * C + c];
        double r = 1 / sqrt(ss / C + eps);
        if (rstd) rstd[i] = r;
        for (int c = 0; c < C; c++) out[i * C + c] = x[i * C + c] * r * w[c];
    }
}

static void ref_matmul(double *out, const double *x, const double *w, int N, int C, int OC) {
    for (int i = 0; i < N; i++)
        for (int o = 0; o < OC; o++) out[i * OC + o] = dot_d(x + (size_t)i * C, w + (size_t)o * C, C);
}

// rotate-half RoPE at position pos(row) on the q and k heads of each row
static void ref_rope_rows(double *qkv, int N, const int *pos, int T, int H, int KV, int D, double theta) {
    int row = (H + 2 * KV) * D, half = D / 2;
    for (int i = 0; i < N; i++) {
        int t = pos ? pos[i] : i % T;
        for (int h = 0; h < H + KV; h++) {
            double *v = qkv + (size_t)i * row + h * D;
            for (int j = 0; j < half; j++) {
                double a = t * pow(theta, -2.0 * j / D), x1 = v[j], x2 = v[j + half];
                v[j] = x1 * cos(a) - x2 * sin(a);
                v[j + half] = x2 * cos(a) + x1 * sin(a);
            }
        }
    }
}

static void ref_attention(double *out, double *lse, const double *qkv, int B, int T, int H, int KV, int D) {
    int row = (H + 2 * KV) * D;
    double *p = xmalloc((size_t)T * sizeof(double));
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            int kh = h / (H / KV);
            for (int t = 0; t < T; t++) {
                const double *q = qkv + ((size_t)b * T + t) * row + h * D;
                double mx = -INFINITY;
                for (int s = 0; s <= t; s++) {
                    p[s] = dot_d(q, qkv + ((size_t)b * T + s) * row + (H + kh) * D, D) / sqrt(D);
                    mx = fmax(mx, p[s]);
                }
                double sum = 0;
                for (int s = 0; s <= t; s++) sum += exp(p[s] - mx);
                if (lse) lse[((size_t)b * H + h) * T + t] = mx + log(sum);
                double *o = out + ((size_t)b * T + t) * H * D + h * D;
                for (int d = 0; d < D; d++) o[d] = 0;
                for (int s = 0; s <= t; s++) {
                    const double *v = qkv + ((size_t)b * T + s) * row + (H + KV + kh) * D;
                    for (int d = 0; d < D; d++) o[d] += exp(p[s] - mx) / sum * v[d];
                }
            }
        }
    free(p);
}

static void ref_swiglu(double *out, const double *gu, int N, int F) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < F; j++) {
            double g = gu[(size_t)i * 2 * F + j], u = gu[(size_t)i * 2 * F + F + j];
            out[(size_t)i * F + j] = g / (1 + exp(-g)) * u;
        }
}

// cross-entropy of rows [i0, i1) (ignored rows: 0)
static void ref_ce_rows(double *losses, const double *x, const double *w, const int *targets, int i0, int i1, int C,
                        int V) {
    double *z = xmalloc((size_t)V * sizeof(double));
    for (int i = i0; i < i1; i++) {
        if (targets[i] < 0) {
            losses[i] = 0;
            continue;
        }
        double mx = -INFINITY, s = 0;
        for (int v = 0; v < V; v++) {
            z[v] = dot_d(x + (size_t)i * C, w + (size_t)v * C, C);
            mx = fmax(mx, z[v]);
        }
        for (int v = 0; v < V; v++) s += exp(z[v] - mx);
        losses[i] = mx + log(s) - z[targets[i]];
    }
    free(z);
}

// ---- tests ----

static void test_memory(void) {
    EXPECT(strcmp(be->name, "cpu") == 0 && be->elem_bytes == 4 && be->has_master == 0, "table header %s %zu %d",
           be->name, be->elem_bytes, be->has_master);
    size_t sizes[] = {0, 1, 3, 64, 1000, 1 << 20};
    for (int s = 0; s < 6; s++) {
        unsigned char *p = be->alloc(sizes[s]);
        EXPECT(p != NULL && (uintptr_t)p % 64 == 0, "alloc(%zu) not 64-byte aligned: %p", sizes[s], (void *)p);
        size_t nonzero = 0;
        for (size_t i = 0; i < sizes[s]; i++) nonzero += p[i] != 0;
        EXPECT(nonzero == 0, "alloc(%zu): %zu nonzero bytes", sizes[s], nonzero);
        be->free(p);
    }
    size_t n = 1001;
    float *host = randf(n, 1), *back = poisoned(n);
    void *dev = be->alloc(n * sizeof(float));
    be->upload(dev, host, n * sizeof(float));
    be->download(back, dev, n * sizeof(float));
    check_same("upload/download", host, back, n * sizeof(float));
    be->zero(dev, n * sizeof(float));
    be->upload_f32(dev, host, n - 1);
    float *back2 = poisoned(n);
    be->download_f32(back2, dev, n);
    check_same("upload_f32/download_f32", host, back2, (n - 1) * sizeof(float));
    EXPECT(back2[n - 1] == 0.0f, "zero() left %g", back2[n - 1]);
    be->synchronize();
    be->free(dev);
}

// one gemm implementation against float64: every transpose, alpha/beta cases, padded strides
static void gemm_case(const char *impl,
                      void (*gemm)(int, int, int, int, int, float, const float *, int, const float *, int, float,
                                   float *, int),
                      int M, int N, int K) {
    int pad = 3; // leading dimensions larger than the matrix
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int bcase = 0; bcase < 3; bcase++) {
                float alpha = bcase == 2 ? -0.5f : 1.0f, beta = bcase == 0 ? 0.0f : bcase == 1 ? 1.0f : 0.25f;
                int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
                float *A = randf((size_t)(ta ? K : M) * lda, 1), *B = randf((size_t)(tb ? N : K) * ldb, 1);
                float *C = beta == 0 ? poisoned((size_t)M * ldc) : randf((size_t)M * ldc, 1);
                double *ref = to_d(C, (size_t)M * ldc);
                ref_gemm(ref, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, ldc);
                float *C2 = copyf(C, (size_t)M * ldc);
                gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
                // compare the M x N window; the padding columns must be untouched
                float *win = talloc((size_t)M * N * sizeof(float));
                double *wref = dalloc((size_t)M * N);
                int pad_changed = 0;
                for (int i = 0; i < M; i++) {
                    for (int j = 0; j < N; j++)
                        win[i * N + j] = C[(size_t)i * ldc + j], wref[i * N + j] = ref[(size_t)i * ldc + j];
                    pad_changed += memcmp(C + (size_t)i * ldc + N, C2 + (size_t)i * ldc + N, pad * sizeof(float)) != 0;
                }
                char what[96];
                snprintf(what, sizeof what, "%s %dx%dx%d ta=%d tb=%d beta=%g", impl, M, N, K, ta, tb, beta);
                check(what, win, wref, (size_t)M * N, 1e-5);
                EXPECT(pad_changed == 0, "%s: wrote outside the matrix", what);
                gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C2, ldc);
                check_same(what, C, C2, (size_t)M * ldc * sizeof(float));
            }
}

static void test_gemm(void) {
    // sizes crossing the built-in's tiles (96 x 256 output tiles, 256-deep k steps, 12 x 32
    // micro-tiles with AVX-512) with ragged edges, and small ones
    gemm_case("built-in", gemm_f32_builtin, 100, 300, 300);
    gemm_case("built-in", gemm_f32_builtin, 7, 5, 3);
    gemm_case("built-in", gemm_f32_builtin, 1, 33, 1);
    gemm_case(gemm_impl_name(), gemm_f32, 100, 300, 300);
    gemm_case(gemm_impl_name(), gemm_f32, 7, 5, 3);
    // K = 0: C = beta C
    float c[4] = {1, 2, 3, NAN}, a[1] = {0}, b[1] = {0};
    gemm_f32_builtin(0, 0, 2, 2, 0, 1.0f, a, 1, b, 2, 0.5f, c, 2);
    EXPECT(c[0] == 0.5f && c[1] == 1.0f && c[2] == 1.5f && c[3] != c[3], "K=0 beta=0.5: %g %g %g", c[0], c[1], c[2]);
    gemm_f32_builtin(0, 0, 2, 2, 0, 1.0f, a, 1, b, 2, 0.0f, c, 2);
    EXPECT(c[0] == 0 && c[3] == 0, "K=0 beta=0 left %g %g", c[0], c[3]);
#ifdef _OPENMP
    // the built-in's results do not depend on the thread count, nor on being called inside a
    // parallel region (where it runs on the calling thread)
    int M = 200, N = 530, K = 270, nt = omp_get_max_threads();
    float *A = randf((size_t)M * K, 1), *B = randf((size_t)K * N, 1);
    float *C1 = poisoned((size_t)M * N), *C2 = poisoned((size_t)M * N), *C3 = poisoned((size_t)M * N * 2);
    omp_set_num_threads(1);
    gemm_f32_builtin(0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, C1, N);
    omp_set_num_threads(nt > 1 ? nt : 2);
    gemm_f32_builtin(0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, C2, N);
#pragma omp parallel for num_threads(2)
    for (int r = 0; r < 2; r++) gemm_f32_builtin(0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, C3 + (size_t)r * M * N, N);
    omp_set_num_threads(nt);
    check_same("built-in gemm, 1 vs 2 threads", C1, C2, (size_t)M * N * sizeof(float));
    check_same("built-in gemm inside a parallel region", C1, C3, (size_t)M * N * sizeof(float));
    check_same("built-in gemm inside a parallel region (2)", C1, C3 + (size_t)M * N, (size_t)M * N * sizeof(float));
#endif
}

static void test_expf(void) {
    // the vectorisable exp used by softmax, attention and SwiGLU, against libm's double exp
    double worst = 0;
    for (double x = -87.3; x <= 88.7; x += 0.000917) {
        float xf = (float)x;
        double r = exp((double)xf);
        worst = fmax(worst, fabs(cpu_expf(xf) - r) / r);
    }
    if (verbose) printf("    %-44s err %.2e  (tol %.0e)\n", "cpu_expf relative", worst, 2e-7);
    EXPECT(worst < 2e-7, "cpu_expf relative error %g", worst);
    EXPECT(cpu_expf(0) == 1.0f && cpu_expf(-200) == 0 && cpu_expf(-INFINITY) == 0, "cpu_expf(0 / -200 / -inf)");
    EXPECT(isinf(cpu_expf(100)) && isinf(cpu_expf(INFINITY)) && isnan(cpu_expf(NAN)), "cpu_expf(100 / inf / nan)");
    EXPECT(fabs(cpu_expf(-100) / exp(-100.0) - 1) < 0.05, "cpu_expf(-100) (subnormal) = %g", cpu_expf(-100));
}

static void test_embedding(void) {
    int N = 37, C = 29, V = 11; // V < N: tokens repeat, so dwte rows get several adds
    float *wte = randf((size_t)V * C, 1);
    int *tokens = talloc(N * sizeof(int));
    for (int i = 0; i < N; i++) tokens[i] = rand_int(V);
    float *out = poisoned((size_t)N * C);
    be->embedding_forward(out, tokens, wte, N, C);
    int bad = 0;
    for (int i = 0; i < N; i++) bad += memcmp(out + i * C, wte + tokens[i] * C, C * sizeof(float)) != 0;
    EXPECT(bad == 0, "%d embedding rows wrong", bad);
    float *dout = randf((size_t)N * C, 1), *dwte = randf((size_t)V * C, 1), *dwte2 = copyf(dwte, (size_t)V * C);
    double *ref = to_d(dwte, (size_t)V * C); // += onto the pre-filled values
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) ref[tokens[i] * C + c] += dout[i * C + c];
    be->embedding_backward(dwte, dout, tokens, N, C);
    check("embedding backward (+=)", dwte, ref, (size_t)V * C, 1e-6);
    be->embedding_backward(dwte2, dout, tokens, N, C);
    check_same("embedding backward twice", dwte, dwte2, (size_t)V * C * sizeof(float));
}

typedef struct {
    const double *x, *w;
    int N, C;
} NormCtx;
static void norm_fwd_x(double *out, const double *x, void *c) {
    NormCtx *k = c;
    ref_rmsnorm(out, x, k->w, k->N, k->C, 1e-5, NULL);
}
static void norm_fwd_w(double *out, const double *w, void *c) {
    NormCtx *k = c;
    ref_rmsnorm(out, k->x, w, k->N, k->C, 1e-5, NULL);
}

static void test_rmsnorm(void) {
    int N = 37, C = 29;
    size_t n = (size_t)N * C;
    float *x = randf(n, 1), *w = randf(C, 1), *out = poisoned(n), *rstd = poisoned(N);
    double *xd = to_d(x, n), *wd = to_d(w, C), *ref = dalloc(n), *rstd_ref = dalloc(N);
    be->rmsnorm_forward(out, rstd, x, w, N, C, 1e-5f);
    ref_rmsnorm(ref, xd, wd, N, C, 1e-5, rstd_ref);
    check("rmsnorm forward", out, ref, n, 1e-5);
    check("rmsnorm rstd", rstd, rstd_ref, N, 1e-5);
    float *out2 = poisoned(n), *rstd2 = poisoned(N);
    be->rmsnorm_forward(out2, rstd2, x, w, N, C, 1e-5f);
    check_same("rmsnorm forward twice", out, out2, n * sizeof(float));

    // backward: both outputs accumulate onto pre-filled buffers
    float *dout = randf(n, 1), *dinp = randf(n, 1), *dw = randf(C, 1);
    float *dinp2 = copyf(dinp, n), *dw2 = copyf(dw, C);
    double *doutd = to_d(dout, n), *dinp_ref = to_d(dinp, n), *dw_ref = to_d(dw, C);
    NormCtx ctx = {xd, wd, N, C};
    double *fdx = fd_grad(xd, n, n, doutd, norm_fwd_x, &ctx), *fdw = fd_grad(wd, C, n, doutd, norm_fwd_w, &ctx);
    for (size_t i = 0; i < n; i++) dinp_ref[i] += fdx[i];
    for (int c = 0; c < C; c++) dw_ref[c] += fdw[c];
    be->rmsnorm_backward(dinp, dw, dout, x, w, rstd, N, C);
    check("rmsnorm dinp (+=) vs finite differences", dinp, dinp_ref, n, 1e-5);
    check("rmsnorm dweight (+=) vs finite differences", dw, dw_ref, C, 1e-5);
    be->rmsnorm_backward(dinp2, dw2, dout, x, w, rstd, N, C);
    check_same("rmsnorm dinp twice", dinp, dinp2, n * sizeof(float));
    check_same("rmsnorm dweight twice", dw, dw2, C * sizeof(float));
}

typedef struct {
    const double *x, *w;
    int N, C, OC;
} MatCtx;
static void mat_fwd_x(double *out, const double *x, void *c) {
    MatCtx *k = c;
    ref_matmul(out, x, k->w, k->N, k->C, k->OC);
}
static void mat_fwd_w(double *out, const double *w, void *c) {
    MatCtx *k = c;
    ref_matmul(out, k->x, w, k->N, k->C, k->OC);
}

static void test_matmul(void) {
    int N = 37, C = 29, OC = 41;
    float *x = randf((size_t)N * C, 1), *w = randf((size_t)OC * C, 1), *out = poisoned((size_t)N * OC);
    double *xd = to_d(x, (size_t)N * C), *wd = to_d(w, (size_t)OC * C), *ref = dalloc((size_t)N * OC);
    be->matmul_forward(out, x, w, N, C, OC);
    ref_matmul(ref, xd, wd, N, C, OC);
    check("matmul forward", out, ref, (size_t)N * OC, 1e-5);
    float *out2 = poisoned((size_t)N * OC);
    be->matmul_forward(out2, x, w, N, C, OC);
    check_same("matmul forward twice", out, out2, (size_t)N * OC * sizeof(float));

    float *dout = randf((size_t)N * OC, 1), *dinp = poisoned((size_t)N * C), *dw = randf((size_t)OC * C, 1);
    float *dw_a = copyf(dw, (size_t)OC * C), *dw_b = copyf(dw, (size_t)OC * C), *dinp2 = poisoned((size_t)N * C);
    double *doutd = to_d(dout, (size_t)N * OC), *dw_ref = to_d(dw, (size_t)OC * C);
    MatCtx ctx = {xd, wd, N, C, OC};
    double *fdx = fd_grad(xd, (size_t)N * C, (size_t)N * OC, doutd, mat_fwd_x, &ctx);
    double *fdw = fd_grad(wd, (size_t)OC * C, (size_t)N * OC, doutd, mat_fwd_w, &ctx);
    for (size_t i = 0; i < (size_t)OC * C; i++) dw_ref[i] += fdw[i];
    be->matmul_backward(dinp, dw, dout, x, w, N, C, OC);
    check("matmul dinp (=) vs finite differences", dinp, fdx, (size_t)N * C, 1e-5);
    check("matmul dweight (+=) vs finite differences", dw, dw_ref, (size_t)OC * C, 1e-5);
    be->matmul_backward(dinp2, dw_a, dout, x, w, N, C, OC);
    check_same("matmul dinp twice", dinp, dinp2, (size_t)N * C * sizeof(float));
    check_same("matmul dweight twice", dw, dw_a, (size_t)OC * C * sizeof(float));
    be->matmul_backward(NULL, dw_b, dout, x, w, N, C, OC); // dinp not needed
    check_same("matmul dweight with dinp NULL", dw, dw_b, (size_t)OC * C * sizeof(float));
}

static void test_residual(void) {
    size_t n = 1001;
    float *a = randf(n, 1), *b = randf(n, 1), *out = poisoned(n);
    be->residual_forward(out, a, b, n);
    int bad = 0;
    for (size_t i = 0; i < n; i++) bad += out[i] != a[i] + b[i];
    EXPECT(bad == 0, "%d residual sums wrong", bad);
    be->residual_forward(a, a, b, n); // in place (out == a), as the model does
    check_same("residual in place", a, out, n * sizeof(float));
}

static void rope_tables(float **cs, float **sn, int T, int D, double theta) {
    *cs = talloc((size_t)T * D / 2 * sizeof(float));
    *sn = talloc((size_t)T * D / 2 * sizeof(float));
    for (int t = 0; t < T; t++)
        for (int j = 0; j < D / 2; j++) {
            double a = t * pow(theta, -2.0 * j / D);
            (*cs)[t * D / 2 + j] = (float)cos(a);
            (*sn)[t * D / 2 + j] = (float)sin(a);
        }
}

typedef struct {
    int B, T, H, KV, D;
} AttCtx;
static void rope_fwd(double *out, const double *x, void *c) {
    AttCtx *k = c;
    size_t n = (size_t)k->B * k->T * (k->H + 2 * k->KV) * k->D;
    memcpy(out, x, n * sizeof(double));
    ref_rope_rows(out, k->B * k->T, NULL, k->T, k->H, k->KV, k->D, 10000.0);
}

static void test_rope(void) {
    int B = 2, T = 7, H = 6, KV = 2, D = 8, row = (H + 2 * KV) * D;
    size_t n = (size_t)B * T * row;
    float *cs, *sn;
    rope_tables(&cs, &sn, T, D, 10000.0);
    float *x = randf(n, 1), *x0 = copyf(x, n);
    double *ref = to_d(x, n);
    ref_rope_rows(ref, B * T, NULL, T, H, KV, D, 10000.0);
    be->rope_forward(x, cs, sn, B, T, H, KV, D);
    check("rope forward", x, ref, n, 1e-5);
    int v_changed = 0;
    for (int i = 0; i < B * T; i++)
        v_changed += memcmp(x + (size_t)i * row + (H + KV) * D, x0 + (size_t)i * row + (H + KV) * D, KV * D * 4) != 0;
    EXPECT(v_changed == 0, "rope forward changed %d v parts", v_changed);
    // backward (in place on the gradient) against finite differences of the forward
    float *dy = randf(n, 1);
    double *dyd = to_d(dy, n), *xd = to_d(x0, n);
    AttCtx ctx = {B, T, H, KV, D};
    double *fd = fd_grad(xd, n, n, dyd, rope_fwd, &ctx);
    be->rope_backward(dy, cs, sn, B, T, H, KV, D);
    check("rope backward vs finite differences", dy, fd, n, 1e-5);
}

static void att_fwd(double *out, const double *qkv, void *c) {
    AttCtx *k = c;
    ref_attention(out, NULL, qkv, k->B, k->T, k->H, k->KV, k->D);
}

// attention forward against float64; backward (both strategies) against finite differences
// at every coordinate (full = 1) or at `samples` random ones
static void attention_case(int B, int T, int H, int KV, int D, int full, int samples) {
    int row = (H + 2 * KV) * D;
    size_t n = (size_t)B * T * row, n_out = (size_t)B * T * H * D, n_lse = (size_t)B * H * T;
    char what[128];
    float *qkv = randf(n, 1), *out = poisoned(n_out), *lse = poisoned(n_lse);
    double *qkvd = to_d(qkv, n), *ref = dalloc(n_out), *lse_ref = dalloc(n_lse);
    ref_attention(ref, lse_ref, qkvd, B, T, H, KV, D);
    be->attention_forward(out, lse, qkv, B, T, H, KV, D);
    snprintf(what, sizeof what, "attention forward B%d T%d H%d KV%d D%d", B, T, H, KV, D);
    check(what, out, ref, n_out, 1e-5);
    snprintf(what, sizeof what, "attention lse B%d T%d H%d KV%d D%d", B, T, H, KV, D);
    check(what, lse, lse_ref, n_lse, 1e-5);
    float *out2 = poisoned(n_out), *lse2 = poisoned(n_lse);
    be->attention_forward(out2, lse2, qkv, B, T, H, KV, D);
    check_same("attention forward twice", out, out2, n_out * sizeof(float));
    check_same("attention lse twice", lse, lse2, n_lse * sizeof(float));

    float *dout = randf(n_out, 1);
    double *doutd = to_d(dout, n_out);
    AttCtx ctx = {B, T, H, KV, D};
    size_t m = full ? n : (size_t)samples;
    size_t *idx = talloc(m * sizeof(size_t));
    double *fd = dalloc(m), *tmp = dalloc(n_out), *fd_ref = dalloc(m);
    for (size_t i = 0; i < m; i++) {
        idx[i] = full ? i : (size_t)(rng_u64(&rng) % n);
        fd[i] = fd_at(qkvd, idx[i], n_out, doutd, att_fwd, &ctx, tmp);
    }
    float *first = NULL;
    for (int mode = 1; mode <= 2; mode++) {
        cpu_attention_backward_mode = mode;
        float *dqkv = poisoned(n), *dqkv2 = poisoned(n), *got = talloc(m * sizeof(float));
        be->attention_backward(dqkv, dout, out, lse, qkv, B, T, H, KV, D);
        for (size_t i = 0; i < m; i++) got[i] = dqkv[idx[i]], fd_ref[i] = fd[i];
        snprintf(what, sizeof what, "attention backward (%s) B%d T%d H%d KV%d%s", mode == 1 ? "1 pass" : "2 pass", B, T,
                 H, KV, full ? "" : " sampled");
        check(what, got, fd_ref, m, 1e-5);
        double *all = to_d(dqkv, n);
        EXPECT(scaled_err_f64(dqkv, all, n) == 0, "%s: NaN left in dqkv (unwritten elements)", what);
        be->attention_backward(dqkv2, dout, out, lse, qkv, B, T, H, KV, D);
        check_same(what, dqkv, dqkv2, n * sizeof(float));
        if (!first)
            first = dqkv;
        else {
            double *a = to_d(first, n);
            snprintf(what, sizeof what, "attention backward 1 pass vs 2 pass T%d", T);
            check(what, dqkv, a, n, 1e-5);
        }
    }
    cpu_attention_backward_mode = 0;
}

static void test_attention(void) {
    attention_case(2, 7, 6, 2, 8, 1, 0);     // GQA, every coordinate
    attention_case(1, 130, 4, 2, 8, 0, 400); // three query blocks (64, 64, 2): block edges
    attention_case(2, 70, 3, 3, 16, 0, 200); // H == KV
    attention_case(1, 65, 4, 1, 8, 0, 200);  // one kv head for all
    // large scores: the softmax must stay finite (max subtraction)
    int B = 1, T = 20, H = 2, KV = 1, D = 8;
    size_t n = (size_t)B * T * (H + 2 * KV) * D, n_out = (size_t)B * T * H * D;
    float *qkv = randf(n, 12), *out = poisoned(n_out), *lse = poisoned((size_t)B * H * T);
    double *qkvd = to_d(qkv, n), *ref = dalloc(n_out);
    ref_attention(ref, NULL, qkvd, B, T, H, KV, D);
    be->attention_forward(out, lse, qkv, B, T, H, KV, D);
    check("attention forward, scores ~1e3", out, ref, n_out, 1e-5);
}

typedef struct {
    int N, F;
} SwiCtx;
static void swi_fwd(double *out, const double *gu, void *c) {
    SwiCtx *k = c;
    ref_swiglu(out, gu, k->N, k->F);
}

static void test_swiglu(void) {
    int N = 37, F = 29;
    size_t n_in = (size_t)N * 2 * F, n_out = (size_t)N * F;
    float *gu = randf(n_in, 2), *out = poisoned(n_out), *out2 = poisoned(n_out);
    gu[0] = 100, gu[1] = -100, gu[2] = 1000, gu[3] = -1000; // saturated gates stay finite
    double *gud = to_d(gu, n_in), *ref = dalloc(n_out);
    ref_swiglu(ref, gud, N, F);
    be->swiglu_forward(out, gu, N, F);
    check("swiglu forward", out, ref, n_out, 1e-5);
    be->swiglu_forward(out2, gu, N, F);
    check_same("swiglu forward twice", out, out2, n_out * sizeof(float));
    float *dout = randf(n_out, 1), *dgu = poisoned(n_in), *dgu2 = poisoned(n_in);
    double *doutd = to_d(dout, n_out);
    SwiCtx ctx = {N, F};
    double *fd = fd_grad(gud, n_in, n_out, doutd, swi_fwd, &ctx);
    be->swiglu_backward(dgu, dout, gu, N, F);
    check("swiglu backward (=) vs finite differences", dgu, fd, n_in, 1e-5);
    be->swiglu_backward(dgu2, dout, gu, N, F);
    check_same("swiglu backward twice", dgu, dgu2, n_in * sizeof(float));
}

static const int *bad_targets;
static void classifier_bad_target(const char *arg) {
    (void)arg;
    float losses[4], scratch[CLASSIFIER_CHUNK * 5], x[4 * 3] = {0}, w[5 * 3] = {0};
    be->classifier(losses, NULL, NULL, scratch, x, w, bad_targets, NULL, 4, 3, 5);
}

static void test_classifier(void) {
    // N and V both above CLASSIFIER_CHUNK: two row chunks; ignored targets; per-row dlosses
    // (some zero); logits up to ~+-40 so the max subtraction matters
    int N = 300, C = 24, V = 300;
    float *x = randf((size_t)N * C, 1.3), *w = randf((size_t)V * C, 1.3);
    int *targets = talloc(N * sizeof(int));
    for (int i = 0; i < N; i++) targets[i] = i % 17 == 5 ? -1 : i % 13 == 0 ? -100 : rand_int(V);
    targets[1] = V - 1, targets[2] = 0;
    float *dl = randf(N, 1);
    for (int i = 0; i < N; i += 29) dl[i] = 0;
    double *xd = to_d(x, (size_t)N * C), *wd = to_d(w, (size_t)V * C), *dld = to_d(dl, N), *ref = dalloc(N);
    ref_ce_rows(ref, xd, wd, targets, 0, N, C, V);
    float *scratch = talloc((size_t)CLASSIFIER_CHUNK * V * sizeof(float));
    float *losses = poisoned(N);
    // no backward: dinp / dweight given but untouched
    float *dinp_keep = randf((size_t)N * C, 1), *dw_keep = randf((size_t)V * C, 1);
    float *dinp_keep0 = copyf(dinp_keep, (size_t)N * C), *dw_keep0 = copyf(dw_keep, (size_t)V * C);
    be->classifier(losses, dinp_keep, dw_keep, scratch, x, w, targets, NULL, N, C, V);
    check("classifier losses", losses, ref, N, 1e-5);
    check_same("classifier without dlosses leaves dinp", dinp_keep, dinp_keep0, (size_t)N * C * sizeof(float));
    check_same("classifier without dlosses leaves dweight", dw_keep, dw_keep0, (size_t)V * C * sizeof(float));
    float *losses0 = poisoned(N);
    be->classifier(losses0, NULL, NULL, scratch, x, w, targets, NULL, N, C, V);
    check_same("classifier losses twice", losses, losses0, N * sizeof(float));

    // float64 gradient of sum_i dl_i loss_i, written out: dlogits = (softmax - onehot) dl_i
    float *dw0 = randf((size_t)V * C, 1);
    double *gx = dalloc((size_t)N * C), *gw = to_d(dw0, (size_t)V * C), *z = dalloc(V); // += onto dw0
    memset(gx, 0, (size_t)N * C * sizeof(double));
    for (int i = 0; i < N; i++) {
        if (targets[i] < 0) continue;
        double mx = -INFINITY, s = 0;
        for (int v = 0; v < V; v++) z[v] = dot_d(xd + (size_t)i * C, wd + (size_t)v * C, C), mx = fmax(mx, z[v]);
        for (int v = 0; v < V; v++) s += exp(z[v] - mx);
        for (int v = 0; v < V; v++) {
            double g = (exp(z[v] - mx) / s - (v == targets[i])) * dld[i];
            for (int c = 0; c < C; c++) {
                gx[(size_t)i * C + c] += g * wd[(size_t)v * C + c];
                gw[(size_t)v * C + c] += g * xd[(size_t)i * C + c];
            }
        }
    }
    float *dinp = poisoned((size_t)N * C), *dw = copyf(dw0, (size_t)V * C);
    be->classifier(losses, dinp, dw, scratch, x, w, targets, dl, N, C, V);
    check("classifier losses (with backward)", losses, ref, N, 1e-5);
    check("classifier dinp (=)", dinp, gx, (size_t)N * C, 1e-5);
    check("classifier dweight (+=)", dw, gw, (size_t)V * C, 1e-5);
    int ignored_nonzero = 0;
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) ignored_nonzero += (targets[i] < 0 || dl[i] == 0) && dinp[i * C + c] != 0;
    EXPECT(ignored_nonzero == 0, "ignored / zero-weight rows got %d nonzero gradients", ignored_nonzero);

    // finite differences of the float64 loss at sampled coordinates (a row's input only moves
    // its own loss; a weight moves every row's)
    int samples = 60;
    float *got = talloc(2 * samples * sizeof(float));
    double *fd = dalloc(2 * samples), *tmp = dalloc(N);
    for (int s = 0; s < samples; s++) {
        size_t k = rng_u64(&rng) % ((size_t)N * C);
        int i = (int)(k / C);
        double saved = xd[k];
        xd[k] = saved + 1e-6;
        ref_ce_rows(tmp, xd, wd, targets, i, i + 1, C, V);
        double up = tmp[i];
        xd[k] = saved - 1e-6;
        ref_ce_rows(tmp, xd, wd, targets, i, i + 1, C, V);
        xd[k] = saved;
        fd[s] = (up - tmp[i]) / 2e-6 * dld[i];
        got[s] = dinp[k];
    }
    for (int s = 0; s < samples; s++) {
        size_t k = rng_u64(&rng) % ((size_t)V * C);
        double saved = wd[k];
        wd[k] = saved + 1e-6;
        ref_ce_rows(tmp, xd, wd, targets, 0, N, C, V);
        double up = dot_d(tmp, dld, N);
        wd[k] = saved - 1e-6;
        ref_ce_rows(tmp, xd, wd, targets, 0, N, C, V);
        wd[k] = saved;
        fd[samples + s] = (up - dot_d(tmp, dld, N)) / 2e-6;
        got[samples + s] = dw[k] - dw0[k];
    }
    check("classifier dinp vs finite differences", got, fd, samples, 1e-5);
    check("classifier dweight vs finite differences", got + samples, fd + samples, samples, 1e-5);

    // the same backward again, and with one of the two gradients not wanted
    float *dinp2 = poisoned((size_t)N * C), *dw2 = copyf(dw0, (size_t)V * C), *dinp3 = poisoned((size_t)N * C);
    float *dw3 = copyf(dw0, (size_t)V * C);
    be->classifier(losses0, dinp2, dw2, scratch, x, w, targets, dl, N, C, V);
    check_same("classifier dinp twice", dinp, dinp2, (size_t)N * C * sizeof(float));
    check_same("classifier dweight twice", dw, dw2, (size_t)V * C * sizeof(float));
    be->classifier(losses0, dinp3, NULL, scratch, x, w, targets, dl, N, C, V);
    check_same("classifier dinp with dweight NULL", dinp, dinp3, (size_t)N * C * sizeof(float));
    be->classifier(losses0, NULL, dw3, scratch, x, w, targets, dl, N, C, V);
    check_same("classifier dweight with dinp NULL", dw, dw3, (size_t)V * C * sizeof(float));

    // a target >= V is an error, not a wild read
    int bad[4] = {1, 2, 5, 0};
    bad_targets = bad;
    expect_failure_exit(classifier_bad_target, NULL, "outside the vocabulary", "5", "classifier target 5 >= V 5");
}

static void test_adamw(void) {
    size_t n = 1003;
    float *p = randf(n, 1), *m = talloc(n * sizeof(float)), *v = talloc(n * sizeof(float));
    memset(m, 0, n * sizeof(float)), memset(v, 0, n * sizeof(float));
    float *p2 = copyf(p, n), *m2 = copyf(m, n), *v2 = copyf(v, n);
    double *pd = to_d(p, n), *md = dalloc(n), *vd = dalloc(n);
    memset(md, 0, n * sizeof(double)), memset(vd, 0, n * sizeof(double));
    float lr = 1e-2f, b1 = 0.9f, b2 = 0.95f, eps = 1e-8f, wd = 0.1f, scale = 0.5f;
    for (int t = 1; t <= 6; t++) {
        float *g = randf(n, t == 3 ? 1e-3 : 1); // step 3: tiny gradients (eps matters less than sqrt(v))
        be->adamw_update(p, NULL, g, m, v, n, lr, b1, b2, eps, wd, scale, t);
        be->adamw_update(p2, NULL, g, m2, v2, n, lr, b1, b2, eps, wd, scale, t);
        for (size_t i = 0; i < n; i++) {
            double gi = (double)g[i] * scale;
            md[i] = b1 * md[i] + (1 - (double)b1) * gi;
            vd[i] = b2 * vd[i] + (1 - (double)b2) * gi * gi;
            double mh = md[i] / (1 - pow(b1, t)), vh = vd[i] / (1 - pow(b2, t));
            pd[i] -= lr * (mh / (sqrt(vh) + eps) + wd * pd[i]);
        }
    }
    check("adamw params after 6 steps", p, pd, n, 1e-5);
    check("adamw m", m, md, n, 1e-5);
    check("adamw v", v, vd, n, 1e-5);
    check_same("adamw twice (params)", p, p2, n * sizeof(float));
    check_same("adamw twice (m)", m, m2, n * sizeof(float));
    check_same("adamw twice (v)", v, v2, n * sizeof(float));
}

static void test_sum_squares(void) {
    size_t sizes[] = {0, 1, 5, 100003};
    for (int s = 0; s < 4; s++) {
        size_t n = sizes[s];
        float *g = randf(n ? n : 1, 3);
        double ref = 0;
        for (size_t i = 0; i < n; i++) ref += (double)g[i] * g[i];
        double got = be->sum_squares(g, n), again = be->sum_squares(g, n);
        double e = n ? fabs(got - ref) / ref : fabs(got);
        if (verbose) printf("    sum_squares n=%-32zu err %.2e  (tol 1e-12)\n", n, e);
        EXPECT(e < 1e-12, "sum_squares n=%zu: %.17g vs %.17g", n, got, ref);
        EXPECT(memcmp(&got, &again, sizeof got) == 0, "sum_squares n=%zu not deterministic", n);
    }
}

static void test_decode_ops(void) {
    // rope at explicit positions, kv_store, and one-row attention against the cache
    int B = 3, S = 40, H = 6, KV = 2, D = 8, row = (H + 2 * KV) * D, kvd = KV * D;
    float *cs, *sn;
    rope_tables(&cs, &sn, S, D, 10000.0);
    int pos[3] = {0, 17, 39}, seq[3] = {0, 1, 2}, len[3] = {1, 18, 40};
    float *qkv = randf((size_t)B * row, 1);
    double *ref = to_d(qkv, (size_t)B * row);
    ref_rope_rows(ref, B, pos, 0, H, KV, D, 10000.0);
    be->rope_forward_at(qkv, cs, sn, pos, B, H, KV, D);
    check("rope_forward_at", qkv, ref, (size_t)B * row, 1e-5);

    // caches with random history; kv_store writes row b at (seq b, pos b) and nothing else
    float *kc = randf((size_t)B * S * kvd, 1), *vc = randf((size_t)B * S * kvd, 1);
    float *kc0 = copyf(kc, (size_t)B * S * kvd), *vc0 = copyf(vc, (size_t)B * S * kvd);
    be->kv_store(kc, vc, qkv, seq, pos, B, S, H, KV, D);
    int bad = 0;
    for (int b = 0; b < B; b++)
        for (int s = 0; s < S; s++) {
            size_t at = ((size_t)b * S + s) * kvd;
            const float *want_k = s == pos[b] ? qkv + (size_t)b * row + H * D : kc0 + at;
            const float *want_v = s == pos[b] ? qkv + (size_t)b * row + (H + KV) * D : vc0 + at;
            bad += memcmp(kc + at, want_k, kvd * 4) != 0 || memcmp(vc + at, want_v, kvd * 4) != 0;
        }
    EXPECT(bad == 0, "kv_store: %d cache rows wrong", bad);

    float *out = poisoned((size_t)B * H * D), *out2 = poisoned((size_t)B * H * D);
    be->attention_decode(out, qkv, kc, vc, len, B, S, H, KV, D);
    double *oref = dalloc((size_t)B * H * D), *p = dalloc(S);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            int kh = h / (H / KV);
            double mx = -INFINITY, sum = 0;
            for (int s = 0; s < len[b]; s++) {
                double d = 0;
                for (int j = 0; j < D; j++)
                    d += (double)qkv[(size_t)b * row + h * D + j] * kc[((size_t)b * S + s) * kvd + kh * D + j];
                p[s] = d / sqrt(D), mx = fmax(mx, p[s]);
            }
            for (int s = 0; s < len[b]; s++) sum += exp(p[s] - mx);
            for (int j = 0; j < D; j++) {
                double o = 0;
                for (int s = 0; s < len[b]; s++) o += exp(p[s] - mx) / sum * vc[((size_t)b * S + s) * kvd + kh * D + j];
                oref[((size_t)b * H + h) * D + j] = o;
            }
        }
    check("attention_decode", out, oref, (size_t)B * H * D, 1e-5);
    be->attention_decode(out2, qkv, kc, vc, len, B, S, H, KV, D);
    check_same("attention_decode twice", out, out2, (size_t)B * H * D * sizeof(float));
}

static void select_device(const char *name) { backend_select(name, 1); }

static void test_backend_select(void) {
    EXPECT(backend_select("cpu", 0) == be, "backend_select(cpu) is not the cpu table");
    const char *list = backend_compiled_list();
    EXPECT(strncmp(list, "cpu (", 5) == 0 && strstr(list, gemm_impl_name()), "compiled list: %s", list);
#ifdef STRAP_BLAS
    EXPECT(strstr(list, "OpenBLAS") != NULL, "compiled list: %s", list);
#else
    EXPECT(strstr(list, "built-in sgemm") != NULL, "compiled list: %s", list);
#endif
    expect_failure_exit(select_device, "tpu", "'tpu'", "auto, cpu or cuda", "--device tpu");
#ifndef STRAP_CUDA
    const char *why = NULL;
    EXPECT(backend_cuda(0, &why) == NULL && why && strstr(why, "without CUDA"), "backend_cuda in a CPU-only build");
    EXPECT(strstr(list, "cuda") == NULL, "compiled list names cuda: %s", list);
    EXPECT(backend_select("auto", 0) == be, "auto without CUDA is not the cpu backend");
    expect_failure_exit(select_device, "cuda", "no CUDA device", "without CUDA", "--device cuda in a CPU-only build");
#else
    EXPECT(strstr(list, "cuda") != NULL, "compiled list lacks cuda: %s", list);
    // A child process asks for the GPU (the parent must not set CUDA up before forking):
    // exit 2 = a GPU is there (nothing more to test here), 1 = none and auto gave the CPU.
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        const char *why = NULL;
        if (backend_cuda(0, &why)) _exit(2);
        _exit(why && backend_select("auto", 1) == backend_cpu(1) ? 1 : 3);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    EXPECT(code == 1 || code == 2, "probing CUDA in a child: exit %d", code);
    if (code == 1) expect_failure_exit(select_device, "cuda", "no CUDA device", NULL, "--device cuda without a GPU");
#endif
    backend_cpu(0); // restore the thread count
}

int main(int argc, char **argv) {
    verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
    rng_seed(&rng, 2024);
    be = backend_cpu(0);
    TEST(test_memory);
    TEST(test_gemm);
    TEST(test_expf);
    TEST(test_embedding);
    TEST(test_rmsnorm);
    TEST(test_matmul);
    TEST(test_residual);
    TEST(test_rope);
    TEST(test_attention);
    TEST(test_swiglu);
    TEST(test_classifier);
    TEST(test_adamw);
    TEST(test_sum_squares);
    TEST(test_decode_ops);
    TEST(test_backend_select);
    return test_summary();
}
