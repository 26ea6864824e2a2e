// test_gemm.c: strap's own tensor-core GEMMs (kernels/cuda/gemm_mma.cu, mma.sync, on every
// GPU; kernels/cuda/gemm_wgmma.cu, wgmma, on an sm_90 GPU) against a float64 CPU reference,
// and against cuBLAS, for every transpose pair and many shapes.
//
// For each shape (M, N, K): op(A) (M,K) and op(B) (K,N) are drawn N(0,1) and rounded to
// bf16 on the host, so the GPU and the reference see the same numbers; the reference
// C = alpha op(A) op(B) (+ beta C0) is computed in double. The operands are then stored in
// each of the 4 layouts (transA, transB in {0,1}), with row strides wider than the matrix
// where `pad` is set, and the GPU computes C into a buffer of row stride N + pad:
//   - beta = 0: C is first filled with NaN bit patterns (0xFFFF), so an element the kernel
//     does not write fails; the padding columns must still hold that pattern afterwards
//     (nothing written outside the matrix);
//   - beta = 1, alpha = 0.5: C starts from random C0 (the "+=" use of the backward).
// Error: err = max_i |gpu_i - ref_i| / max(|ref_i|, rms(ref)) (relative per element, the
// rms as the floor so entries near zero do not dominate). Threshold 4e-3: the output is
// rounded to bf16 once (at most 2^-9 = 1.95e-3 relative); fp32 accumulation of K <= 8192
// products of bf16 values adds about sqrt(K) * 2^-24 ~ 5e-6 of the rms; so 4e-3 is twice
// the rounding bound, while losing one k16 slice of the sum (an error of about
// sqrt(16 / K) >= 4e-2 of the rms) or any indexing mistake fails by far.
// Own vs cuBLAS: each is within one bf16 rounding of the reference, so they differ by at
// most two: threshold 6e-3. The own kernels must also be deterministic (same bytes twice).
//
// Then the backend path with STRAP_MATMUL=own (wgmma on sm_90, else mma.sync) or own-mma:
// matmul_forward / matmul_backward against the
// CPU backend on model shapes, including tensors at odd element offsets (not 16-byte
// aligned: the own kernel declines and cuBLAS runs) and shapes that are not multiples of 8.
//
// Prints one table and "N passed, N failed"; exits 1 on any failure or without a GPU.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../base/check.h"
#include "../../kernels/backend.h"
#include "../../kernels/cuda/cuda_tools.h"

static Backend *GPU, *CPU;
static int n_passed = 0, n_failed = 0;
// the own kernels this device runs (wgmma only on sm_90 with sm_90a code in the binary)
static int impls[2], n_impls = 0;
static const char *impl_name(int impl) { return impl == CUDA_GEMM_WGMMA ? "wgmma" : "mma"; }

// ---- random bf16 numbers ----

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint32_t rnd_u32(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}
static float rnd_normal(void) {
    float u1 = (rnd_u32() + 0.5f) / 4294967296.0f, u2 = (rnd_u32() + 0.5f) / 4294967296.0f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.28318530718f * u2);
}
static float bf16_round(float x) { // round to nearest even, like __float2bfloat16
    uint32_t u;
    memcpy(&u, &x, 4);
    u += 0x7fffu + ((u >> 16) & 1u);
    u &= 0xffff0000u;
    memcpy(&x, &u, 4);
    return x;
}
static float bf16_bits_to_float(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}
static float *randn(size_t n, float scale) {
    float *x = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = bf16_round(scale * rnd_normal());
    return x;
}

// ---- the table ----

static void report(const char *what, double err, double threshold) {
    int ok = err <= threshold; // NaN fails
    printf("%-62s %11.3e %9.1e  %s\n", what, err, threshold, ok ? "ok" : "FAIL");
    fflush(stdout);
    if (ok)
        n_passed++;
    else
        n_failed++;
}

