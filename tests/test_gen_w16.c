// test_gen_w16.c: generation with 16-bit weights: the fp32 -> fp16 rounding, the CPU
// backend's matmul_forward_w16 and its small-N fp32 matmul_forward (kernels/cpu/
// matmul_skinny.c) against a float64 naive matmul (weight types, edge shapes, thread
// counts), and f16 / bf16 decoding against fp32 decoding of the same model.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/rng.h"
#include "../kernels/backend.h"
#include "../model/generate.h"
#include "../model/llama.h"
#include "../model/safetensors.h"
#include "test.h"

static float rand_uniform(Rng *r) { return (float)((double)(rng_u64(r) >> 11) / 9007199254740992.0) * 2.0f - 1.0f; }

// fp16 bits -> double, written independently of the code under test (value = mant * 2^e)
static double f16_value(uint16_t h) {
    int sign = h >> 15, exp = (h >> 10) & 31, mant = h & 1023;
    double v = exp == 0 ? ldexp(mant, -24) : exp == 31 ? (mant ? NAN : INFINITY) : ldexp(1024 + mant, exp - 25);
    return sign ? -v : v;
}

// the fp16 nearest to x (ties to even mantissa), by search over the 2^15 magnitudes
static uint16_t f16_nearest(float x) {
    double ax = fabs((double)x);
    uint16_t best = 0;
    double bd = INFINITY;
    for (uint32_t h = 0; h < 0x7c00; h++) {
        double d = fabs(f16_value((uint16_t)h) - ax);
        if (d < bd || (d == bd && (h & 1) == 0)) bd = d, best = (uint16_t)h;
    }
    // beyond 65504 + half an ulp (65520) the value rounds to inf
    if (ax >= 65520.0) best = 0x7c00;
    return (uint16_t)(best | (signbit(x) ? 0x8000 : 0));
}

static void test_f16_rounding(void) {
    // every finite fp16 survives the round trip, and so does inf; NaN stays NaN
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        uint16_t hh = (uint16_t)h;
        float f = (float)f16_value(hh);
        if (((h >> 10) & 31) == 31 && (h & 1023)) {
            if ((f32_to_f16_rne(f) & 0x7fff) <= 0x7c00) bad++;
        } else if (f32_to_f16_rne(f) != hh) {
            bad++;
        }
    }
    EXPECT(bad == 0, "%d fp16 values do not round-trip", bad);
    // random floats over the fp16 range (normal, subnormal, overflow) against the nearest fp16
    Rng r;
    rng_seed(&r, 3);
    int wrong = 0;
    for (int i = 0; i < 400; i++) {
        float x = rand_uniform(&r) * ldexpf(1.0f, (int)(rng_u64(&r) % 46) - 28);
        if (i % 50 == 0) x = 65519.0f + (float)(i % 150) / 50.0f; // around the overflow threshold
        uint16_t got = f32_to_f16_rne(x), want = f16_nearest(x);
        if (got != want) {
            if (wrong++ < 5) fprintf(stderr, "    %.9g -> 0x%04x, nearest 0x%04x\n", x, got, want);
        }
    }
    // exact midpoints between neighbours round to the even one
    for (uint16_t h = 0x0001; h < 0x7bff; h += 97) {
        double mid = (f16_value(h) + f16_value((uint16_t)(h + 1))) / 2;
        uint16_t got = f32_to_f16_rne((float)mid), want = (h & 1) ? (uint16_t)(h + 1) : h;
        if ((float)mid == mid && got != want) wrong++;
    }
    EXPECT(wrong == 0, "%d values rounded to the wrong fp16", wrong);
}

// out (N,OC) by the backend vs float64 sums of the same 16-bit weights (as decoded by
// safetensors.c's converters) times the fp32 inputs
static double check_w16(Backend *b, int wtype, int N, int C, int OC, Rng *r) {
    float *x = xmalloc((size_t)N * C * sizeof(float)), *out = xmalloc((size_t)N * OC * sizeof(float));
    uint16_t *w = xmalloc((size_t)OC * C * sizeof(uint16_t));
    double *ref = xmalloc((size_t)N * OC * sizeof(double));
    for (size_t i = 0; i < (size_t)N * C; i++) x[i] = rand_uniform(r);
    for (size_t i = 0; i < (size_t)OC * C; i++) {
        float v = rand_uniform(r) * 0.5f;
        w[i] = wtype == WEIGHTS_F16 ? f32_to_f16_rne(v) : f32_to_bf16(v);
    }
    for (size_t i = 0; i < (size_t)N * OC; i++) out[i] = NAN;
    b->matmul_forward_w16(out, x, w, wtype, N, C, OC);
    double worst = 0;
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) {
            double s = 0, mag = 0;
            for (int c = 0; c < C; c++) {
                uint16_t h = w[(size_t)o * C + c];
                double wv = wtype == WEIGHTS_F16 ? f16_value(h) : (double)bf16_to_f32(h);
                s += wv * x[(size_t)n * C + c];
                mag += fabs(wv * x[(size_t)n * C + c]);
            }
            ref[(size_t)n * OC + o] = s;
            double e = fabs(out[(size_t)n * OC + o] - s) / (mag + 1e-30);
            if (!(e <= worst)) worst = isnan(e) ? INFINITY : e; // NaN left in out counts as a failure
        }
    free(x), free(out), free(w), free(ref);
    return worst;
}

