// llama.h: the Llama model, written once for every backend.
//
// Parameters live in one backend buffer, laid out layer by layer (so gradient buckets of
// consecutive layers are contiguous). Each Hugging Face tensor is a named slice of it:
//
//   model.embed_tokens.weight                     (V, C)
//   per layer l:
//     model.layers.l.input_layernorm.weight       (C)
//     model.layers.l.self_attn.{q,k,v}_proj.weight (H*D | KV*D | KV*D, C)  one qkv block
//     model.layers.l.self_attn.o_proj.weight      (C, H*D)
//     model.layers.l.post_attention_layernorm.weight (C)
//     model.layers.l.mlp.{gate,up}_proj.weight    (F | F, C)              one gate_up block
//     model.layers.l.mlp.down_proj.weight         (C, F)
//   model.norm.weight                             (C)
//   lm_head.weight                                (V, C)   only when embeddings are untied
//
// Activations are allocated once for a (B, T) and reused every step.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "../kernels/backend.h"
#include "config.h"

typedef struct {
    char name[96];
    size_t offset; // elements from the start of the parameter buffer
    int ndim;
    int64_t shape[2];
    size_t numel;
    int decay; // 1 for matrices (weight decay applies), 0 for norm weights
} ParamTensor;

// Per-layer parameter offsets (elements into params).
typedef struct {
    size_t attn_norm, wqkv, wo, mlp_norm, wgate_up, wdown;
} LayerParams;

// Saved activations of one layer for a (B, T): shapes in elements.
typedef struct {
    void *resid_in;   // (N, C) input of the layer (output of the previous one)
    void *xn_attn;    // (N, C) rmsnorm(resid_in)
    float *rstd_attn; // (N)
    void *qkv;        // (N, (H+2KV)*D) after RoPE
    void *att_out;    // (N, H*D)
    float *lse;       // (B, H, T)
    void *resid_mid;  // (N, C) resid_in + o_proj(att_out)
    void *xn_mlp;     // (N, C)
    float *rstd_mlp;  // (N)
    void *gate_up;    // (N, 2F)
    void *act;        // (N, F) silu(gate) * up
} LayerActs;

typedef struct {
    int B, T;                 // the shape the buffers were built for
    LayerActs *layers;        // [n_layers]
    void *resid_out;          // (N, C) output of the last layer
    void *xn_final;           // (N, C)
    float *rstd_final;        // (N)
    void *proj_out;           // (N, C) scratch: o_proj / down_proj output before the residual add
    float *losses;            // (N)
    float *dlosses;           // (N)
    int *tokens;              // (N) device
    int *targets;             // (N) device
    void *classifier_scratch; // (CLASSIFIER_CHUNK, V)
    // backward scratch
    void *d_resid;       // (N, C)
    void *d_xn;          // (N, C)
    void *d_att_out;     // (N, H*D)
    void *d_qkv;         // (N, (H+2KV)*D)
    void *d_act;         // (N, F)
    void *d_gate_up;     // (N, 2F)
    void *arena;         // one allocation holding all of the above
    size_t arena_bytes;  // its size: a smaller (B, T) is re-carved inside it without reallocating
    float *losses_host;  // (N) per-token losses of the last forward (-log p(target))
    float *dlosses_host; // (N) staging for the backward's per-token weights
} Activations;

typedef struct {
    LlamaConfig config;
    Backend *backend;
    size_t n_params;      // elements
    void *params;         // (n_params) backend element type
    void *grads;          // (n_params) backend element type; NULL until model_enable_grads
    ParamTensor *tensors; // [n_tensors] in layout order
    int n_tensors;
    size_t embed;        // offset of model.embed_tokens.weight
    size_t final_norm;   // offset of model.norm.weight
    size_t lm_head;      // offset of the classifier weight (== embed when tied)
    LayerParams *layers; // [n_layers]
    float *rope_cos;     // (max_seq, D/2) device fp32
    float *rope_sin;     // (max_seq, D/2)
    Activations acts;
    // Optional (NULL: none): called by the backward as soon as the gradients of layer l are
    // final (its ops are enqueued; on a device they may still be running), l = n_layers - 1
    // down to 0, then once with l = -1 when the whole backward is (embeddings too). From
    // layer l on, every gradient at offset >= layers[l].attn_norm is final (the final norm
    // and an untied lm_head come first in the backward). Data parallel training starts the
    // reduce of finished gradient buckets here (train/dist_opt.c).
    void (*on_layer_grads)(void *ctx, int layer);
    void *on_layer_grads_ctx;
} Model;

// Lays the parameters out for `config` and allocates them (zeroed) on `backend`.
void model_build(Model *m, const LlamaConfig *config, Backend *backend);
void model_free(Model *m);
// Allocates (zeroed) gradients.
void model_enable_grads(Model *m);
void model_zero_grads(Model *m);
// Normal(0, initializer_range) init, o_proj/down_proj scaled by 1/sqrt(2 * n_layers),
// norm weights 1. Deterministic in seed.
void model_init_weights(Model *m, uint64_t seed);

// The whole gradient vector in fp32 (host).
void model_get_grads_host(const Model *m, float *host /* n_params */);
// Host <-> device for the whole parameter vector in fp32.
void model_get_params(const Model *m, float *host /* n_params */);
void model_set_params(Model *m, const float *host /* n_params */);

// Loads DIR/model.safetensors (F32/F16/BF16) into an already built model; every tensor must
// be present with the shape config.json implies (clear error naming the file and tensor
// otherwise). A tied model accepts and ignores a redundant lm_head.weight equal in shape.
void model_load_weights(Model *m, const char *dir);
// The same, into a host fp32 vector (n_params) without touching the device: lets the
// optimizer start its fp32 master weights from the checkpoint's exact values.
void model_read_weights(const Model *m, const char *dir, float *host);
// Builds a model from DIR/config.json and loads its weights.
void model_load(Model *m, const char *dir, Backend *backend);
// Writes DIR/config.json and DIR/model.safetensors (F32, or BF16 when bf16 != 0) atomically.
// `host_params` (n_params fp32) is what gets written; NULL: read them from the device.
void model_save(const Model *m, const char *dir, int bf16, const float *host_params);

// Forward over tokens/targets (host arrays, N = B*T). Returns the mean loss over the
// targets >= 0 (0 if none) and keeps per-token losses in acts.losses_host. B*T buffers are
// (re)allocated only when (B, T) changes. targets may be NULL (no loss; for logits).
float model_forward(Model *m, const int *tokens, const int *targets, int B, int T);
// Backward of the last model_forward: gradients of (sum of per-token losses * grad_scale)
// accumulate into m->grads. Use grad_scale = 1 / (number of counted targets) for the mean.
void model_backward(Model *m, float grad_scale);
// Backward with one weight per token: gradients of sum_i dlosses[i] * losses[i]
// (dlosses: host, B*T of the last forward). What preference losses such as DPO need: each
// response token weighted by its sequence's coefficient, prompt tokens by 0.
void model_backward_weighted(Model *m, const float *dlosses_host);
// Logits (N, V) of the last forward into host memory (computed chunk by chunk).
void model_logits(Model *m, float *logits_host /* B*T, V */);
// Logits of rows [first, first + count) of the last forward (row = b * T + t), e.g. the
// last position alone: the classifier matmul of only those rows.
void model_logits_rows(Model *m, int first, int count, float *logits_host /* count, V */);
// FLOPs of one forward+backward per token for a sequence of length T (6N + attention).
double model_flops_per_token(const LlamaConfig *c, int T);