// max_i |got_i - want_i| / max(|want_i|, rms(want)); NaN or inf in got -> inf
static double rel_err(const float *got, const double *want, size_t n) {
    double ss = 0;
    for (size_t i = 0; i < n; i++) ss += want[i] * want[i];
    double floor_ = n ? sqrt(ss / n) : 0;
    if (floor_ < 1e-30) floor_ = 1e-30;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d == d) || isinf(got[i])) return INFINITY;
        double s = fabs(want[i]) > floor_ ? fabs(want[i]) : floor_;
        if (d / s > worst) worst = d / s;
    }
    return worst;
}

// ---- device matrices ----

// rows x cols logical matrix X stored row-major with row stride ld (>= cols) as bf16 on the
// GPU; trans = 1 stores X^T instead (cols x rows, stride ld >= rows). Padding is random.
static void *upload_matrix(const float *X, int rows, int cols, int trans, int ld) {
    int srows = trans ? cols : rows; // stored rows
    size_t n = (size_t)srows * ld;
    float *h = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) h[i] = bf16_round(rnd_normal() * 100.0f); // padding: loud if read
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            float v = X[(size_t)r * cols + c];
            if (trans)
                h[(size_t)c * ld + r] = v;
            else
                h[(size_t)r * ld + c] = v;
        }
    void *d = GPU->alloc(n * 2);
    GPU->upload_f32(d, h, n);
    free(h);
    return d;
}

static uint16_t *download_bits(const void *d, size_t n) {
    uint16_t *h = xmalloc(n * sizeof(uint16_t));
    GPU->download(h, d, n * sizeof(uint16_t));
    return h;
}

// the M x N matrix at the start of a row-stride-ld buffer, as floats
static float *matrix_floats(const uint16_t *bits, int M, int N, int ld) {
    float *x = xmalloc((size_t)M * N * sizeof(float));
    for (int r = 0; r < M; r++)
        for (int c = 0; c < N; c++) x[(size_t)r * N + c] = bf16_bits_to_float(bits[(size_t)r * ld + c]);
    return x;
}

// ---- one shape, every layout ----

