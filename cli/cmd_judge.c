// cmd_judge.c: strap judge: the flags of selfplay/judge_run.h.
#include <string.h>

#include "../selfplay/judge_run.h"
#include "args.h"
#include "commands.h"

int cmd_judge(int argc, char **argv) {
    const char *model_dir = NULL, *in = NULL, *out = NULL, *method = "text", *template_path = NULL, *device = "auto";
    int samples = 3, max_new = 256, seed = 0, threads = 0, batch = 8;
    float temperature = 0.7f;
    Flag flags[] = {
        {"--model", FLAG_STRING, &model_dir, "DIR", "the judge (with tokenizer.json) (required)", NULL},
        {"--in", FLAG_STRING, &in, "F", "answers .jsonl(.zst): prompt, text (strap gen --prompts output) (required)",
         NULL},
        {"--out", FLAG_STRING, &out, "F", "the same records with score, scores, judgements, judge (required)", NULL},
        {"--method", FLAG_STRING, &method, "M", "text or logprob", NULL},
        {"--samples", FLAG_INT, &samples, "K", "text: judgements sampled per answer", NULL},
        {"--template", FLAG_STRING, &template_path, "FILE",
         "a judge prompt with {prompt} and {response} (default: the 5-point rubric)", NULL},
        {"--temperature", FLAG_FLOAT, &temperature, "T", "text: sampling temperature", NULL},
        {"--max-new", FLAG_INT, &max_new, "N", "text: tokens per judgement", NULL},
        {"--batch", FLAG_INT, &batch, "B", "text: judgements generated together", NULL},
        {"--seed", FLAG_INT, &seed, "S", "random seed", NULL},
        {"--threads", FLAG_INT, &threads, "N", "CPU threads (0: all cores)", NULL},
        {"--device", FLAG_STRING, &device, "D", "auto, cpu or cuda", NULL},
        {0},
    };
    Command cmd = {"strap judge --model DIR --in answers.jsonl.zst --out judged.jsonl.zst [--method text|logprob]",
                   "LLM-as-a-judge with the additive 5-point rubric: adds score (mean of the parsed "
                   "judgements, null if none parsed), scores, judgements and judge to every record.",
                   flags,
                   0,
                   NULL,
                   0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", model_dir != NULL);
    args_require(&cmd, "--in", in != NULL);
    args_require(&cmd, "--out", out != NULL);
    if (strcmp(method, "logprob") != 0 && strcmp(method, "text") != 0)
        args_error(&cmd, "--method must be text or logprob");
    if (samples < 1 || max_new < 1 || batch < 1) args_error(&cmd, "--samples, --max-new and --batch must be positive");
    JudgeOptions o = {model_dir, in,      out,   method,      template_path, device,
                      samples,   max_new, batch, temperature, seed,          threads};
    return judge_run(&o);
}