static void test_matmul_w16_vs_float64(void) {
    Backend *b = backend_cpu(0);
    Rng r;
    rng_seed(&r, 11);
    // N around the 4-input blocks, OC around the 4-row blocks, C around the vector width
    int Ns[] = {1, 2, 3, 4, 5, 7, 16};
    int Cs[] = {1, 7, 16, 17, 33, 64, 200};
    int OCs[] = {1, 3, 4, 5, 9, 66};
    for (int wt = WEIGHTS_F16; wt <= WEIGHTS_BF16; wt++)
        for (size_t i = 0; i < sizeof Ns / sizeof *Ns; i++)
            for (size_t j = 0; j < sizeof Cs / sizeof *Cs; j++)
                for (size_t k = 0; k < sizeof OCs / sizeof *OCs; k++) {
                    double e = check_w16(b, wt, Ns[i], Cs[j], OCs[k], &r);
                    // fp32 sums of C products: a few ulps of sum |w x| per term at most
                    EXPECT(e < 1e-6 * (Cs[j] > 16 ? Cs[j] / 16.0 : 1.0), "%s N=%d C=%d OC=%d: error %.3g",
                           wt == WEIGHTS_F16 ? "f16" : "bf16", Ns[i], Cs[j], OCs[k], e);
                }
    // the model's shapes (SmolLM2-135M: C 576 -> 960 qkv, F 1536 -> 576)
    EXPECT(check_w16(b, WEIGHTS_F16, 1, 576, 960, &r) < 1e-5, "f16 576 -> 960");
    EXPECT(check_w16(b, WEIGHTS_BF16, 16, 1536, 576, &r) < 1e-5, "bf16 1536 -> 576, 16 rows");
}

// the fp32 matmul_forward at decode sizes (N <= 16: the streaming kernel) and just above
// (N = 17: sgemm) against float64
static void test_matmul_forward_f32_small_n(void) {
    Backend *b = backend_cpu(0);
    Rng r;
    rng_seed(&r, 17);
    int Ns[] = {1, 2, 5, 8, 16, 17}, Cs[] = {3, 64, 131}, OCs[] = {1, 7, 40};
    for (size_t i = 0; i < sizeof Ns / sizeof *Ns; i++)
        for (size_t j = 0; j < sizeof Cs / sizeof *Cs; j++)
            for (size_t k = 0; k < sizeof OCs / sizeof *OCs; k++) {
                int N = Ns[i], C = Cs[j], OC = OCs[k];
                float *x = xmalloc((size_t)N * C * sizeof(float)), *w = xmalloc((size_t)OC * C * sizeof(float));
                float *out = xmalloc((size_t)N * OC * sizeof(float));
                for (int t = 0; t < N * C; t++) x[t] = rand_uniform(&r);
                for (int t = 0; t < OC * C; t++) w[t] = rand_uniform(&r);
                for (int t = 0; t < N * OC; t++) out[t] = NAN;
                b->matmul_forward(out, x, w, N, C, OC);
                double worst = 0;
                for (int n = 0; n < N; n++)
                    for (int o = 0; o < OC; o++) {
                        double s = 0, mag = 0;
                        for (int c = 0; c < C; c++) {
                            s += (double)x[n * C + c] * w[o * C + c];
                            mag += fabs((double)x[n * C + c] * w[o * C + c]);
                        }
                        double e = fabs(out[n * OC + o] - s) / mag;
                        if (!(e <= worst)) worst = isnan(e) ? INFINITY : e;
                    }
                EXPECT(worst < 1e-6 * (C / 16.0 + 1), "N=%d C=%d OC=%d: error %.3g", N, C, OC, worst);
                free(x), free(w), free(out);
            }
}

