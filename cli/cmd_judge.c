// cmd_judge.c: strap judge: the flags of selfplay/judge_run.h.
#include <string.h>

#include "../selfplay/judge_run.h"
#include "args.h"
#include "commands.h"

int cmd_judge(int argc, char **argv) {
    JudgeOptions o;
    judge_options_default(&o);
    Command cmd = {"strap judge --model DIR --in answers.jsonl.zst --out judged.jsonl.zst [--method text|logprob]",
                   "LLM-as-a-judge with the additive 5-point rubric: adds score (mean of the parsed "
                   "judgements, null if none parsed), scores, judgements and judge to every record.",
                   JUDGE_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", o.model_dir != NULL);
    args_require(&cmd, "--in", o.in != NULL);
    args_require(&cmd, "--out", o.out != NULL);
    if (strcmp(o.method, "logprob") != 0 && strcmp(o.method, "text") != 0)
        args_error(&cmd, "--method must be text or logprob");
    if (o.samples < 1 || o.max_new < 1 || o.batch < 1)
        args_error(&cmd, "--samples, --max-new and --batch must be positive");
    return judge_run(&o);
}
