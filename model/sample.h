// sample.h: choosing the next token from logits (host memory): temperature, top-k, top-p,
// min-p, repetition penalty, seeded RNG. temperature 0 is greedy (argmax).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "../base/rng.h"

typedef struct {
    float temperature;        // 0: greedy
    int top_k;                // 0: off
    float top_p;              // 1: off
    float min_p;              // 0: off; keep tokens with p >= min_p * p_max
    float repetition_penalty; // 1: off; logits of tokens already in the sequence are divided (if > 0) or multiplied
    int no_repeat_ngram;      // 0: off; N: no N-gram of tokens occurs twice in the answer (generate.c applies it)
} SampleOptions;

void sample_options_default(SampleOptions *o);
// Picks a token. `logits` (V) is modified in place; `scratch` holds V ints and V floats
// (sample_scratch_bytes(V)); `history` (n_history ids) feeds the repetition penalty.
int sample_token(float *logits, int V, const SampleOptions *o, const int *history, int n_history, Rng *rng,
                 void *scratch);
size_t sample_scratch_bytes(int V);
// No-repeat n-gram (transformers' no_repeat_ngram_size, over the answer's own tokens, not
// the prompt): sets to -inf the logit of every token that would complete an n-gram already
// present in tokens[0..n_tokens). Returns how many tokens it banned.
int sample_ban_repeated_ngrams(float *logits, int V, int n, const int *tokens, int n_tokens);
