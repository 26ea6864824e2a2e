// stages.h: the stages of one self-rewarding iteration as one table (loop.h lists them). A
// stage is a strap command run as a child process; its command line is written from the
// command's own options struct and flag table (base/flags.h: the flags whose value differs
// from the command's defaults), the table the command line of that command is parsed with.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "../base/arg_list.h"
#include "../base/flags.h"
#include "../data/clean.h"
#include "../data/pack_run.h"
#include "../eval/compare.h"
#include "../eval/constraint_eval.h"
#include "../eval/dpo_eval.h"
#include "../eval/ppl_run.h"
#include "../selfplay/answer_file.h"
#include "../selfplay/judge_run.h"
#include "../selfplay/pairs.h"
#include "../selfplay/synth_run.h"
#include "../selfplay/verify_run.h"
#include "../train/dpo.h"
#include "../train/sft.h"
#include "loop.h"

// One iteration t: M(t-1) -> W/iter-NN/model, and the paths of its files.
typedef struct {
    const LoopOptions *o;
    const char *exe;
    int t;                                 // the iteration, 1..
    uint64_t seed;                         // the iteration's seed for every stage
    const char *prev_model, *policy_start; // M(t-1); where DPO starts (M(t-1), or the SFT model)
    const char *earlier_prompts;           // comma-separated prompt files of the finished iterations
    const char *seed_prompts, *eval_prompts, *eval_data;
    int use_judge, use_verify;
    char *dir, *prompts, *candidates, *judged, *cleaned, *verified, *pairs, *sft, *model;
    char *synth_report, *synth_rejects, *clean_report, *verify_report, *pairs_report;
    char *eval_pairs, *winrate, *winrate_md, *ppl;
    char *constraints_json, *constraints_md, *constraints_records;
    char *m0_constraint_answers; // iteration 1's constraints records: M0's answers, reused after it
    char id_prefix[16];          // "it01"
    int dpo_resume;              // a DPO run a crash interrupted continues from its last checkpoint
} Iter;

void iter_build(Iter *it, int t);
void iter_free(Iter *it);

// The options of every command the loop runs.
typedef union {
    SynthOptions synth;
    AnswerFileOptions gen;
    JudgeOptions judge;
    CleanOptions clean;
    VerifyOptions verify;
    PairsOptions pairs;
    SftOptions sft;
    DpoOptions dpo;
    DpoEvalOptions eval_pairs;
    WinrateOptions winrate;
    ConstraintEvalOptions constraints;
    PplOptions ppl;
    PackRunOptions pack;
} StageOptions;

typedef struct {
    const char *name;            // its W/iter-NN/.done/ mark and the name STRAP_LOOP_CRASH takes
    int (*used)(const Iter *it); // NULL: every iteration
    const char *command;         // the strap subcommand: "synth", "data clean", "eval pairs"
    const Flag *flags;           // its flag table
    int launched;                // 1: runs on many ranks, started by the launcher (LoopOptions.launch)
    // sets `defaults` to the command's defaults and `o` to what this iteration runs
    void (*options)(Iter *it, StageOptions *o, StageOptions *defaults);
    size_t extra;            // offsetof(LoopOptions, x_args): the user's extra words for it (0: none)
    void (*check)(Iter *it); // once the command succeeded: fails when its output is unusable
    void (*after)(Iter *it); // once the stage is marked done
    size_t captured;         // offsetof(Iter, path) of the file its stdout goes to (0: none)
} Stage;

extern const Stage STAGES[];
extern const int N_STAGES;

// The command line of stage st in iteration it: [launcher] strap COMMAND FLAGS [extra words].
void stage_args(const Stage *st, Iter *it, ArgList *a);

// The seed's stages (W/seed): held-out text packed with M0's tokenizer, M0's perplexity on it.
void seed_pack_args(const LoopOptions *o, const char *exe, const char *eval_data, ArgList *a);
void seed_ppl_args(const LoopOptions *o, const char *exe, const char *eval_data, ArgList *a);

// Deletes a file or directory tree (what an unfinished stage left behind).
void remove_tree(const char *path);
char *iter_dir(const char *workdir, int t);
