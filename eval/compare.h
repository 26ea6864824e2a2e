// compare.h: strap eval winrate and strap eval judge-accuracy: pairwise comparisons judged in
// both answer orders (winrate.h, judge_pairwise.h), reported as JSON and a Markdown table.
// Under mpirun each rank answers and judges the prompts (pairs) i with i % world == rank;
// the tallies are summed and rank 0 writes the records in input order and the reports, the
// same bytes as one process with the same seed (dist/dist_records.h).
#pragma once
#include "../base/flags.h"
#include "../selfplay/judge_pairwise.h"

typedef struct {
    const char *model_dir, *baseline_dir, *judge_dir;
    const char *prompts;                  // .jsonl(.zst): "prompt", optional "id", "system"
    const char *out, *markdown, *records; // outputs (each optional)
    const char *chat_template;            // all three models; NULL: each from its own files
    const char *template_path;            // the pairwise judge template (NULL: the default)
    const char *device;
    int limit; // first N prompts (0: all)
    int max_new, batch, threads, seed;
    float temperature, top_p; // answers: temperature 0 = greedy
    JudgeMethod method;
    int judge_max_new; // text verdicts
    float judge_temperature;
} WinrateOptions;

typedef struct {
    const char *judge_dir;
    const char *labelled; // .jsonl(.zst): "prompt", "chosen", "rejected"
    const char *out, *markdown, *records;
    const char *chat_template, *template_path, *device;
    int limit, batch, threads, seed;
    JudgeMethod method;
    int judge_max_new;
    float judge_temperature;
    int rubric; // also score each answer with the 5-point rubric (logprob)
} JudgeAccuracyOptions;

void winrate_options_default(WinrateOptions *o);
void judge_accuracy_options_default(JudgeAccuracyOptions *o);
extern const Flag WINRATE_FLAGS[], JUDGE_ACCURACY_FLAGS[]; // eval/eval_flags.c
// Both return the process exit status.
int winrate_run(const WinrateOptions *o);
int judge_accuracy_run(const JudgeAccuracyOptions *o);
