// ppl.h: mean next-token loss and perplexity of a model on token shards or a token list.
// Under mpirun batch (window) i is scored by rank i % world and the sums are added up, so
// every rank gets the result one process would (up to the order of the double sums).
#pragma once
#include <stdint.h>

#include "../data/loader.h"
#include "../model/llama.h"

typedef struct {
    double loss;     // mean next-token cross-entropy (nats)
    double ppl;      // exp(loss)
    uint64_t tokens; // predicted tokens counted
} EvalResult;

// Scores up to max_batches (0: one full pass) global batches of the loader from its start;
// the loader's state is restored afterwards.
EvalResult eval_loader(Model *m, Loader *l, int B, int T, int max_batches);
// Scores ids[0..n) as given: predictions of ids[1..n) from their prefixes. Sequences longer
// than the model's context are scored in consecutive windows of max_seq predictions, each
// window's first token serving only as context.
EvalResult eval_tokens(Model *m, const int *ids, int64_t n);
