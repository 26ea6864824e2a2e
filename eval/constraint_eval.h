// constraint_eval.h: strap eval constraints: a model (and optionally a baseline) answers
// held-out prompts that carry verifiable constraints (records of `strap verify
// --prompts-from` or `strap synth --constraints`: "prompt", "constraints", "base_prompt"),
// greedy unless --temperature; every answer is checked (constraints.h), and the report gives
// for each model the prompt-level accuracy (all of a prompt's constraints pass), the
// instruction-level accuracy (share of all constraints that pass), the accuracy per family,
// the answers cut off at --max-new and those that loop (stats.h), and for the pair the
// discordant counts (model passes where the baseline fails, and the reverse) with the exact
// McNemar p-value of the prompt-level difference. Under mpirun each rank answers the prompts
// i with i % world == rank; counts are summed and rank 0 writes the same bytes as one process.
#pragma once
#include "../base/flags.h"

typedef struct {
    const char *model_dir, *baseline_dir; // baseline optional (NULL: the model alone)
    const char *prompts;
    const char *out, *markdown, *records; // outputs (each optional)
    const char *chat_template, *device;
    int limit; // first N prompts (0: all)
    int max_new, batch, threads, seed;
    float temperature;   // 0: greedy
    int no_repeat_ngram; // generation guard, 0: off (both models)
    // the baseline's answers from an earlier run's --records (answer_baseline, finish_baseline,
    // tokens_baseline of the same prompts in the same order) instead of generating them again
    const char *baseline_answers;
} ConstraintEvalOptions;

void constraint_eval_options_default(ConstraintEvalOptions *o);
extern const Flag CONSTRAINT_EVAL_FLAGS[]; // strap eval constraints (eval/eval_flags.c)
// Returns the process exit status.
int constraint_eval_run(const ConstraintEvalOptions *o);
