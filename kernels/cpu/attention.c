// attention.c: the CPU backend's RoPE, causal grouped-query attention and KV-cache ops.
//
// Attention never stores B*H*T*T probabilities. It works on blocks of ATT_BLOCK query rows
// of one head: the scores of the block against every key up to its last row are one gemm
// (rows x keys), the causal mask and a max / exp / sum pass per row turn them into
// probabilities (the forward saves lse = max + log(sum)), and P @ V is a second gemm. The
// backward recomputes P = exp(S - lse) block by block (flash-attention style):
//   dP = dO V^T,  D_i = dot(dO_i, O_i),  dS = P * (dP - D_i) * scale,
//   dQ = dS K,  dK += dS^T Q,  dV += P^T dO.
// Each thread keeps two (ATT_BLOCK x T) scratch blocks (allocated on first use, kept);
// gemms called inside the parallel loops run on the calling thread.
//
// The backward is parallel over (batch, kv head): a task owns the dK and dV rows of its kv
// head and the dQ of the query heads that read it, so nothing is shared and the
// accumulation order is fixed. When there are too few (batch, kv head) pairs to keep the
// threads busy it switches to two passes with more parallelism: dQ over (batch, head,
// query block), then dK and dV over (batch, kv head, key block), each recomputing P and dP
// (about 1.4x the arithmetic). Both are deterministic for a given thread count.
//
// Loops over blocks use schedule(static, 1): later query blocks see more keys, and dealing
// the blocks round-robin balances the threads. Each iteration writes its own outputs with
// arithmetic that does not depend on the thread running it, so the results do not depend
// on the assignment either.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=fast") // a*b+c -> fma (-std=c11 turns contraction off)
#endif
#include <math.h>
#include <string.h>

#include "../../base/check.h"
#include "../backend.h"
#include "cpu.h"
#include "gemm.h"

#define ATT_BLOCK 64

int cpu_attention_backward_mode = 0;

static void check_heads(int H, int KV, int D) {
    CHECK(H > 0 && KV > 0 && H % KV == 0, "attention: %d query heads are not a multiple of %d key/value heads", H, KV);
    CHECK(D > 0 && D % 2 == 0, "attention: head dimension %d must be even", D);
}

// ---- rope ----

static void rope_apply(float *qkv, const float *cos_t, const float *sin_t, int B, int T, int H, int KV, int D,
                       float sign) {
    check_heads(H, KV, D);
    int half = D / 2, row = (H + 2 * KV) * D, rotated = H + KV;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < B * T; i++) {
        int t = i % T;
        const float *cs = cos_t + (size_t)t * half, *sn = sin_t + (size_t)t * half;
        float *x = qkv + (size_t)i * row;
        for (int h = 0; h < rotated; h++) {
            float *v = x + (size_t)h * D;
#pragma omp simd
            for (int j = 0; j < half; j++) {
                float x1 = v[j], x2 = v[j + half], s = sign * sn[j];
                v[j] = x1 * cs[j] - x2 * s;
                v[j + half] = x2 * cs[j] + x1 * s;
            }
        }
    }
}

void cpu_rope_forward(void *qkv, const float *cos_t, const float *sin_t, int B, int T, int H, int KV, int D) {
    rope_apply(qkv, cos_t, sin_t, B, T, H, KV, D, 1.0f);
}

void cpu_rope_backward(void *dqkv, const float *cos_t, const float *sin_t, int B, int T, int H, int KV, int D) {
    // the transpose of a rotation is the rotation by the opposite angle
    rope_apply(dqkv, cos_t, sin_t, B, T, H, KV, D, -1.0f);
}

// ---- attention ----