static void test_shape(int M, int N, int K, int pad) {
    float *A = randn((size_t)M * K, 1.0f), *B = randn((size_t)K * N, 1.0f), *C0 = randn((size_t)M * N, 1.0f);
    double *ref = xmalloc((size_t)M * N * sizeof(double)), *ref_acc = xmalloc((size_t)M * N * sizeof(double));
    const float alpha2 = 0.5f, beta2 = 1.0f;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++) s += (double)A[(size_t)i * K + k] * B[(size_t)k * N + j];
            ref[(size_t)i * N + j] = s;
            ref_acc[(size_t)i * N + j] = alpha2 * s + beta2 * (double)C0[(size_t)i * N + j];
        }

    const int ldc = N + pad;
    size_t nc = (size_t)M * ldc;
    float *h_c0 = xmalloc(nc * sizeof(float));
    for (int r = 0; r < M; r++)
        for (int c = 0; c < ldc; c++) h_c0[(size_t)r * ldc + c] = c < N ? C0[(size_t)r * N + c] : 0.0f;
    uint16_t *nan_bits = xmalloc(nc * sizeof(uint16_t));
    for (size_t i = 0; i < nc; i++) nan_bits[i] = 0xFFFF;
    void *C = GPU->alloc(nc * 2), *C_cublas = GPU->alloc(nc * 2);

    for (int layout = 0; layout < 4; layout++) {
        const int tA = layout >> 1, tB = layout & 1;
        const int lda = (tA ? M : K) + pad, ldb = (tB ? K : N) + pad;
        void *dA = upload_matrix(A, M, K, tA, lda), *dB = upload_matrix(B, K, N, tB, ldb);
        char what[160];
        snprintf(what, sizeof what, "%s%s M=%d N=%d K=%d%s", tA ? "T" : "N", tB ? "T" : "N", M, N, K,
                 pad ? " (strided)" : "");
        if (!cuda_gemm_own_takes(tA, tB, M, N, K, dA, lda, dB, ldb, C, ldc)) {
            report(what, INFINITY, 0); // every shape here is one the own kernel must take
            GPU->free(dA), GPU->free(dB);
            continue;
        }

        for (int ii = 0; ii < n_impls; ii++) {
            const int impl = impls[ii];
            // beta = 0 into NaN: every element written, nothing outside, matches float64
            GPU->upload(C, nan_bits, nc * 2);
            cuda_gemm_with(impl, tA, tB, M, N, K, 1.0f, dA, lda, dB, ldb, 0.0f, C, ldc);
            uint16_t *bits = download_bits(C, nc);
            float *got = matrix_floats(bits, M, N, ldc);
            char line[200];
            snprintf(line, sizeof line, "%s %s vs float64", impl_name(impl), what);
            report(line, rel_err(got, ref, (size_t)M * N), 4e-3);
            size_t outside = 0;
            for (int r = 0; r < M; r++)
                for (int c = N; c < ldc; c++) outside += bits[(size_t)r * ldc + c] != 0xFFFF;
            if (pad) {
                snprintf(line, sizeof line, "%s %s: writes outside C", impl_name(impl), what);
                report(line, (double)outside, 0);
            }

            // determinism: the same bytes again
            GPU->upload(C, nan_bits, nc * 2);
            cuda_gemm_with(impl, tA, tB, M, N, K, 1.0f, dA, lda, dB, ldb, 0.0f, C, ldc);
            uint16_t *bits2 = download_bits(C, nc);
            snprintf(line, sizeof line, "%s %s: deterministic", impl_name(impl), what);
            report(line, memcmp(bits, bits2, nc * 2) == 0 ? 0.0 : 1.0, 0);

            // cuBLAS on the same operands
            GPU->upload(C_cublas, nan_bits, nc * 2);
            cuda_gemm_with(CUDA_GEMM_CUBLAS, tA, tB, M, N, K, 1.0f, dA, lda, dB, ldb, 0.0f, C_cublas, ldc);
            uint16_t *cb_bits = download_bits(C_cublas, nc);
            float *cb = matrix_floats(cb_bits, M, N, ldc);
            double *cb_d = xmalloc((size_t)M * N * sizeof(double));
            for (size_t i = 0; i < (size_t)M * N; i++) cb_d[i] = cb[i];
            snprintf(line, sizeof line, "%s %s vs cuBLAS", impl_name(impl), what);
            report(line, rel_err(got, cb_d, (size_t)M * N), 6e-3);

            // C = 0.5 op(A) op(B) + C0
            GPU->upload_f32(C, h_c0, nc);
            cuda_gemm_with(impl, tA, tB, M, N, K, alpha2, dA, lda, dB, ldb, beta2, C, ldc);
            uint16_t *acc_bits = download_bits(C, nc);
            float *acc = matrix_floats(acc_bits, M, N, ldc);
            snprintf(line, sizeof line, "%s %s alpha=0.5 beta=1", impl_name(impl), what);
            report(line, rel_err(acc, ref_acc, (size_t)M * N), 4e-3);

            free(bits), free(bits2), free(got), free(cb_bits), free(cb), free(cb_d), free(acc_bits), free(acc);
        }
        GPU->free(dA), GPU->free(dB);
    }
    GPU->free(C), GPU->free(C_cublas);
    free(A), free(B), free(C0), free(ref), free(ref_acc), free(h_c0), free(nan_bits);
}

// ---- what the own kernel declines ----

