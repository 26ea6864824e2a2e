// backend.h: the op table the model calls. One model implementation (model/), two
// backends (kernels/cpu: fp32 reference; kernels/cuda: bf16 mixed precision).
//
// Memory: every tensor argument is device memory owned by the backend (alloc/free).
// Parameters, gradients and activations are stored in the backend's element type
// (`elem_bytes`: 4 = fp32 on the CPU, 2 = bf16 on CUDA); the model only offsets such
// pointers with backend_at(). Buffers typed `float *` are fp32 on every backend (norm
// statistics, log-sum-exp, losses, RoPE tables, optimizer state); `int *` is int32.
//
// Shapes are written next to each argument, row-major. N = B*T rows (tokens), C = model
// width, V = vocab, OC = output channels, H = query heads, KV = key/value heads,
// D = head dim, F = MLP hidden width. A "qkv" row is [q (H*D) | k (KV*D) | v (KV*D)].
//
// Write rules: "=" overwrites the output, "+=" accumulates into it (gradient accumulation
// over micro-batches and over the several uses of a tied weight).
//
// Determinism: for the same inputs and thread count every op gives bit-identical results
// (no atomics in reductions, fixed reduction order).
#pragma once
#include <stddef.h>
#include <stdint.h>

// Weight types: matmul_forward_w16 takes F16 or BF16; F32 is the params themselves.
enum { WEIGHTS_F32 = 0, WEIGHTS_F16 = 1, WEIGHTS_BF16 = 2 };

// Rows of logits the classifier materialises at once (chunk x V scratch buffer).
#define CLASSIFIER_CHUNK 256

typedef struct Backend Backend;
struct Backend {
    const char *name;  // "cpu" or "cuda"
    size_t elem_bytes; // bytes of one parameter / gradient / activation element
    int has_master;    // 1: adamw keeps separate fp32 master weights (params are lower precision)

    // ---- memory ----
    void *(*alloc)(size_t bytes); // zero-filled; never NULL (fails with a message)
    void (*free)(void *p);
    void (*zero)(void *p, size_t bytes);
    void (*upload)(void *dst, const void *src_host, size_t bytes);    // raw bytes
    void (*download)(void *dst_host, const void *src, size_t bytes);  // raw bytes
    void (*upload_f32)(void *dst, const float *src_host, size_t n);   // fp32 -> elem type
    void (*download_f32)(float *dst_host, const void *src, size_t n); // elem type -> fp32
    void (*synchronize)(void);

    // ---- forward / backward ops ----
    // out[i,:] = wte[tokens[i],:]; tokens must be in [0, V) (checked by the caller)
    void (*embedding_forward)(void *out /* N,C */, const int *tokens /* N */, const void *wte /* V,C */, int N, int C);
    // dwte[tokens[i],:] += dout[i,:]
    void (*embedding_backward)(void *dwte /* V,C += */, const void *dout /* N,C */, const int *tokens /* N */, int N,
                               int C);

    // out = inp / sqrt(mean(inp^2) + eps) * weight; rstd[i] = 1/sqrt(mean(inp[i]^2) + eps)
    void (*rmsnorm_forward)(void *out /* N,C */, float *rstd /* N */, const void *inp /* N,C */,
                            const void *weight /* C */, int N, int C, float eps);
    void (*rmsnorm_backward)(void *dinp /* N,C += */, void *dweight /* C += */, const void *dout /* N,C */,
                             const void *inp /* N,C */, const void *weight /* C */, const float *rstd /* N */, int N,
                             int C);

    // out = inp @ weight^T (weight in nn.Linear layout: out_features x in_features)
    void (*matmul_forward)(void *out /* N,OC */, const void *inp /* N,C */, const void *weight /* OC,C */, int N, int C,
                           int OC);
    // dinp = dout @ weight; dweight += dout^T @ inp. dinp may be NULL (not needed).
    void (*matmul_backward)(void *dinp /* N,C = */, void *dweight /* OC,C += */, const void *dout /* N,OC */,
                            const void *inp /* N,C */, const void *weight /* OC,C */, int N, int C, int OC);

    // out = a + b (elementwise)
    void (*residual_forward)(void *out /* n */, const void *a /* n */, const void *b /* n */, size_t n);

    // Rotary embedding, Hugging Face rotate-half layout, applied in place to the q and k
    // parts of each qkv row at position t = row % T:
    //   x1 = x[i], x2 = x[i + D/2] (i < D/2):  x[i] = x1*cos - x2*sin;  x[i+D/2] = x2*cos + x1*sin
    // cos[t, i] = cos(t * theta^(-2i/D)), same for sin.
    void (*rope_forward)(void *qkv /* N,(H+2KV)*D */, const float *cos /* T,D/2 */, const float *sin /* T,D/2 */, int B,
                         int T, int H, int KV, int D);
    // the transpose rotation on the q and k gradients, in place (v untouched)
    void (*rope_backward)(void *dqkv /* N,(H+2KV)*D */, const float *cos /* T,D/2 */, const float *sin /* T,D/2 */,
                          int B, int T, int H, int KV, int D);