void cpu_attention_forward(void *out_, float *lse, const void *qkv_, int B, int T, int H, int KV, int D) {
    check_heads(H, KV, D);
    float *out = out_;
    const float *qkv = qkv_;
    int row = (H + 2 * KV) * D, group = H / KV, blocks = (T + ATT_BLOCK - 1) / ATT_BLOCK;
    float scale = 1.0f / sqrtf((float)D);
#pragma omp parallel for collapse(3) schedule(static, 1)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int blk = 0; blk < blocks; blk++) {
                int kh = h / group, t0 = blk * ATT_BLOCK;
                int rows = T - t0 < ATT_BLOCK ? T - t0 : ATT_BLOCK, keys = t0 + rows;
                const float *q = qkv + ((size_t)b * T + t0) * row + (size_t)h * D;
                const float *k = qkv + (size_t)b * T * row + (size_t)(H + kh) * D;
                const float *v = qkv + (size_t)b * T * row + (size_t)(H + KV + kh) * D;
                float *p = cpu_scratch(CPU_SCRATCH_OP0, (size_t)ATT_BLOCK * T);
                gemm_f32(0, 1, rows, keys, D, scale, q, row, k, row, 0.0f, p, keys); // S = Q K^T scale
                for (int i = 0; i < rows; i++) {
                    int t = t0 + i, n = t + 1;
                    float *pr = p + (size_t)i * keys;
                    float mx = cpu_max(pr, n);
                    cpu_exp_shift(pr, n, mx);
                    float sum = cpu_sum(pr, n), inv = 1.0f / sum;
#pragma omp simd
                    for (int s = 0; s < n; s++) pr[s] *= inv;
                    for (int s = n; s < keys; s++) pr[s] = 0; // causal mask
                    lse[((size_t)b * H + h) * T + t] = mx + logf(sum);
                }
                float *o = out + ((size_t)b * T + t0) * H * D + (size_t)h * D;
                gemm_f32(0, 0, rows, D, keys, 1.0f, p, keys, v, row, 0.0f, o, H * D); // O = P V
            }
}

// For query rows [t0, t0 + rows) of head h against keys [s0, s0 + keys): p = P, dp = dS
// (both rows x keys, row stride `keys`), masked entries (key > query) zero.
static void probs_and_dscores(float *p, float *dp, const float *q, const float *k, const float *v, const float *o,
                              const float *dO, const float *lse_row, int t0, int rows, int s0, int keys, int row,
                              int HD, int D, float scale) {
    gemm_f32(0, 1, rows, keys, D, scale, q, row, k, row, 0.0f, p, keys); // S
    gemm_f32(0, 1, rows, keys, D, 1.0f, dO, HD, v, row, 0.0f, dp, keys); // dP = dO V^T
    for (int i = 0; i < rows; i++) {
        int t = t0 + i, n = t + 1 - s0; // keys s0 .. t are visible
        n = n < 0 ? 0 : n > keys ? keys : n;
        float l = lse_row[t], di = cpu_dot(dO + (size_t)i * HD, o + (size_t)i * HD, D);
        float *pr = p + (size_t)i * keys, *dpr = dp + (size_t)i * keys;
#pragma omp simd
        for (int s = 0; s < n; s++) {
            float pv = cpu_expf(pr[s] - l);
            pr[s] = pv;
            dpr[s] = pv * (dpr[s] - di) * scale;
        }
        for (int s = n; s < keys; s++) pr[s] = dpr[s] = 0;
    }
}

