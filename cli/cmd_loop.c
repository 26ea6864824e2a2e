// cmd_loop.c: strap loop: self-rewarding iterations (loop/loop.h).
#include <string.h>

#include "../loop/loop.h"
#include "args.h"
#include "commands.h"

int cmd_loop(int argc, char **argv) {
    LoopOptions o;
    loop_options_default(&o);
    Flag flags[] = {
        {"--init", FLAG_STRING, &o.init, "DIR", "the starting model M0, with tokenizer.json (required)", NULL},
        {"--workdir", FLAG_STRING, &o.workdir, "W",
         "where every iteration's files go; resumes what is there (required)", NULL},
        {"--iterations", FLAG_INT, &o.iterations, "K", "iterations to run (M0 -> M1 -> ... -> MK)", NULL},
        {"--prompts", FLAG_INT, &o.prompts, "N", "new prompts per iteration", NULL},
        {"--candidates", FLAG_INT, &o.candidates, "K", "answers sampled per prompt", NULL},
        {"--seed-data", FLAG_STRING, &o.seed_prompts, "F",
         "human-written seed prompts (default: data/synth/seed_prompts.jsonl)", NULL},
        {"--catalog", FLAG_STRING, &o.catalog, "DIR", "roles, tasks and attributes (default: data/synth)", NULL},
        {"--synth-mode", FLAG_STRING, &o.synth_mode, "M", "self-instruct or brainstorm", NULL},
        {"--synth-max-new", FLAG_INT, &o.synth_max_new, "N", "tokens per synthetic prompt at most", NULL},
        {"--synth-args", FLAG_STRING, &o.synth_args, "\"...\"",
         "more options for strap synth (e.g. \"--mode brainstorm --min-words 6\")", NULL},
        {"--gen-args", FLAG_STRING, &o.gen_args, "\"...\"", "more options for strap gen (e.g. \"--top-k 50\")", NULL},
        {"--judge-args", FLAG_STRING, &o.judge_args, "\"...\"",
         "more options for strap judge (e.g. \"--template FILE\")", NULL},
        {"--clean-args", FLAG_STRING, &o.clean_args, "\"...\"",
         "more options for strap data clean (e.g. \"--min-words 3\")", NULL},
        {"--dpo-args", FLAG_STRING, &o.dpo_args, "\"...\"",
         "more options for strap dpo (e.g. \"--label-smoothing 0.1\")", NULL},
        {"--judge-method", FLAG_STRING, &o.judge_method, "M", "logprob or text", NULL},
        {"--judge-samples", FLAG_INT, &o.judge_samples, "K", "text judge: judgements per answer", NULL},
        {"--min-margin", FLAG_FLOAT, &o.min_margin, "M", "drop pairs whose scores differ by less", NULL},
        {"--sft-min-score", FLAG_FLOAT, &o.sft_min_score, "S", "> 0: SFT on answers judged >= S before DPO", NULL},
        {"--sft-steps", FLAG_INT, &o.sft_steps, "N", "SFT optimizer steps (default: one epoch)", NULL},
        {"--sft-lr", FLAG_FLOAT, &o.sft_lr, "LR", "SFT learning rate (default: --lr)", NULL},
        {"--loss", FLAG_STRING, &o.dpo_loss, "L", "DPO loss: sigmoid, ipo or robust", NULL},
        {"--beta", FLAG_FLOAT, &o.beta, "B", "DPO beta", NULL},
        {"--lr", FLAG_FLOAT, &o.lr, "LR", "DPO (and SFT) learning rate", NULL},
        {"--dpo-batch", FLAG_INT, &o.dpo_batch, "N", "pairs per DPO step", NULL},
        {"--epochs", FLAG_INT, &o.epochs, "N", "DPO passes over the pairs", NULL},
        {"--max-len", FLAG_INT, &o.max_len, "T", "tokens per DPO sequence", NULL},
        {"--max-new", FLAG_INT, &o.max_new, "N", "tokens per answer", NULL},
        {"--temperature", FLAG_FLOAT, &o.temperature, "T", "sampling temperature of the answers", NULL},
        {"--eval-prompts", FLAG_STRING, &o.eval_prompts, "F", "win-rate prompts (default: the seed prompts)", NULL},
        {"--eval-text", FLAG_STRING, &o.eval_text, "F", "held-out human text (.txt, .jsonl): perplexity of every model",
         NULL},
        {"--eval-text-batches", FLAG_INT, &o.eval_text_batches, "N", "batches of 4 x 256 tokens scored (0: all)", NULL},
        {"--eval-count", FLAG_INT, &o.eval_count, "N", "win-rate prompts used (0: all)", NULL},
        {"--winrate-judge", FLAG_STRING, &o.winrate_method, "M",
         "how M(t-1) judges M(t) against itself: logprob or text (pairwise, both orders) or rubric (each answer's "
         "5-point score), or none (skip the win rate)",
         NULL},
        {"--constraints", FLAG_INT, &o.constraints, "K",
         "attach 1..K verifiable constraints to every synthetic prompt (0: none)", NULL},
        {"--constraint-draws", FLAG_INT, &o.constraint_draws, "D",
         "prompts with their own constraints per synthesized request", NULL},
        {"--reward", FLAG_STRING, &o.reward, "R",
         "what makes the pairs: judge (the rubric judge), verify (constraints passed, needs --constraints) or mix "
         "(verified constraints first, the judge breaks ties); looping answers are always rejected",
         NULL},
        {"--repair", FLAG_BOOL, &o.repair, NULL,
         "verify --repair: a failing answer whose failed constraints have an exact edit (letter case, commas, cut to n "
         "sentences, phrase or request first, phrase last, title, quotes, JSON, two answers) is edited, kept when all "
         "then pass, and trained on (SFT, chosen in the pairs)",
         NULL},
        {"--heldout", FLAG_STRING, &o.heldout, "F",
         "held-out prompts with constraints (strap verify --prompts-from): eval constraints of every M(t) against M0",
         NULL},
        {"--eval-max-new", FLAG_INT, &o.eval_max_new, "N", "answer tokens in eval constraints", NULL},
        {"--no-repeat-ngram", FLAG_INT, &o.no_repeat_ngram, "N", "answers never repeat an N-gram of tokens (0: off)",
         NULL},
        {"--launch", FLAG_STRING, &o.launch, "\"...\"",
         "run gen, judge, sft, dpo and the evals under this launcher, e.g. \"mpirun -np 8\" or \"srun\" "
         "(--dpo-batch is then per rank)",
         NULL},
        {"--batch", FLAG_INT, &o.batch, "B", "sequences generated together", NULL},
        {"--seed", FLAG_INT, &o.seed, "S", "random seed", NULL},
        {"--chat-template", FLAG_STRING, &o.chat_template, "NAME",
         "chatml, llama3 or plain (default: from the model's files)", NULL},
        {"--threads", FLAG_INT, &o.threads, "N", "CPU threads (0: all cores)", NULL},
        {"--device", FLAG_STRING, &o.device, "D", "auto, cpu or cuda", NULL},
        {0},
    };
    Command cmd = {"strap loop --init DIR --workdir W [--iterations K] [options]",
                   "Self-rewarding training: each iteration runs synth -> gen -> judge -> clean -> pairs -> (sft) -> "
                   "dpo -> eval in W/iter-NN/ with the current model as writer, judge and reference, and rewrites "
                   "W/report.md. Stopped or crashed, it resumes from the first unfinished stage when run again "
                   "with the same options (more --iterations extend a finished run).",
                   flags,
                   0,
                   NULL,
                   0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--init", o.init != NULL);
    args_require(&cmd, "--workdir", o.workdir != NULL);
    if (o.iterations < 1 || o.prompts < 1 || o.candidates < 2)
        args_error(
            &cmd, "--iterations and --prompts must be positive and --candidates at least 2 (a pair needs two answers)");
    if (strcmp(o.synth_mode, "self-instruct") != 0 && strcmp(o.synth_mode, "brainstorm") != 0)
        args_error(&cmd, "--synth-mode must be self-instruct or brainstorm");
    if (strcmp(o.judge_method, "logprob") != 0 && strcmp(o.judge_method, "text") != 0)
        args_error(&cmd, "--judge-method must be logprob or text");
    if (strcmp(o.winrate_method, "logprob") != 0 && strcmp(o.winrate_method, "text") != 0 &&
        strcmp(o.winrate_method, "rubric") != 0 && strcmp(o.winrate_method, "none") != 0)
        args_error(&cmd, "--winrate-judge must be logprob, text, rubric or none");
    if (strcmp(o.reward, "judge") != 0 && strcmp(o.reward, "verify") != 0 && strcmp(o.reward, "mix") != 0)
        args_error(&cmd, "--reward must be judge, verify or mix");
    if (strcmp(o.dpo_loss, "sigmoid") != 0 && strcmp(o.dpo_loss, "ipo") != 0 && strcmp(o.dpo_loss, "robust") != 0)
        args_error(&cmd, "--loss must be sigmoid, ipo or robust");
    if (strcmp(o.reward, "judge") != 0 && o.constraints < 1)
        args_error(&cmd, "--reward %s checks constraints: give --constraints K (1..3) too", o.reward);
    if (o.repair && strcmp(o.reward, "judge") == 0)
        args_error(&cmd, "--repair edits answers in the verify stage: give --reward verify or mix too");
    if (o.constraints < 0 || o.constraints > 3 || o.constraint_draws < 1 || o.eval_max_new < 1 || o.no_repeat_ngram < 0)
        args_error(
            &cmd,
            "--constraints is 0..3, --constraint-draws and --eval-max-new positive, --no-repeat-ngram not negative");
    return loop_run(&o);
}
