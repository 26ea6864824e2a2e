// generate.h: text generation with a KV cache on any backend. Prompts are prefilled one
// sequence at a time with the training forward (all positions at once), then every
// sequence of the batch advances one token per decode step.
#pragma once
#include <stdint.h>

#include "llama.h"
#include "sample.h"

typedef enum { FINISH_LENGTH = 0, FINISH_EOS, FINISH_STOP, FINISH_CONTEXT } FinishReason;
const char *finish_reason_name(FinishReason r);

typedef struct {
    Model *model;
    int max_batch, capacity;   // sequences and positions the caches hold
    void **k_cache, **v_cache; // [n_layers] each (max_batch, capacity, KV*D)
    // decode-step activations for max_batch rows
    void *x, *xn, *qkv, *att, *proj, *gate_up, *act, *logits_dev;
    float *rstd;
    int *tokens_dev, *pos_dev, *seq_dev, *len_dev; // (max(max_batch, capacity))
    float *logits;                                 // (max_batch, V) host
    int *pad;                                      // prefill tokens padded to a multiple of 64 (host)
    int pad_cap;
    void *sample_scratch;
    int wtype; // 0: decode matmuls read the fp32 params; WEIGHTS_F16 / WEIGHTS_BF16: w16
    void *w16; // (n_params) 16-bit copy of the params, same offsets; NULL when wtype == 0
} Generator;

// Caches for max_batch sequences of up to `capacity` positions (<= max_position_embeddings).
// The decode weights are fp32 unless the environment variable STRAP_GEN_WEIGHTS names
// f16 or bf16 (then as generator_set_weights).
void generator_build(Generator *g, Model *m, int max_batch, int capacity);
void generator_free(Generator *g);

// Decode (and the prefill's last-position logits) with 16-bit copies of the weights:
// WEIGHTS_F16 or WEIGHTS_BF16 (backend.h), converted once here with round-to-nearest-even,
// read by matmul_forward_w16 with fp32 sums; 0 goes back to the fp32 params. Halves the
// bytes each decode step streams. Prefill keeps the fp32 weights (its matmuls are
// compute-bound). Not for training: the copies do not follow later changes to the params.
void generator_set_weights(Generator *g, int wtype);
// "f32" -> 0, "f16" -> WEIGHTS_F16, "bf16" -> WEIGHTS_BF16; -1 for anything else
int generator_weights_parse(const char *name);
const char *generator_weights_name(int wtype);

// fp32 -> IEEE fp16 bits, round to nearest even (overflow to inf, NaN kept, subnormals)
uint16_t f32_to_f16_rne(float f);

// Called after each new token of sequence b (return nonzero to stop that sequence).
typedef int (*TokenCallback)(void *ctx, int b, int token);

typedef struct {
    SampleOptions sample;
    int max_new;        // new tokens per sequence at most
    const int *eos_ids; // stop when one is produced (it is kept in the output)
    int n_eos;
    uint64_t seed;
    const uint64_t *seeds; // optional: seed of each sequence (else seed + b)
} GenerateOptions;

// Generates for n prompts, at most max_batch at a time: a cache slot freed by a finished
// sequence takes the next prompt at once (continuous batching), so a batch never waits for
// its longest answer. out[i] receives the new tokens of prompt i (capacity max_new),
// n_out[i] their count, finish[i] why it ended. Sequence i uses the RNG seeded with
// seeds[i] (or seed + i), so results do not depend on the batch composition. The callback
// gets the prompt's index.
void generate(Generator *g, const int *const *prompts, const int *prompt_lens, int n, const GenerateOptions *o,
              int **out, int *n_out, FinishReason *finish, TokenCallback cb, void *cb_ctx);

// One decode step for rows b < B: token[b] at position pos[b] of sequence seq b; logits
// (B, V) land in g->logits. Exposed for tests.
void generator_step(Generator *g, const int *tokens, const int *pos, int B);
// Prefills sequence slot b with a prompt; logits of its last position land in g->logits row b.
void generator_prefill(Generator *g, int b, const int *prompt, int len);