void cpu_attention_backward(void *dqkv_, const void *dout_, const void *out_, const float *lse, const void *qkv_, int B,
                            int T, int H, int KV, int D) {
    check_heads(H, KV, D);
    float *dqkv = dqkv_;
    const float *dout = dout_, *out = out_, *qkv = qkv_;
    int row = (H + 2 * KV) * D, HD = H * D, group = H / KV, blocks = (T + ATT_BLOCK - 1) / ATT_BLOCK;
    float scale = 1.0f / sqrtf((float)D);
    size_t seq = (size_t)T * row, seq_o = (size_t)T * HD;

    // single pass when the (batch, kv head) tasks fill the threads well enough
    int nt = cpu_threads(), tasks = B * KV, rounds = (tasks + nt - 1) / nt;
    int single = cpu_attention_backward_mode == 1 ||
                 (cpu_attention_backward_mode == 0 && (tasks >= 1 && 10 * tasks >= 7 * nt * rounds));
    if (single) {
#pragma omp parallel for collapse(2) schedule(static)
        for (int b = 0; b < B; b++)
            for (int kh = 0; kh < KV; kh++) {
                const float *k = qkv + b * seq + (size_t)(H + kh) * D, *v = qkv + b * seq + (size_t)(H + KV + kh) * D;
                float *dk = dqkv + b * seq + (size_t)(H + kh) * D, *dv = dqkv + b * seq + (size_t)(H + KV + kh) * D;
                for (int t = 0; t < T; t++) {
                    memset(dk + (size_t)t * row, 0, (size_t)D * sizeof(float));
                    memset(dv + (size_t)t * row, 0, (size_t)D * sizeof(float));
                }
                float *p = cpu_scratch(CPU_SCRATCH_OP0, (size_t)ATT_BLOCK * T);
                float *dp = cpu_scratch(CPU_SCRATCH_OP1, (size_t)ATT_BLOCK * T);
                for (int h = kh * group; h < (kh + 1) * group; h++)
                    for (int blk = 0; blk < blocks; blk++) {
                        int t0 = blk * ATT_BLOCK, rows = T - t0 < ATT_BLOCK ? T - t0 : ATT_BLOCK, keys = t0 + rows;
                        const float *q = qkv + b * seq + (size_t)t0 * row + (size_t)h * D;
                        const float *o = out + b * seq_o + (size_t)t0 * HD + (size_t)h * D;
                        const float *dO = dout + b * seq_o + (size_t)t0 * HD + (size_t)h * D;
                        float *dq = dqkv + b * seq + (size_t)t0 * row + (size_t)h * D;
                        probs_and_dscores(p, dp, q, k, v, o, dO, lse + ((size_t)b * H + h) * T, t0, rows, 0, keys, row,
                                          HD, D, scale);
                        gemm_f32(0, 0, rows, D, keys, 1.0f, dp, keys, k, row, 0.0f, dq, row); // dQ = dS K
                        gemm_f32(1, 0, keys, D, rows, 1.0f, dp, keys, q, row, 1.0f, dk, row); // dK += dS^T Q
                        gemm_f32(1, 0, keys, D, rows, 1.0f, p, keys, dO, HD, 1.0f, dv, row);  // dV += P^T dO
                    }
            }
        return;
    }

    // pass 1: dQ, one task per (batch, head, query block)
#pragma omp parallel for collapse(3) schedule(static, 1)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int blk = 0; blk < blocks; blk++) {
                int kh = h / group, t0 = blk * ATT_BLOCK, rows = T - t0 < ATT_BLOCK ? T - t0 : ATT_BLOCK;
                int keys = t0 + rows;
                const float *k = qkv + b * seq + (size_t)(H + kh) * D, *v = qkv + b * seq + (size_t)(H + KV + kh) * D;
                const float *q = qkv + b * seq + (size_t)t0 * row + (size_t)h * D;
                const float *o = out + b * seq_o + (size_t)t0 * HD + (size_t)h * D;
                const float *dO = dout + b * seq_o + (size_t)t0 * HD + (size_t)h * D;
                float *dq = dqkv + b * seq + (size_t)t0 * row + (size_t)h * D;
                float *p = cpu_scratch(CPU_SCRATCH_OP0, (size_t)ATT_BLOCK * T);
                float *dp = cpu_scratch(CPU_SCRATCH_OP1, (size_t)ATT_BLOCK * T);
                probs_and_dscores(p, dp, q, k, v, o, dO, lse + ((size_t)b * H + h) * T, t0, rows, 0, keys, row, HD, D,
                                  scale);
                gemm_f32(0, 0, rows, D, keys, 1.0f, dp, keys, k, row, 0.0f, dq, row); // dQ = dS K
            }
            // pass 2: dK and dV, one task per (batch, kv head, key block), over the query blocks at
            // or after the key block
#pragma omp parallel for collapse(3) schedule(static, 1)
    for (int b = 0; b < B; b++)
        for (int kh = 0; kh < KV; kh++)
            for (int kb = 0; kb < blocks; kb++) {
                int s0 = kb * ATT_BLOCK, kr = T - s0 < ATT_BLOCK ? T - s0 : ATT_BLOCK;
                const float *k = qkv + b * seq + (size_t)s0 * row + (size_t)(H + kh) * D;
                const float *v = qkv + b * seq + (size_t)s0 * row + (size_t)(H + KV + kh) * D;
                float *dk = dqkv + b * seq + (size_t)s0 * row + (size_t)(H + kh) * D;
                float *dv = dqkv + b * seq + (size_t)s0 * row + (size_t)(H + KV + kh) * D;
                for (int s = 0; s < kr; s++) {
                    memset(dk + (size_t)s * row, 0, (size_t)D * sizeof(float));
                    memset(dv + (size_t)s * row, 0, (size_t)D * sizeof(float));
                }
                float *p = cpu_scratch(CPU_SCRATCH_OP0, (size_t)ATT_BLOCK * T);
                float *dp = cpu_scratch(CPU_SCRATCH_OP1, (size_t)ATT_BLOCK * T);
                for (int h = kh * group; h < (kh + 1) * group; h++)
                    for (int qb = kb; qb < blocks; qb++) {
                        int t0 = qb * ATT_BLOCK, rows = T - t0 < ATT_BLOCK ? T - t0 : ATT_BLOCK;
                        const float *q = qkv + b * seq + (size_t)t0 * row + (size_t)h * D;
                        const float *o = out + b * seq_o + (size_t)t0 * HD + (size_t)h * D;
                        const float *dO = dout + b * seq_o + (size_t)t0 * HD + (size_t)h * D;
                        probs_and_dscores(p, dp, q, k, v, o, dO, lse + ((size_t)b * H + h) * T, t0, rows, s0, kr, row,
                                          HD, D, scale);
                        gemm_f32(1, 0, kr, D, rows, 1.0f, dp, kr, q, row, 1.0f, dk, row); // dK += dS^T Q
                        gemm_f32(1, 0, kr, D, rows, 1.0f, p, kr, dO, HD, 1.0f, dv, row);  // dV += P^T dO
                    }
            }
}

