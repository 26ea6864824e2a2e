// loader.h: batches of training windows from a list of .tok.zst shards, read as one
// concatenated token stream.
//
// A global batch (one optimizer step) is `rows = B * world * accum` windows of T+1 tokens;
// window w of the batch starts at cursor + w*T (consecutive windows share one token, the
// last target of one is the first input of the next). It is read as accum micro-steps of
// world slices of B windows: micro-step k of rank r takes slice k*world + r, windows
// [(k*world + r)*B, +B), exactly the slice a single rank reads at its accumulation
// micro-step k*world + r. After a global batch the cursor moves by rows*T; when the next
// global batch would pass the end of the stream the cursor wraps to 0 and the epoch counter
// increments. So the tokens of a global batch, and where epochs wrap, are the same whatever
// the world size, as long as B * world * accum is.
#pragma once
#include <stdint.h>

typedef struct Loader Loader;

// Fails with a clear message if the files cannot be read, their vocab sizes disagree, or
// the stream holds fewer than B*world*accum*T + 1 tokens ("batch x seq larger than the data").
Loader *loader_open_dp(char **files, int n_files, int B, int T, int rank, int world, int accum);
// loader_open_dp with accum = 1.
Loader *loader_open(char **files, int n_files, int B, int T, int rank, int world);
void loader_close(Loader *l);
// inputs[B*T], targets[B*T] for this rank (targets = inputs shifted by one).
void loader_next(Loader *l, int *inputs, int *targets);
// The shards' vocab size (the largest id + 1 a model must accept).
int loader_vocab_size(const Loader *l);
uint64_t loader_total_tokens(const Loader *l);
// Number of global batches in one pass without wrapping (for evaluation).
uint64_t loader_batches_per_epoch(const Loader *l);
// Resumable state: cursor (token index) and epoch, at a global-batch boundary.
void loader_get_state(const Loader *l, uint64_t *cursor, uint64_t *epoch);
void loader_set_state(Loader *l, uint64_t cursor, uint64_t epoch);
