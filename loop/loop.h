// loop.h: the self-rewarding driver (strap loop). Iteration t (1, 2, ...) takes the model
// M(t-1) (the --init model for t = 1) and runs, in W/iter-NN/:
//
//   synth   M writes prompts               prompts.jsonl.zst  (+ synth.json)
//   gen     M answers each K times         candidates.jsonl.zst
//   judge   M judges every answer          judged.jsonl.zst   (skipped with --reward verify)
//   clean   repair / drop / dedup answers  cleaned.jsonl.zst  (+ clean.json)
//   pairs   best vs worst per prompt       pairs.jsonl.zst    (+ pairs.json)
//   verify  with --reward verify|mix: constraints checked  verified.jsonl.zst (+ verify.json)
//   sft     optional: answers judged >= S  sft/               (rejection-sampling SFT; with a
//           verify reward: answers passing a share >= S of their constraints that ended)
//   dpo     M(t) = DPO(M, ref M)           model/
//   eval    preference accuracy            eval_pairs.json
//           win rate of M(t) against M     winrate.json (+ winrate.md)
//           perplexity on held-out text    ppl.json (with --eval-text; M0's in W/seed/ppl-init.json)
//           verifiable instructions        constraints.json, .md (with --heldout: M(t) against M0)
//
// Every stage is a strap subcommand run as a child process, its command line written from
// the command's options struct and flag table (loop/stages.h: the values that differ from
// the command's defaults). The command line is printed and appended to W/commands.log, so
// any stage can be re-run by hand. A stage is done
// when its child exited 0, its outputs were renamed into place, and the marker
// W/iter-NN/.done/STAGE was written; a resumed loop skips finished stages and re-runs the
// first unfinished one from scratch (a DPO run with a checkpoint continues it with
// --resume). The seed prompts are copied to W/seed/ once and never changed; synthetic data
// accumulates: every iteration's files stay, every record names its model and iteration,
// and new prompts are deduplicated against all earlier ones. After every iteration
// W/report.md is rewritten (a table per iteration) with PNG plots of the DPO metrics
// (scripts/plot_loop.py, when python3 and matplotlib are present).
//
// Testing hook: STRAP_LOOP_CRASH=STAGE kills the loop (SIGKILL) right after the first run of
// STAGE finished but before it was marked done; STRAP_LOOP_CRASH=STAGE@MS kills that stage's
// child MS milliseconds after it started, then the loop.
#pragma once
#include "../base/flags.h"

typedef struct {
    const char *init;    // M0
    const char *workdir; // W
    int iterations;
    int prompts;              // new prompts per iteration
    int candidates;           // answers per prompt
    const char *seed_prompts; // human-written examples (default: the catalogue's)
    const char *synth_mode;   // self-instruct | brainstorm
    const char *catalog;      // NULL: the default catalogue
    int synth_max_new;
    // extra options appended to a stage's command line (split on spaces), e.g.
    // clean_args = "--max-non-printable 1"; NULL: none
    const char *synth_args, *gen_args, *judge_args, *clean_args, *dpo_args;
    const char *judge_method; // logprob | text
    int judge_samples;
    float min_margin;
    float sft_min_score; // > 0: rejection-sampling SFT stage before DPO
    int sft_steps;
    float sft_lr; // 0: lr
    const char *dpo_loss;
    float beta, lr;
    int dpo_batch, epochs, max_len;
    int max_new; // answer length
    float temperature;
    const char *eval_prompts;   // win-rate prompts (default: the seed prompts)
    const char *eval_text;      // held-out human text (.txt/.jsonl): perplexity of M0 and every M(t)
    int eval_text_batches;      // batches of 4 x 256 tokens scored (0: all)
    int eval_count;             // win-rate prompts used (0: all)
    const char *winrate_method; // how eval winrate judges: logprob | text (pairwise) | rubric (pointwise)
    // the launcher of the stages that run on many ranks (gen, judge, sft, dpo, every eval),
    // split on spaces and put before the strap command, e.g. "mpirun -np 8" or "srun"; NULL:
    // every stage is one process. --dpo-batch is then per rank.
    const char *launch;
    // verifiable rewards: synth attaches 1..constraints constraints to every prompt
    // (constraint_draws records per synthesized request); the verify stage checks every
    // answer; reward judge | verify | mix decides the pairs (strap pairs --reward)
    int constraints, constraint_draws;
    const char *reward;
    const char *heldout; // held-out prompts with constraints: eval constraints of M(t) against M0
    int eval_max_new;    // answer tokens in eval constraints
    int no_repeat_ngram; // generation guard of the answers (gen), 0: off
    int repair;          // verify --repair: edit failing answers whose failed constraints have an edit
    int seed, threads, batch;
    const char *device;
    const char *chat_template;
} LoopOptions;

void loop_options_default(LoopOptions *o);
extern const Flag LOOP_FLAGS[]; // strap loop (loop/loop_flags.c)
// Runs (or resumes) the loop; returns the exit status.
int loop_run(const LoopOptions *o);