static void test_matmul_w16_thread_count_invariant(void) {
    int N = 6, C = 97, OC = 203;
    Rng r;
    rng_seed(&r, 5);
    float *x = xmalloc((size_t)N * C * sizeof(float)), *a = xmalloc((size_t)N * OC * sizeof(float)),
          *c = xmalloc((size_t)N * OC * sizeof(float));
    uint16_t *w = xmalloc((size_t)OC * C * sizeof(uint16_t));
    for (int i = 0; i < N * C; i++) x[i] = rand_uniform(&r);
    for (int i = 0; i < OC * C; i++) w[i] = f32_to_bf16(rand_uniform(&r));
    Backend *b = backend_cpu(1);
    b->matmul_forward_w16(a, x, w, WEIGHTS_BF16, N, C, OC);
    b = backend_cpu(3);
    b->matmul_forward_w16(c, x, w, WEIGHTS_BF16, N, C, OC);
    EXPECT(memcmp(a, c, (size_t)N * OC * sizeof(float)) == 0, "1 and 3 threads give different bits");
    backend_cpu(0);
    free(x), free(a), free(c), free(w);
}

static void tiny_model(Model *m) {
    LlamaConfig c;
    memset(&c, 0, sizeof c);
    c.vocab_size = 96, c.hidden_size = 64, c.intermediate_size = 80, c.n_layers = 2, c.n_heads = 4, c.n_kv_heads = 2;
    c.head_dim = 16, c.max_seq = 64, c.rope_theta = 10000, c.rms_norm_eps = 1e-5f, c.initializer_range = 0.3f;
    c.bos_token_id = -1;
    model_build(m, &c, backend_cpu(0));
    model_init_weights(m, 8);
}

// Decoding with f16 / bf16 weights stays within the 16-bit rounding of fp32 decoding (the
// weights are the only thing rounded), and the copies leave the fp32 path untouched.
static void test_decode_w16_vs_f32(void) {
    Model m;
    tiny_model(&m);
    int V = m.config.vocab_size, B = 3, steps = 6;
    int prompt[3][8] = {{1, 5, 9, 2, 7, 3, 8, 4}, {11, 12, 13, 14, 15, 16, 17, 18}, {40, 2, 40, 2, 40, 2, 40, 2}};
    float *ref = xmalloc((size_t)steps * B * V * sizeof(float));
    double tol[3] = {0, 1e-2, 8e-2}; // f16 keeps 11 significant bits, bf16 8: about 8x the error
    for (int wt = 0; wt <= WEIGHTS_BF16; wt++) {
        Generator g;
        generator_build(&g, &m, B, 32);
        generator_set_weights(&g, wt);
        double worst = 0;
        for (int b = 0; b < B; b++) generator_prefill(&g, b, prompt[b], 8);
        for (int s = 0; s < steps; s++) {
            int tok[3], pos[3];
            for (int b = 0; b < B; b++) tok[b] = (s * 7 + b * 13) % V, pos[b] = 8 + s;
            generator_step(&g, tok, pos, B);
            float *row = ref + (size_t)s * B * V;
            if (wt == 0) {
                memcpy(row, g.logits, (size_t)B * V * sizeof(float));
                continue;
            }
            double scale = 1e-9;
            for (int i = 0; i < B * V; i++) scale = fmax(scale, fabs(row[i]));
            for (int i = 0; i < B * V; i++) worst = fmax(worst, fabs((double)g.logits[i] - row[i]) / scale);
        }
        if (wt) {
            EXPECT(worst < tol[wt], "%s decode differs from fp32 by %.3g (scaled)", generator_weights_name(wt), worst);
            EXPECT(worst > 0, "%s decode is bit-identical to fp32: the 16-bit weights were not used",
                   generator_weights_name(wt));
        }
        generator_free(&g);
    }
    // back to fp32: the same logits as before
    Generator g;
    generator_build(&g, &m, B, 32);
    generator_set_weights(&g, WEIGHTS_F16);
    generator_set_weights(&g, 0);
    for (int b = 0; b < B; b++) generator_prefill(&g, b, prompt[b], 8);
    int tok[3] = {0, 13, 26}, pos[3] = {8, 8, 8};
    generator_step(&g, tok, pos, B);
    EXPECT(memcmp(g.logits, ref, (size_t)B * V * sizeof(float)) == 0, "fp32 decode changed after a 16-bit copy");
    generator_free(&g);
    free(ref);
    model_free(&m);
}

static void parse_weights_name(void) {
    EXPECT(generator_weights_parse("f32") == 0, "f32");
    EXPECT(generator_weights_parse("f16") == WEIGHTS_F16, "f16");
    EXPECT(generator_weights_parse("bf16") == WEIGHTS_BF16, "bf16");
    EXPECT(generator_weights_parse("q4") == -1, "q4 is not a weight type");
}

int main(void) {
    RUN(test_f16_rounding);
    RUN(test_matmul_w16_vs_float64);
    RUN(test_matmul_forward_f32_small_n);
    RUN(test_matmul_w16_thread_count_invariant);
    RUN(test_decode_w16_vs_f32);
    RUN(parse_weights_name);
    return test_summary();
}
