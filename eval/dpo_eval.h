// dpo_eval.h: strap eval pairs: preference accuracy (the implicit reward of the chosen answer
// above the rejected one), mean reward margin and loss of a model against a reference on
// (prompt, chosen, rejected) pairs; also the share of pairs where the model alone gives the
// chosen answer the higher log-prob. Under mpirun slice q of `batch` pairs is rank q % world's.
#pragma once
#include <jansson.h>

#include "../base/flags.h"

typedef struct {
    const char *model_dir, *ref_dir; // the model and the reference it is measured against
    const char *pairs;               // .jsonl(.zst) with prompt, chosen, rejected
    const char *chat_template;       // NULL: from the model's files
    const char *device;
    float beta;                  // the reward scale, as in training (the sigmoid loss is reported)
    int batch, max_len, threads; // pairs per forward, tokens per sequence
    int json;                    // eval_pairs_run: print one JSON line (else "key value | ...")
    const char *out, *markdown;  // eval_pairs_run: the result as JSON, as a Markdown table (NULL: not written)
} DpoEvalOptions;

void dpo_eval_options_default(DpoEvalOptions *o);
extern const Flag EVAL_PAIRS_FLAGS[]; // strap eval pairs (eval/eval_flags.c)

// {"pairs", "accuracy", "margin", "rewards_chosen", "rewards_rejected", "loss",
// "logp_accuracy", "beta"} (new reference). Fails on non-finite log-probabilities.
json_t *dpo_eval(const DpoEvalOptions *o);
// strap eval pairs: dpo_eval, reported (eval_report.h); returns the exit status.
int eval_pairs_run(const DpoEvalOptions *o);