static void test_declines(void) {
    char *buf = GPU->alloc(1 << 16);
    const void *p = buf, *odd = buf + 2; // 2-byte aligned only
    int wrong = 0;
    wrong += cuda_gemm_own_takes(0, 1, 64, 64, 64, p, 64, p, 64, p, 64) != 1;
    wrong += cuda_gemm_own_takes(0, 1, 60, 64, 64, p, 64, p, 64, p, 64) != 0;   // M not a multiple of 8
    wrong += cuda_gemm_own_takes(0, 1, 64, 64, 60, p, 64, p, 64, p, 64) != 0;   // K
    wrong += cuda_gemm_own_takes(0, 1, 64, 66, 64, p, 64, p, 64, p, 66) != 0;   // N
    wrong += cuda_gemm_own_takes(0, 1, 64, 64, 64, odd, 64, p, 64, p, 64) != 0; // A misaligned
    wrong += cuda_gemm_own_takes(0, 1, 64, 64, 64, p, 64, odd, 64, p, 64) != 0; // B misaligned
    wrong += cuda_gemm_own_takes(0, 1, 64, 64, 64, p, 68, p, 64, p, 64) != 0;   // lda not a multiple of 8
    wrong += cuda_gemm_own_takes(0, 1, 64, 64, 64, p, 64, p, 64, p, 65) != 0;   // ldc odd
    report("own kernel takes / declines the right calls", wrong, 0);
    GPU->free(buf);
}

// ---- the backend path (STRAP_MATMUL=own) against the CPU backend ----

static void test_backend_matmul(int N, int C, int OC, size_t off) {
    char what[160];
    float *h_inp = randn((size_t)N * C, 1), *h_w = randn((size_t)OC * C, 0.1f), *h_dout = randn((size_t)N * OC, 1),
          *h_dw = randn((size_t)OC * C, 1);
    size_t n_inp = (size_t)N * C, n_w = (size_t)OC * C, n_out = (size_t)N * OC;
    Backend *bs[2] = {CPU, GPU};
    void *inp[2], *w[2], *out[2], *dout[2], *dinp[2], *dw[2];
    for (int i = 0; i < 2; i++) {
        Backend *b = bs[i];
        inp[i] = b->alloc((n_inp + off) * b->elem_bytes), w[i] = b->alloc((n_w + off) * b->elem_bytes);
        out[i] = b->alloc((n_out + off) * b->elem_bytes), dout[i] = b->alloc((n_out + off) * b->elem_bytes);
        dinp[i] = b->alloc((n_inp + off) * b->elem_bytes), dw[i] = b->alloc((n_w + off) * b->elem_bytes);
        b->upload_f32(backend_at(b, inp[i], off), h_inp, n_inp);
        b->upload_f32(backend_at(b, w[i], off), h_w, n_w);
        b->upload_f32(backend_at(b, dout[i], off), h_dout, n_out);
        b->upload_f32(backend_at(b, dw[i], off), h_dw, n_w);
        b->matmul_forward(backend_at(b, out[i], off), backend_at(b, inp[i], off), backend_at(b, w[i], off), N, C, OC);
        b->matmul_backward(backend_at(b, dinp[i], off), backend_at(b, dw[i], off), backend_at(b, dout[i], off),
                           backend_at(b, inp[i], off), backend_at(b, w[i], off), N, C, OC);
    }
    struct {
        const char *name;
        void **buf;
        size_t n;
    } outs[3] = {{"forward", out, n_out}, {"backward dinp", dinp, n_inp}, {"backward dweight (+=)", dw, n_w}};
    for (int o = 0; o < 3; o++) {
        float *c = xmalloc(outs[o].n * sizeof(float)), *g = xmalloc(outs[o].n * sizeof(float));
        double *cd = xmalloc(outs[o].n * sizeof(double));
        CPU->download_f32(c, backend_at(CPU, outs[o].buf[0], off), outs[o].n);
        GPU->download_f32(g, backend_at(GPU, outs[o].buf[1], off), outs[o].n);
        for (size_t i = 0; i < outs[o].n; i++) cd[i] = c[i];
        snprintf(what, sizeof what, "backend own matmul %s N=%d C=%d OC=%d off=%zu", outs[o].name, N, C, OC, off);
        report(what, rel_err(g, cd, outs[o].n), 1e-2); // test_cuda_ops' threshold for bf16 ops
        free(c), free(g), free(cd);
    }
    for (int i = 0; i < 2; i++) {
        bs[i]->free(inp[i]), bs[i]->free(w[i]), bs[i]->free(out[i]), bs[i]->free(dout[i]);
        bs[i]->free(dinp[i]), bs[i]->free(dw[i]);
    }
    free(h_inp), free(h_w), free(h_dout), free(h_dw);
}