    // Causal grouped-query attention; query head h reads key/value head h / (H/KV).
    // scale = 1/sqrt(D). out[b,t,h,:] = softmax(q k^T * scale, causal) v.
    // lse[b,h,t] = log-sum-exp of the scaled scores, saved for the backward.
    void (*attention_forward)(void *out /* N,H*D */, float *lse /* B,H,T */, const void *qkv /* N,(H+2KV)*D */, int B,
                              int T, int H, int KV, int D);
    // writes all of dqkv (q, k and v parts)
    void (*attention_backward)(void *dqkv /* N,(H+2KV)*D = */, const void *dout /* N,H*D */,
                               const void *out /* N,H*D */, const float *lse /* B,H,T */,
                               const void *qkv /* N,(H+2KV)*D */, int B, int T, int H, int KV, int D);

    // out = silu(gate) * up with gate_up row = [gate (F) | up (F)]
    void (*swiglu_forward)(void *out /* N,F */, const void *gate_up /* N,2F */, int N, int F);
    void (*swiglu_backward)(void *dgate_up /* N,2F = */, const void *dout /* N,F */, const void *gate_up /* N,2F */,
                            int N, int F);

    // Fused classifier, chunked over rows so no more than CLASSIFIER_CHUNK x V logits exist:
    //   logits = inp @ weight^T;  losses[i] = logsumexp(logits[i]) - logits[i, targets[i]]
    // Rows with targets[i] < 0 are ignored: losses[i] = 0 and no gradient.
    // If dlosses != NULL, the backward runs with d(total)/d(losses[i]) = dlosses[i]:
    //   dinp = dlogits @ weight (=),  dweight += dlogits^T @ inp.
    // dinp / dweight may be NULL when dlosses is NULL.
    void (*classifier)(float *losses /* N */, void *dinp /* N,C = */, void *dweight /* V,C += */,
                       void *scratch /* CLASSIFIER_CHUNK,V */, const void *inp /* N,C */, const void *weight /* V,C */,
                       const int *targets /* N */, const float *dlosses /* N or NULL */, int N, int C, int V);

    // ---- generation with a KV cache ----
    // Caches are (B, S, KV*D): sequence b, position p; S = cache capacity.
    // RoPE (rotate-half, as rope_forward) with explicit positions: row i is at pos[i].
    void (*rope_forward_at)(void *qkv /* N,(H+2KV)*D */, const float *cos /* S,D/2 */, const float *sin /* S,D/2 */,
                            const int *pos /* N */, int N, int H, int KV, int D);
    // Copies the k and v parts of qkv row i to sequence seq[i], position pos[i] of the caches.
    void (*kv_store)(void *k_cache /* B,S,KV*D */, void *v_cache /* B,S,KV*D */, const void *qkv /* N,(H+2KV)*D */,
                     const int *seq /* N */, const int *pos /* N */, int N, int S, int H, int KV, int D);
    // One query row per sequence (the q part of qkv row b) against cache rows [0, len[b]) of
    // sequence b; GQA and scale as attention_forward.
    void (*attention_decode)(void *out /* B,H*D */, const void *qkv /* B,(H+2KV)*D */,
                             const void *k_cache /* B,S,KV*D */, const void *v_cache /* B,S,KV*D */,
                             const int *len /* B */, int B, int S, int H, int KV, int D);

    // Inference with 16-bit weights (generation's --weights f16 | bf16): out = inp @ weight^T
    // as matmul_forward, but weight holds IEEE fp16 (wtype WEIGHTS_F16) or bf16 (WEIGHTS_BF16)
    // bit patterns, converted to fp32 as they are read; products summed in fp32.
    void (*matmul_forward_w16)(void *out /* N,OC */, const void *inp /* N,C */, const uint16_t *weight /* OC,C */,
                               int wtype, int N, int C, int OC);
    // ---- optimizer ----
    // sum of squares of grads (as double on the host; deterministic order)
    double (*sum_squares)(const void *grads /* n */, size_t n);
    // AdamW (decoupled weight decay, bias-corrected moments), step t >= 1.
    // g = grads * grad_scale; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
    // p -= lr * (m/(1-b1^t) / (sqrt(v/(1-b2^t)) + eps) + weight_decay * p).
    // With has_master, `master` holds the fp32 weights and params receive their rounding;
    // otherwise master is NULL and params are updated in place.
    void (*adamw_update)(void *params /* n */, float *master /* n or NULL */, const void *grads /* n */,
                         float *m /* n */, float *v /* n */, size_t n, float lr, float beta1, float beta2, float eps,
                         float weight_decay, float grad_scale, int t);
};

// Pointer to element i of a buffer of the backend's element type.
static inline void *backend_at(const Backend *b, const void *base, size_t i) {
    return (char *)base + i * b->elem_bytes;
}

// The CPU backend with `threads` OpenMP threads (0: all cores).
Backend *backend_cpu(int threads);
// The CUDA backend on device `device`; NULL when strap was built without CUDA or no GPU
// is visible (why_not receives the reason).
Backend *backend_cuda(int device, const char **why_not);
// "auto" | "cpu" | "cuda": the backend for --device; fails with a message if unavailable.
Backend *backend_select(const char *device, int threads);
// Which backends this binary was built with, e.g. "cpu (OpenBLAS, OpenMP), cuda".
const char *backend_compiled_list(void);
