// loop_flags.c: the flags of strap loop, over LoopOptions (base/flags.h).
#include <stddef.h>

#include "loop.h"

#define S LoopOptions
const Flag LOOP_FLAGS[] = {
    FLAG(S, init, FLAG_STRING, "--init", "DIR", "the starting model M0, with tokenizer.json (required)"),
    FLAG(S, workdir, FLAG_STRING, "--workdir", "W",
         "where every iteration's files go; resumes what is there (required)"),
    FLAG(S, iterations, FLAG_INT, "--iterations", "K", "iterations to run (M0 -> M1 -> ... -> MK)"),
    FLAG(S, prompts, FLAG_INT, "--prompts", "N", "new prompts per iteration"),
    FLAG(S, candidates, FLAG_INT, "--candidates", "K", "answers sampled per prompt"),
    FLAG(S, seed_prompts, FLAG_STRING, "--seed-data", "F",
         "human-written seed prompts (default: data/synth/seed_prompts.jsonl)"),
    FLAG(S, catalog, FLAG_STRING, "--catalog", "DIR", "roles, tasks and attributes (default: data/synth)"),
    FLAG(S, synth_mode, FLAG_STRING, "--synth-mode", "M", "self-instruct or brainstorm"),
    FLAG(S, synth_max_new, FLAG_INT, "--synth-max-new", "N", "tokens per synthetic prompt at most"),
    FLAG(S, synth_args, FLAG_STRING, "--synth-args", "\"...\"",
         "more options for strap synth (e.g. \"--mode brainstorm --min-words 6\")"),
    FLAG(S, gen_args, FLAG_STRING, "--gen-args", "\"...\"", "more options for strap gen (e.g. \"--top-k 50\")"),
    FLAG(S, judge_args, FLAG_STRING, "--judge-args", "\"...\"",
         "more options for strap judge (e.g. \"--template FILE\")"),
    FLAG(S, clean_args, FLAG_STRING, "--clean-args", "\"...\"",
         "more options for strap data clean (e.g. \"--min-words 3\")"),
    FLAG(S, dpo_args, FLAG_STRING, "--dpo-args", "\"...\"",
         "more options for strap dpo (e.g. \"--label-smoothing 0.1\")"),
    FLAG(S, judge_method, FLAG_STRING, "--judge-method", "M", "logprob or text"),
    FLAG(S, judge_samples, FLAG_INT, "--judge-samples", "K", "text judge: judgements per answer"),
    FLAG(S, min_margin, FLAG_FLOAT, "--min-margin", "M", "drop pairs whose scores differ by less"),
    FLAG(S, sft_min_score, FLAG_FLOAT, "--sft-min-score", "S", "> 0: SFT on answers judged >= S before DPO"),
    FLAG(S, sft_steps, FLAG_INT, "--sft-steps", "N", "SFT optimizer steps (default: one epoch)"),
    FLAG(S, sft_lr, FLAG_FLOAT, "--sft-lr", "LR", "SFT learning rate (default: --lr)"),
    FLAG(S, dpo_loss, FLAG_STRING, "--loss", "L", "DPO loss: sigmoid, ipo or robust"),
    FLAG(S, beta, FLAG_FLOAT, "--beta", "B", "DPO beta"),
    FLAG(S, lr, FLAG_FLOAT, "--lr", "LR", "DPO (and SFT) learning rate"),
    FLAG(S, dpo_batch, FLAG_INT, "--dpo-batch", "N", "pairs per DPO step"),
    FLAG(S, epochs, FLAG_INT, "--epochs", "N", "DPO passes over the pairs"),
    FLAG(S, max_len, FLAG_INT, "--max-len", "T", "tokens per DPO sequence"),
    FLAG(S, max_new, FLAG_INT, "--max-new", "N", "tokens per answer"),
    FLAG(S, temperature, FLAG_FLOAT, "--temperature", "T", "sampling temperature of the answers"),
    FLAG(S, eval_prompts, FLAG_STRING, "--eval-prompts", "F", "win-rate prompts (default: the seed prompts)"),
    FLAG(S, eval_text, FLAG_STRING, "--eval-text", "F",
         "held-out human text (.txt, .jsonl): perplexity of every model"),
    FLAG(S, eval_text_batches, FLAG_INT, "--eval-text-batches", "N", "batches of 4 x 256 tokens scored (0: all)"),
    FLAG(S, eval_count, FLAG_INT, "--eval-count", "N", "win-rate prompts used (0: all)"),
    FLAG(S, winrate_method, FLAG_STRING, "--winrate-judge", "M",
         "how M(t-1) judges M(t) against itself: logprob or text (pairwise, both orders) or rubric (each answer's "
         "5-point score), or none (skip the win rate)"),
    FLAG(S, constraints, FLAG_INT, "--constraints", "K",
         "attach 1..K verifiable constraints to every synthetic prompt (0: none)"),
    FLAG(S, constraint_draws, FLAG_INT, "--constraint-draws", "D",
         "prompts with their own constraints per synthesized request"),
    FLAG(S, reward, FLAG_STRING, "--reward", "R",
         "what makes the pairs: judge (the rubric judge), verify (constraints passed, needs --constraints) or mix "
         "(verified constraints first, the judge breaks ties); looping answers are always rejected"),
    FLAG(S, repair, FLAG_BOOL, "--repair", NULL,
         "verify --repair: a failing answer whose failed constraints have an exact edit (letter case, commas, cut to n "
         "sentences, phrase or request first, phrase last, title, quotes, JSON, two answers) is edited, kept when all "
         "then pass, and trained on (SFT, chosen in the pairs)"),
    FLAG(S, heldout, FLAG_STRING, "--heldout", "F",
         "held-out prompts with constraints (strap verify --prompts-from): eval constraints of every M(t) against M0"),
    FLAG(S, eval_max_new, FLAG_INT, "--eval-max-new", "N", "answer tokens in eval constraints"),
    FLAG(S, no_repeat_ngram, FLAG_INT, "--no-repeat-ngram", "N", "answers never repeat an N-gram of tokens (0: off)"),
    FLAG(S, launch, FLAG_STRING, "--launch", "\"...\"",
         "run gen, judge, sft, dpo and the evals under this launcher, e.g. \"mpirun -np 8\" or \"srun\" "
         "(--dpo-batch is then per rank)"),
    FLAG(S, batch, FLAG_INT, "--batch", "B", "sequences generated together"),
    FLAG(S, seed, FLAG_INT, "--seed", "S", "random seed"),
    FLAG(S, chat_template, FLAG_STRING, "--chat-template", "NAME",
         "chatml, llama3 or plain (default: from the model's files)"),
    FLAG_THREADS(S),
    FLAG_DEVICE(S),

    {0},
};
#undef S