// ---- generation ----

void cpu_rope_forward_at(void *qkv_, const float *cos_t, const float *sin_t, const int *pos, int N, int H, int KV,
                         int D) {
    check_heads(H, KV, D);
    float *qkv = qkv_;
    int half = D / 2, row = (H + 2 * KV) * D;
#pragma omp parallel for schedule(static) if ((size_t)N * (H + KV) * D >= CPU_PAR_MIN)
    for (int i = 0; i < N; i++) {
        const float *cs = cos_t + (size_t)pos[i] * half, *sn = sin_t + (size_t)pos[i] * half;
        for (int h = 0; h < H + KV; h++) {
            float *v = qkv + (size_t)i * row + (size_t)h * D;
#pragma omp simd
            for (int j = 0; j < half; j++) {
                float x1 = v[j], x2 = v[j + half];
                v[j] = x1 * cs[j] - x2 * sn[j];
                v[j + half] = x2 * cs[j] + x1 * sn[j];
            }
        }
    }
}

void cpu_kv_store(void *k_cache_, void *v_cache_, const void *qkv_, const int *seq, const int *pos, int N, int S, int H,
                  int KV, int D) {
    float *kc = k_cache_, *vc = v_cache_;
    const float *qkv = qkv_;
    size_t row = (size_t)(H + 2 * KV) * D, kvd = (size_t)KV * D;
    for (int i = 0; i < N; i++) {
        CHECK(pos[i] >= 0 && pos[i] < S, "kv_store: position %d outside the cache (%d positions)", pos[i], S);
        size_t at = ((size_t)seq[i] * S + (size_t)pos[i]) * kvd;
        memcpy(kc + at, qkv + i * row + (size_t)H * D, kvd * sizeof(float));
        memcpy(vc + at, qkv + i * row + (size_t)(H + KV) * D, kvd * sizeof(float));
    }
}

void cpu_attention_decode(void *out_, const void *qkv_, const void *k_cache_, const void *v_cache_, const int *len,
                          int B, int S, int H, int KV, int D) {
    check_heads(H, KV, D);
    float *out = out_;
    const float *qkv = qkv_, *kc = k_cache_, *vc = v_cache_;
    int row = (H + 2 * KV) * D, group = H / KV, kvd = KV * D;
    float scale = 1.0f / sqrtf((float)D);
    size_t keys = 0; // keys read over the batch: one thread below 2 * CPU_PAR_MIN multiply-adds
    for (int b = 0; b < B; b++) {
        CHECK(len[b] >= 1 && len[b] <= S, "attention_decode: length %d (cache %d)", len[b], S);
        keys += (size_t)len[b];
    }
    (void)keys; // read only by the OpenMP clause
#pragma omp parallel for collapse(2) schedule(static, 1) if (keys * H * D >= CPU_PAR_MIN)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            int kh = h / group, n = len[b];
            const float *q = qkv + (size_t)b * row + (size_t)h * D;
            const float *k = kc + (size_t)b * S * kvd + (size_t)kh * D, *v = vc + (size_t)b * S * kvd + (size_t)kh * D;
            float *p = cpu_scratch(CPU_SCRATCH_OP0, (size_t)S);
            for (int s = 0; s < n; s++) p[s] = cpu_dot(q, k + (size_t)s * kvd, D) * scale;
            float mx = cpu_max(p, n);
            cpu_exp_shift(p, n, mx);
            float inv = 1.0f / cpu_sum(p, n);
            float *o = out + (size_t)b * H * D + (size_t)h * D;
            for (int d = 0; d < D; d++) o[d] = 0;
            for (int s = 0; s < n; s++) {
                float w = p[s] * inv;
                const float *vr = v + (size_t)s * kvd;
#pragma omp simd
                for (int d = 0; d < D; d++) o[d] += w * vr[d];
            }
        }
}
