// cmd_loop.c: strap loop: self-rewarding iterations (loop/loop.h).
#include <string.h>

#include "../loop/loop.h"
#include "args.h"
#include "commands.h"

int cmd_loop(int argc, char **argv) {
    LoopOptions o;
    loop_options_default(&o);
    Command cmd = {"strap loop --init DIR --workdir W [--iterations K] [options]",
                   "Self-rewarding training: each iteration runs synth -> gen -> judge -> clean -> pairs -> (sft) -> "
                   "dpo -> eval in W/iter-NN/ with the current model as writer, judge and reference, and rewrites "
                   "W/report.md. Stopped or crashed, it resumes from the first unfinished stage when run again "
                   "with the same options (more --iterations extend a finished run).",
                   LOOP_FLAGS, .options = &o};
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
