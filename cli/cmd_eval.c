// cmd_eval.c: strap eval ppl | logits | pairs | winrate | judge-accuracy | constraints.
#include <stdio.h>
#include <string.h>

#include "../eval/compare.h"
#include "../eval/constraint_eval.h"
#include "../eval/dpo_eval.h"
#include "../eval/logits_run.h"
#include "../eval/ppl_run.h"
#include "args.h"
#include "commands.h"

static int eval_ppl(int argc, char **argv) {
    PplOptions o;
    ppl_options_default(&o);
    Command cmd = {"strap eval ppl --model DIR (--data PATH | --tokens-file F) [--json]",
                   "Mean next-token loss and perplexity of a checkpoint.", PPL_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", o.model_dir != NULL);
    if (!o.data == !o.tokens_file) args_error(&cmd, "give exactly one of --data and --tokens-file");
    return ppl_run(&o);
}

static int eval_logits(int argc, char **argv) {
    LogitsOptions o;
    logits_options_default(&o);
    Command cmd = {"strap eval logits --model DIR --tokens-file F [--top K]",
                   "Print {\"top\": [[id, logit], ...]} for the position after the last token.", LOGITS_FLAGS,
                   .options = &o};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", o.model_dir != NULL);
    args_require(&cmd, "--tokens-file", o.tokens_file != NULL);
    return logits_run(&o);
}

static int eval_pairs(int argc, char **argv) {
    DpoEvalOptions o;
    dpo_eval_options_default(&o);
    Command cmd = {"strap eval pairs --model DIR --ref DIR --pairs F [--json]",
                   "Preference accuracy and mean reward margin of a model against a reference on "
                   "held-out (prompt, chosen, rejected) pairs.",
                   EVAL_PAIRS_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", o.model_dir != NULL);
    args_require(&cmd, "--ref", o.ref_dir != NULL);
    args_require(&cmd, "--pairs", o.pairs != NULL);
    if (o.batch < 1) args_error(&cmd, "--batch must be positive");
    return eval_pairs_run(&o);
}

static int eval_winrate(int argc, char **argv) {
    WinrateOptions o;
    winrate_options_default(&o);
    Command cmd = {"strap eval winrate --model DIR --baseline DIR --judge DIR --prompts F [--out report.json] "
                   "[--markdown report.md]",
                   "Both models answer every prompt; the judge compares the answers in both orders. Win: the "
                   "model preferred in both orders; loss: the baseline in both; tie otherwise (and when a "
                   "verdict is unparseable, counted separately). With --judge-method rubric the judge scores each "
                   "answer alone and the higher score wins. Win rate = (wins + ties/2) / prompts with a 95% "
                   "Wilson interval; mean answer lengths in tokens.",
                   WINRATE_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", o.model_dir != NULL);
    args_require(&cmd, "--baseline", o.baseline_dir != NULL);
    args_require(&cmd, "--judge", o.judge_dir != NULL);
    args_require(&cmd, "--prompts", o.prompts != NULL);
    if (o.max_new < 1 || o.batch < 1 || o.judge_max_new < 1 || o.limit < 0)
        args_error(&cmd, "--max-new, --batch and --judge-max-new must be positive, --limit not negative");
    return winrate_run(&o);
}

static int eval_judge_accuracy(int argc, char **argv) {
    JudgeAccuracyOptions o;
    judge_accuracy_options_default(&o);
    Command cmd = {"strap eval judge-accuracy --judge DIR --labelled F [--out report.json] [--markdown report.md]",
                   "How often the judge prefers the chosen answer of labelled pairs (the pairs format of strap "
                   "pairs, or human labels in the same schema): pairwise in both answer orders (ties count half), "
                   "and by the 5-point rubric score of each answer; 95% Wilson intervals.",
                   JUDGE_ACCURACY_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--judge", o.judge_dir != NULL);
    args_require(&cmd, "--labelled", o.labelled != NULL);
    if (o.method == JUDGE_RUBRIC) args_error(&cmd, "--judge-method must be logprob or text (got 'rubric')");
    if (o.batch < 1 || o.judge_max_new < 1 || o.limit < 0)
        args_error(&cmd, "--batch and --judge-max-new must be positive, --limit not negative");
    return judge_accuracy_run(&o);
}

static int eval_constraints(int argc, char **argv) {
    ConstraintEvalOptions o;
    constraint_eval_options_default(&o);
    Command cmd = {"strap eval constraints --model DIR [--baseline DIR] --prompts held-out.jsonl [--out report.json] "
                   "[--markdown report.md]",
                   "Verifiable instructions: the model (and the baseline) answer held-out prompts that carry "
                   "constraints a program checks (strap verify). Reports prompt-level accuracy (all constraints "
                   "pass), instruction-level accuracy, accuracy per constraint family, answers cut off and looping, "
                   "and against a baseline the paired counts with the exact McNemar p-value.",
                   CONSTRAINT_EVAL_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", o.model_dir != NULL);
    args_require(&cmd, "--prompts", o.prompts != NULL);
    if (o.baseline_answers && !o.baseline_dir)
        args_error(&cmd, "--baseline-answers needs --baseline (the model that wrote them)");
    if (o.max_new < 1 || o.batch < 1 || o.limit < 0 || o.no_repeat_ngram < 0 || o.temperature < 0)
        args_error(&cmd,
                   "--max-new and --batch must be positive; --limit, --no-repeat-ngram and --temperature not negative");
    return constraint_eval_run(&o);
}

int cmd_eval(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "ppl") == 0) return eval_ppl(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "logits") == 0) return eval_logits(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "pairs") == 0) return eval_pairs(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "winrate") == 0) return eval_winrate(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "judge-accuracy") == 0) return eval_judge_accuracy(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "constraints") == 0) return eval_constraints(argc - 1, argv + 1);
    int help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    fprintf(help ? stdout : stderr,
            "usage: strap eval <kind> [options]\n\n"
            "kinds:\n  ppl      mean next-token loss and perplexity on shards or a tokens file\n"
            "  logits   the largest next-token logits after a token sequence (JSON)\n"
            "  pairs    preference accuracy and reward margin against a reference\n"
            "  winrate  win rate of a model against a baseline, judged pairwise in both answer orders\n"
            "  judge-accuracy  how often a judge prefers the chosen answer of labelled pairs\n"
            "  constraints  verifiable-instruction accuracy on held-out prompts, against a baseline (McNemar)\n");
    if (!help && argc >= 2) fprintf(stderr, "\nstrap: error: unknown eval kind '%s'\n", argv[1]);
    return help ? 0 : 2;
}
