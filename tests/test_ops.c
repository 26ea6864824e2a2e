// test_ops.c: every CPU backend op against an independent float64 implementation written
// here, every backward against central finite differences of that float64 forward, the
// write rules ("=" outputs are poisoned first, "+=" outputs pre-filled), and determinism
// (the same call twice gives the same bits).
//
// Tolerances: ops compute in fp32 with sums of at most a few hundred terms, so results sit
// within ~1e-6 relative of float64; 1e-5 (scaled by the largest reference value) leaves
// margin. Finite differences run in float64 (step 1e-6) on the float64 forward, so they
// check the float64 backward formulas to ~1e-8; the fp32 op is then compared with those.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/backend.h"
#include "../kernels/check.h"
#include "../kernels/cpu/gemm.h"
#include "../model/rng.h"
#include "test.h"

static Rng rng;
static Backend *be;

static float *randf(size_t n, double scale) {
    float *x = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = (float)(scale * rng_normal(&rng));
    return x;
}
static double *to_d(const float *x, size_t n) {
    double *d = xmalloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) d[i] = x[i];
    return d;
}
static float *poisoned(size_t n) {
    float *x = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = NAN;
    return x;
}
// max |a-b| / max|b|
static double err(const float *a, const double *b, size_t n) {
    double worst = 0, scale = 1e-30;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]);
        if (d != d) return INFINITY;
        worst = fmax(worst, d);
    }
    return worst / scale;
}
static double dot_d(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

// ---- float64 references ----

static void ref_rmsnorm(double *out, const double *x, const double *w, int N, int C, double eps) {
    for (int i = 0; i < N; i++) {
        double ss = 0;
        for (int c = 0; c < C; c++) ss += x[i * C + c] * x[i * C + c];
        double r = 1 / sqrt(ss / C + eps);
        for (int c = 0; c < C; c++) out[i * C + c] = x[i * C + c] * r * w[c];
    }
}

static void ref_matmul(double *out, const double *x, const double *w, int N, int C, int OC) {
    for (int i = 0; i < N; i++)
        for (int o = 0; o < OC; o++) {
            double s = 0;
            for (int c = 0; c < C; c++) s += x[i * C + c] * w[o * C + c];
            out[i * OC + o] = s;
        }
}

static void ref_rope(double *qkv, int B, int T, int H, int KV, int D, double theta) {
    int row = (H + 2 * KV) * D, half = D / 2;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < H + KV; h++) {
                double *v = qkv + ((size_t)b * T + t) * row + h * D;
                for (int j = 0; j < half; j++) {
                    double a = t * pow(theta, -2.0 * j / D);
                    double x1 = v[j], x2 = v[j + half];
                    v[j] = x1 * cos(a) - x2 * sin(a);
                    v[j + half] = x2 * cos(a) + x1 * sin(a);
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
                    const double *k = qkv + ((size_t)b * T + s) * row + (H + kh) * D;
                    p[s] = dot_d(q, k, D) / sqrt(D);
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

static void ref_ce(double *losses, const double *x, const double *w, const int *targets, int N, int C, int V) {
    double *z = xmalloc((size_t)V * sizeof(double));
    for (int i = 0; i < N; i++) {
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

// Finite-difference gradient of L(x) = sum(f(x) * weights) with respect to x[i].
typedef void (*ForwardFn)(double *out, const double *x, void *ctx);
static void fd_grad(double *grad, double *x, size_t n, size_t n_out, const double *weights, ForwardFn f, void *ctx) {
    double *out = xmalloc(n_out * sizeof(double));
    double h = 1e-6;
    for (size_t i = 0; i < n; i++) {
        double saved = x[i];
        x[i] = saved + h;
        f(out, x, ctx);
        double up = dot_d(out, weights, n_out);
        x[i] = saved - h;
        f(out, x, ctx);
        double down = dot_d(out, weights, n_out);
        x[i] = saved;
        grad[i] = (up - down) / (2 * h);
    }
    free(out);
}

// ---- tests ----

static void test_embedding(void) {
    int N = 37, C = 29, V = 11;
    float *wte = randf((size_t)V * C, 1);
    int tokens[37];
    for (int i = 0; i < N; i++) tokens[i] = (int)(rng_u64(&rng) % V);
    float *out = poisoned((size_t)N * C);
    be->embedding_forward(out, tokens, wte, N, C);
    int bad = 0;
    for (int i = 0; i < N; i++) bad += memcmp(out + i * C, wte + tokens[i] * C, C * sizeof(float)) != 0;
    EXPECT(bad == 0, "%d embedding rows wrong", bad);
    float *dout = randf((size_t)N * C, 1), *dwte = randf((size_t)V * C, 1);
    double *ref = to_d(dwte, (size_t)V * C);
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) ref[tokens[i] * C + c] += dout[i * C + c];
    be->embedding_backward(dwte, dout, tokens, N, C);
    EXPECT(err(dwte, ref, (size_t)V * C) < 1e-6, "embedding backward err %g", err(dwte, ref, (size_t)V * C));
    free(wte), free(out), free(dout), free(dwte), free(ref);
}

typedef struct {
    const double *w;
    int N, C;
} NormCtx;
static void norm_fwd_x(double *out, const double *x, void *c) {
    NormCtx *k = c;
    ref_rmsnorm(out, x, k->w, k->N, k->C, 1e-5);
}

static void test_rmsnorm(void) {
    int N = 13, C = 29;
    float *x = randf((size_t)N * C, 1), *w = randf(C, 1), *out = poisoned((size_t)N * C), *rstd = poisoned(N);
    double *xd = to_d(x, (size_t)N * C), *wd = to_d(w, C), *ref = xmalloc((size_t)N * C * sizeof(double));
    be->rmsnorm_forward(out, rstd, x, w, N, C, 1e-5f);
    ref_rmsnorm(ref, xd, wd, N, C, 1e-5);
    EXPECT(err(out, ref, (size_t)N * C) < 1e-5, "rmsnorm forward err %g", err(out, ref, (size_t)N * C));
    // backward: dinp (+= onto a pre-filled buffer) against finite differences
    float *dout = randf((size_t)N * C, 1), *dinp = randf((size_t)N * C, 1), *dw = randf(C, 1);
    double *doutd = to_d(dout, (size_t)N * C), *fd = xmalloc((size_t)N * C * sizeof(double));
    double *dinp_ref = to_d(dinp, (size_t)N * C), *dw_ref = to_d(dw, C);
    NormCtx ctx = {wd, N, C};
    fd_grad(fd, xd, (size_t)N * C, (size_t)N * C, doutd, norm_fwd_x, &ctx);
    for (int i = 0; i < N * C; i++) dinp_ref[i] += fd[i];
    // d/dw by finite differences too (w as the variable)
    double *fdw = xmalloc(C * sizeof(double)), *out_tmp = xmalloc((size_t)N * C * sizeof(double));
    for (int c = 0; c < C; c++) {
        double s = wd[c];
        wd[c] = s + 1e-6;
        ref_rmsnorm(out_tmp, xd, wd, N, C, 1e-5);
        double up = dot_d(out_tmp, doutd, (size_t)N * C);
        wd[c] = s - 1e-6;
        ref_rmsnorm(out_tmp, xd, wd, N, C, 1e-5);
        double down = dot_d(out_tmp, doutd, (size_t)N * C);
        wd[c] = s;
        fdw[c] = (up - down) / 2e-6;
        dw_ref[c] += fdw[c];
    }
    be->rmsnorm_backward(dinp, dw, dout, x, w, rstd, N, C);
    EXPECT(err(dinp, dinp_ref, (size_t)N * C) < 1e-5, "rmsnorm dinp err %g", err(dinp, dinp_ref, (size_t)N * C));
    EXPECT(err(dw, dw_ref, C) < 1e-5, "rmsnorm dweight err %g", err(dw, dw_ref, C));
    free(x), free(w), free(out), free(rstd), free(xd), free(wd), free(ref), free(dout), free(dinp), free(dw);
    free(doutd), free(fd), free(dinp_ref), free(dw_ref), free(fdw), free(out_tmp);
}

static void test_matmul(void) {
    int N = 37, C = 29, OC = 41;
    float *x = randf((size_t)N * C, 1), *w = randf((size_t)OC * C, 1), *out = poisoned((size_t)N * OC);
    double *xd = to_d(x, (size_t)N * C), *wd = to_d(w, (size_t)OC * C), *ref = xmalloc((size_t)N * OC * sizeof(double));
    be->matmul_forward(out, x, w, N, C, OC);
    ref_matmul(ref, xd, wd, N, C, OC);
    EXPECT(err(out, ref, (size_t)N * OC) < 1e-5, "matmul forward err %g", err(out, ref, (size_t)N * OC));
    // backward: the exact gradients of a linear map (finite differences would be exact too)
    float *dout = randf((size_t)N * OC, 1), *dinp = poisoned((size_t)N * C), *dw = randf((size_t)OC * C, 1);
    double *dinp_ref = xmalloc((size_t)N * C * sizeof(double)), *dw_ref = to_d(dw, (size_t)OC * C);
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) {
            double s = 0;
            for (int o = 0; o < OC; o++) s += (double)dout[i * OC + o] * w[o * C + c];
            dinp_ref[i * C + c] = s;
        }
    for (int o = 0; o < OC; o++)
        for (int c = 0; c < C; c++) {
            double s = 0;
            for (int i = 0; i < N; i++) s += (double)dout[i * OC + o] * x[i * C + c];
            dw_ref[o * C + c] += s;
        }
    be->matmul_backward(dinp, dw, dout, x, w, N, C, OC);
    EXPECT(err(dinp, dinp_ref, (size_t)N * C) < 1e-5, "matmul dinp err %g", err(dinp, dinp_ref, (size_t)N * C));
    EXPECT(err(dw, dw_ref, (size_t)OC * C) < 1e-5, "matmul dweight err %g", err(dw, dw_ref, (size_t)OC * C));
    free(x), free(w), free(out), free(xd), free(wd), free(ref), free(dout), free(dinp), free(dw), free(dinp_ref), free(dw_ref);
}

static void test_gemm_transposes(void) {
    // every transpose combination against float64, odd sizes crossing block edges
    int M = 70, N = 300, K = 260;
    float *A = randf((size_t)M * K, 1), *Bm = randf((size_t)K * N, 1);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            float *Cm = randf((size_t)M * N, 1);
            double *ref = to_d(Cm, (size_t)M * N);
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double s = 0;
                    for (int k = 0; k < K; k++) {
                        double a = ta ? A[(size_t)k * M + i] : A[(size_t)i * K + k];
                        double b = tb ? Bm[(size_t)j * K + k] : Bm[(size_t)k * N + j];
                        s += a * b;
                    }
                    ref[(size_t)i * N + j] = 0.5 * s + 0.25 * ref[(size_t)i * N + j];
                }
            gemm_f32(ta, tb, M, N, K, 0.5f, A, ta ? M : K, Bm, tb ? K : N, 0.25f, Cm, N);
            EXPECT(err(Cm, ref, (size_t)M * N) < 1e-5, "%s gemm ta=%d tb=%d err %g", gemm_impl_name(), ta, tb,
                   err(Cm, ref, (size_t)M * N));
            free(Cm), free(ref);
        }
    free(A), free(Bm);
}

static void rope_tables(float **cs, float **sn, int T, int D, double theta) {
    *cs = xmalloc((size_t)T * D / 2 * sizeof(float));
    *sn = xmalloc((size_t)T * D / 2 * sizeof(float));
    for (int t = 0; t < T; t++)
        for (int j = 0; j < D / 2; j++) {
            double a = t * pow(theta, -2.0 * j / D);
            (*cs)[t * D / 2 + j] = (float)cos(a);
            (*sn)[t * D / 2 + j] = (float)sin(a);
        }
}

static void test_rope(void) {
    int B = 2, T = 7, H = 6, KV = 2, D = 8, row = (H + 2 * KV) * D;
    size_t n = (size_t)B * T * row;
    float *cs, *sn;
    rope_tables(&cs, &sn, T, D, 10000.0);
    float *x = randf(n, 1);
    double *ref = to_d(x, n);
    ref_rope(ref, B, T, H, KV, D, 10000.0);
    be->rope_forward(x, cs, sn, B, T, H, KV, D);
    EXPECT(err(x, ref, n) < 1e-5, "rope forward err %g", err(x, ref, n));
    // backward = transpose: <rope(a), b> == <a, rope_backward(b)>
    float *a = randf(n, 1), *b = randf(n, 1), *ra = xmalloc(n * sizeof(float)), *rb = xmalloc(n * sizeof(float));
    memcpy(ra, a, n * sizeof(float));
    memcpy(rb, b, n * sizeof(float));
    be->rope_forward(ra, cs, sn, B, T, H, KV, D);
    be->rope_backward(rb, cs, sn, B, T, H, KV, D);
    double l = 0, r = 0;
    for (size_t i = 0; i < n; i++) l += (double)ra[i] * b[i], r += (double)a[i] * rb[i];
    EXPECT(fabs(l - r) < 1e-4 * fabs(l) + 1e-4, "rope backward is not the transpose: %g vs %g", l, r);
    free(cs), free(sn), free(x), free(ref), free(a), free(b), free(ra), free(rb);
}

typedef struct {
    int B, T, H, KV, D;
} AttCtx;
static void att_fwd(double *out, const double *qkv, void *c) {
    AttCtx *k = c;
    ref_attention(out, NULL, qkv, k->B, k->T, k->H, k->KV, k->D);
}

static void test_attention(void) {
    int B = 2, T = 7, H = 6, KV = 2, D = 8, row = (H + 2 * KV) * D;
    size_t n = (size_t)B * T * row, n_out = (size_t)B * T * H * D;
    float *qkv = randf(n, 1), *out = poisoned(n_out), *lse = poisoned((size_t)B * H * T);
    double *qkvd = to_d(qkv, n), *ref = xmalloc(n_out * sizeof(double)), *lse_ref = xmalloc((size_t)B * H * T * sizeof(double));
    ref_attention(ref, lse_ref, qkvd, B, T, H, KV, D);
    be->attention_forward(out, lse, qkv, B, T, H, KV, D);
    EXPECT(err(out, ref, n_out) < 1e-5, "attention forward err %g", err(out, ref, n_out));
    EXPECT(err(lse, lse_ref, (size_t)B * H * T) < 1e-5, "attention lse err %g", err(lse, lse_ref, (size_t)B * H * T));
    float *dout = randf(n_out, 1), *dqkv = poisoned(n);
    double *doutd = to_d(dout, n_out), *fd = xmalloc(n * sizeof(double));
    AttCtx ctx = {B, T, H, KV, D};
    fd_grad(fd, qkvd, n, n_out, doutd, att_fwd, &ctx);
    be->attention_backward(dqkv, dout, out, lse, qkv, B, T, H, KV, D);
    EXPECT(err(dqkv, fd, n) < 1e-5, "attention backward err %g (vs finite differences)", err(dqkv, fd, n));
    // longer sequence, H == KV and D = 16: forward only against float64
    int T2 = 70, H2 = 2, D2 = 16;
    size_t n2 = (size_t)T2 * 3 * H2 * D2, o2 = (size_t)T2 * H2 * D2;
    float *q2 = randf(n2, 2), *out2 = poisoned(o2), *lse2 = poisoned((size_t)H2 * T2);
    double *q2d = to_d(q2, n2), *ref2 = xmalloc(o2 * sizeof(double));
    ref_attention(ref2, NULL, q2d, 1, T2, H2, H2, D2);
    be->attention_forward(out2, lse2, q2, 1, T2, H2, H2, D2);
    EXPECT(err(out2, ref2, o2) < 1e-5, "attention T=70 err %g", err(out2, ref2, o2));
    free(qkv), free(out), free(lse), free(qkvd), free(ref), free(lse_ref), free(dout), free(dqkv), free(doutd), free(fd);
    free(q2), free(out2), free(lse2), free(q2d), free(ref2);
}

typedef struct {
    int N, F;
} SwiCtx;
static void swi_fwd(double *out, const double *gu, void *c) {
    SwiCtx *k = c;
    ref_swiglu(out, gu, k->N, k->F);
}

static void test_swiglu(void) {
    int N = 13, F = 17;
    size_t n_in = (size_t)N * 2 * F, n_out = (size_t)N * F;
    float *gu = randf(n_in, 2), *out = poisoned(n_out);
    double *gud = to_d(gu, n_in), *ref = xmalloc(n_out * sizeof(double));
    ref_swiglu(ref, gud, N, F);
    be->swiglu_forward(out, gu, N, F);
    EXPECT(err(out, ref, n_out) < 1e-5, "swiglu forward err %g", err(out, ref, n_out));
    float *dout = randf(n_out, 1), *dgu = poisoned(n_in);
    double *doutd = to_d(dout, n_out), *fd = xmalloc(n_in * sizeof(double));
    SwiCtx ctx = {N, F};
    fd_grad(fd, gud, n_in, n_out, doutd, swi_fwd, &ctx);
    be->swiglu_backward(dgu, dout, gu, N, F);
    EXPECT(err(dgu, fd, n_in) < 1e-5, "swiglu backward err %g", err(dgu, fd, n_in));
    free(gu), free(out), free(gud), free(ref), free(dout), free(dgu), free(doutd), free(fd);
}

static void test_residual(void) {
    size_t n = 1001;
    float *a = randf(n, 1), *b = randf(n, 1), *out = poisoned(n);
    be->residual_forward(out, a, b, n);
    int bad = 0;
    for (size_t i = 0; i < n; i++) bad += out[i] != a[i] + b[i];
    EXPECT(bad == 0, "%d residual sums wrong", bad);
    free(a), free(b), free(out);
}

static void test_classifier(void) {
    // N > CLASSIFIER_CHUNK so that chunking is exercised; some ignored targets; per-row dlosses
    int N = 300, C = 16, V = 53;
    float *x = randf((size_t)N * C, 1), *w = randf((size_t)V * C, 1);
    int *targets = xmalloc(N * sizeof(int));
    for (int i = 0; i < N; i++) targets[i] = i % 17 == 5 ? -1 : (int)(rng_u64(&rng) % V);
    float *dl = randf(N, 1);
    double *xd = to_d(x, (size_t)N * C), *wd = to_d(w, (size_t)V * C), *dld = to_d(dl, N);
    double *ref = xmalloc(N * sizeof(double));
    ref_ce(ref, xd, wd, targets, N, C, V);
    float *losses = poisoned(N), *scratch = xmalloc((size_t)CLASSIFIER_CHUNK * V * sizeof(float));
    be->classifier(losses, NULL, NULL, scratch, x, w, targets, NULL, N, C, V);
    EXPECT(err(losses, ref, N) < 1e-5, "classifier losses err %g", err(losses, ref, N));
    // gradients: d(sum dl_i * loss_i)/dx, /dw by finite differences of the float64 loss
    double *fdx = xmalloc((size_t)N * C * sizeof(double)), *fdw = xmalloc((size_t)V * C * sizeof(double));
    double *tmp = xmalloc(N * sizeof(double));
    for (size_t i = 0; i < (size_t)N * C; i++) {
        double s = xd[i];
        xd[i] = s + 1e-6;
        ref_ce(tmp, xd, wd, targets, N, C, V);
        double up = dot_d(tmp, dld, N);
        xd[i] = s - 1e-6;
        ref_ce(tmp, xd, wd, targets, N, C, V);
        xd[i] = s;
        fdx[i] = (up - dot_d(tmp, dld, N)) / 2e-6;
    }
    float *dw0 = randf((size_t)V * C, 1);
    double *dw_ref = to_d(dw0, (size_t)V * C);
    for (size_t i = 0; i < (size_t)V * C; i++) {
        double s = wd[i];
        wd[i] = s + 1e-6;
        ref_ce(tmp, xd, wd, targets, N, C, V);
        double up = dot_d(tmp, dld, N);
        wd[i] = s - 1e-6;
        ref_ce(tmp, xd, wd, targets, N, C, V);
        wd[i] = s;
        dw_ref[i] += (up - dot_d(tmp, dld, N)) / 2e-6;
    }
    float *dinp = poisoned((size_t)N * C);
    be->classifier(losses, dinp, dw0, scratch, x, w, targets, dl, N, C, V);
    EXPECT(err(losses, ref, N) < 1e-5, "classifier losses (backward pass) err %g", err(losses, ref, N));
    EXPECT(err(dinp, fdx, (size_t)N * C) < 1e-5, "classifier dinp err %g", err(dinp, fdx, (size_t)N * C));
    EXPECT(err(dw0, dw_ref, (size_t)V * C) < 1e-5, "classifier dweight err %g", err(dw0, dw_ref, (size_t)V * C));
    int ignored_nonzero = 0;
    for (int i = 0; i < N; i++)
        if (targets[i] < 0)
            for (int c = 0; c < C; c++) ignored_nonzero += dinp[i * C + c] != 0;
    EXPECT(ignored_nonzero == 0, "ignored rows got %d nonzero gradients", ignored_nonzero);
    free(x), free(w), free(targets), free(dl), free(xd), free(wd), free(dld), free(ref), free(losses), free(scratch);
    free(fdx), free(fdw), free(tmp), free(dw0), free(dw_ref), free(dinp);
}

static void test_adamw_and_norm(void) {
    size_t n = 1000;
    float *p = randf(n, 1), *g = randf(n, 1), *m = xcalloc(n, sizeof(float)), *v = xcalloc(n, sizeof(float));
    double *pd = to_d(p, n), *md = xcalloc(n, sizeof(double)), *vd = xcalloc(n, sizeof(double));
    float lr = 1e-2f, b1 = 0.9f, b2 = 0.95f, eps = 1e-8f, wd = 0.1f, scale = 0.5f;
    for (int t = 1; t <= 5; t++) {
        be->adamw_update(p, NULL, g, m, v, n, lr, b1, b2, eps, wd, scale, t);
        for (size_t i = 0; i < n; i++) {
            double gi = (double)g[i] * scale;
            md[i] = b1 * md[i] + (1 - b1) * gi;
            vd[i] = b2 * vd[i] + (1 - b2) * gi * gi;
            double mh = md[i] / (1 - pow(b1, t)), vh = vd[i] / (1 - pow(b2, t));
            pd[i] -= lr * (mh / (sqrt(vh) + eps) + wd * pd[i]);
        }
    }
    EXPECT(err(p, pd, n) < 1e-5, "adamw params err %g", err(p, pd, n));
    double ss = 0;
    for (size_t i = 0; i < n; i++) ss += (double)g[i] * g[i];
    double got = be->sum_squares(g, n);
    EXPECT(fabs(got - ss) < 1e-9 * ss, "sum_squares %.12g vs %.12g", got, ss);
    free(p), free(g), free(m), free(v), free(pd), free(md), free(vd);
}

static void test_deterministic(void) {
    // the attention backward and rmsnorm backward (the ops with cross-row reductions) twice
    int B = 2, T = 33, H = 4, KV = 2, D = 16, row = (H + 2 * KV) * D;
    size_t n = (size_t)B * T * row, n_out = (size_t)B * T * H * D;
    float *qkv = randf(n, 1), *out = xmalloc(n_out * 4), *lse = xmalloc((size_t)B * H * T * 4), *dout = randf(n_out, 1);
    float *d1 = xmalloc(n * 4), *d2 = xmalloc(n * 4);
    be->attention_forward(out, lse, qkv, B, T, H, KV, D);
    be->attention_backward(d1, dout, out, lse, qkv, B, T, H, KV, D);
    be->attention_backward(d2, dout, out, lse, qkv, B, T, H, KV, D);
    EXPECT(memcmp(d1, d2, n * 4) == 0, "attention backward not deterministic");
    int N = 64, C = 48;
    float *x = randf((size_t)N * C, 1), *w = randf(C, 1), *rstd = xmalloc(N * 4), *y = xmalloc((size_t)N * C * 4);
    float *dw1 = xcalloc(C, 4), *dw2 = xcalloc(C, 4), *dx = xcalloc((size_t)N * C, 4);
    be->rmsnorm_forward(y, rstd, x, w, N, C, 1e-5f);
    be->rmsnorm_backward(dx, dw1, x, x, w, rstd, N, C);
    be->rmsnorm_backward(dx, dw2, x, x, w, rstd, N, C);
    EXPECT(memcmp(dw1, dw2, C * 4) == 0, "rmsnorm dweight not deterministic");
    free(qkv), free(out), free(lse), free(dout), free(d1), free(d2), free(x), free(w), free(rstd), free(y), free(dw1),
        free(dw2), free(dx);
}

int main(void) {
    rng_seed(&rng, 2024);
    be = backend_cpu(0);
    RUN(test_embedding);
    RUN(test_rmsnorm);
    RUN(test_matmul);
    RUN(test_gemm_transposes);
    RUN(test_residual);
    RUN(test_rope);
    RUN(test_attention);
    RUN(test_swiglu);
    RUN(test_classifier);
    RUN(test_adamw_and_norm);
    RUN(test_deterministic);
    return test_summary();
}