int main(void) {
    // STRAP_GEMM_KERNEL=mma|wgmma|all (tests/gpu/run.sh runs one process per kernel, so a
    // kernel that faults does not hide the other's results)
    const char *kernel = getenv("STRAP_GEMM_KERNEL");
    if (!kernel || !*kernel) kernel = "all";
    int want_mma = strcmp(kernel, "mma") == 0 || strcmp(kernel, "all") == 0;
    int want_wgmma = strcmp(kernel, "wgmma") == 0 || strcmp(kernel, "all") == 0;
    if (!want_mma && !want_wgmma) {
        printf("test_gemm: STRAP_GEMM_KERNEL='%s' is unknown (mma, wgmma or all)\n0 passed, 1 failed\n", kernel);
        return 1;
    }
    // the backend's matmuls: the own kernel under test (own = wgmma where available)
    setenv("STRAP_MATMUL", want_wgmma ? "own" : "own-mma", 1);
    const char *why = NULL;
    GPU = backend_cuda(0, &why);
    if (!GPU) {
        printf("test_gemm: the CUDA backend is not available: %s\n", why ? why : "(no reason given)");
        printf("0 passed, 1 failed\n");
        return 1;
    }
    CPU = backend_cpu(0);
    printf("device: %s\n", cuda_device_describe());
    if (want_mma) impls[n_impls++] = CUDA_GEMM_MMA;
    if (want_wgmma && cuda_gemm_wgmma_available())
        impls[n_impls++] = CUDA_GEMM_WGMMA;
    else if (want_wgmma)
        printf("wgmma kernel: not run (needs an sm_90 GPU and sm_90a code in this build)\n");
    if (n_impls == 0) { // STRAP_GEMM_KERNEL=wgmma on a GPU without it: nothing to test
        printf("0 passed, 0 failed\n");
        return 0;
    }
    for (int i = 0; i < n_impls; i++) printf("%s kernel: %s\n", impl_name(impls[i]), cuda_gemm_describe(impls[i]));
    printf("%-62s %11s %9s  %s\n", "case", "max rel err", "threshold", "ok");

    test_declines();
    // one tile, several tiles, multiples of 8 that are not of 16 / 32 / 128
    test_shape(128, 128, 32, 0);
    test_shape(256, 384, 64, 8);
    test_shape(8, 8, 8, 0);
    test_shape(24, 40, 56, 8);
    test_shape(136, 264, 72, 16);
    test_shape(1000, 520, 200, 0);
    // tall, wide, skinny, long K (many pipeline steps), K shorter than the pipeline
    test_shape(4096, 8, 64, 0);
    test_shape(8, 4096, 128, 8);
    test_shape(16, 24, 8192, 0);
    test_shape(2048, 64, 8, 0);
    test_shape(520, 1032, 1040, 8);
    // the 125m preset (SmolLM2-135M) at 1024 tokens: qkv, out proj, gate_up, down, a vocab
    // slice; with the 4 layouts these are its forward, dinp and dweight products
    test_shape(1024, 960, 576, 0);
    test_shape(1024, 576, 576, 0);
    test_shape(1024, 3072, 576, 0);
    test_shape(1024, 576, 1536, 0);
    test_shape(256, 8192, 576, 0);
    // the backend with STRAP_MATMUL=own / own-mma (aligned: own kernel; odd offsets / shapes: cuBLAS)
    test_backend_matmul(1024, 576, 960, 0);
    test_backend_matmul(512, 1536, 576, 0);
    test_backend_matmul(256, 576, 3072, 1);
    test_backend_matmul(37, 72, 50, 0);
    GPU->synchronize();

    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed ? 1 : 0;
}
