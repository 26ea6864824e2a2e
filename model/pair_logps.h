// pair_logps.h: preference pairs (prompt, chosen, rejected) as token sequences in the
// model's chat template, and the log-probabilities of their answers under a model: what
// DPO trains on (train/dpo.c) and what eval pairs measures (eval/dpo_eval.c).
#pragma once
#include "llama.h"

// One tokenized sequence: tokens[0..len), answer tokens from `start` on.
typedef struct {
    int *tokens;
    int len, start;
} Seq;

typedef struct {
    Seq chosen, rejected;
    double ref_chosen, ref_rejected; // reference log-probabilities (sums over answer tokens)
} Pair;

// The pairs of `path` (.jsonl(.zst): prompt, chosen, rejected), tokenized with model_dir's
// tokenizer and chat template (chat_template NULL: from the model's files), each sequence
// cut to max_len tokens. *max_T gets the longest sequence.
Pair *pairs_load(const char *path, const char *model_dir, const char *chat_template, int max_len, int *n_out,
                 int *max_T_out);
void pairs_free(Pair *pairs, int n);

typedef struct { // batch buffers for 2 x batch sequences of up to max_T tokens
    int *tokens, *targets;
    float *weights;
    double *logp;
    Seq **seqs;
} PairScratch;

PairScratch pair_scratch_build(int batch, int max_T);
void pair_scratch_free(PairScratch *s);
// The longest of n sequences (at least 1).
int seqs_max_len(Seq *const *seqs, int n);
// Sequence log-probabilities of n sequences in one forward (padded to T, padding and prompt
// positions ignored): logp[i] = sum over answer positions of log p(token | prefix).
void seqs_forward_logps(Model *m, Seq *const *seqs, int n, int T, int *tokens, int *targets, double *logp);
// Log-probabilities of the pairs' answers under the model in `dir` into out[2*i], out[2*i+1],
// `batch` pairs per forward; with `owned` (one flag per batch), only the batches flagged.
void pairs_logps(const char *dir, Backend *backend, Pair *pairs, int n_pairs, int batch, int max_T, PairScratch *s,
                 double *out, const char *owned);
