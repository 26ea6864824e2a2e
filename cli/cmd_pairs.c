// cmd_pairs.c: strap pairs: the flags of selfplay/pairs.h.
#include <string.h>

#include "../selfplay/pairs.h"
#include "args.h"
#include "commands.h"

int cmd_pairs(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *report_path = NULL, *score_field = "score", *reward_name = "judge";
    float min_margin = 0;
    Flag flags[] = {
        {"--in", FLAG_STRING, &in, "F", "judged answers .jsonl(.zst): prompt_id, prompt, text, score (required)", NULL},
        {"--out", FLAG_STRING, &out, "F", "pairs .jsonl(.zst): prompt_id, prompt, chosen, rejected, scores (required)",
         NULL},
        {"--min-margin", FLAG_FLOAT, &min_margin, "M", "drop pairs whose scores differ by less than M", NULL},
        {"--score-field", FLAG_STRING, &score_field, "NAME",
         "the field holding the judge's score (number, or null if missing)", NULL},
        {"--reward", FLAG_STRING, &reward_name, "R",
         "judge (the judge's score), verify (constraints passed: strap verify's verify_score) or mix (verify, then the "
         "judge's score)",
         NULL},
        {"--report", FLAG_STRING, &report_path, "F", "write the counts as JSON too", NULL},
        {0},
    };
    Command cmd = {"strap pairs --in judged.jsonl.zst --out pairs.jsonl.zst [--min-margin M]",
                   "Make one (chosen, rejected) pair per prompt from judged answers: the best and the "
                   "worst scored answer. Ties and pairs under --min-margin are dropped; answers without "
                   "a score are left out.",
                   flags,
                   0,
                   NULL,
                   0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--in", in != NULL);
    args_require(&cmd, "--out", out != NULL);
    if (min_margin < 0) args_error(&cmd, "--min-margin must be non-negative");
    PairsOptions o = {in, out, report_path, score_field, reward_name, REWARD_JUDGE, min_margin};
    if (!reward_from_name(reward_name, &o.reward))
        args_error(&cmd, "--reward must be judge, verify or mix (got '%s')", reward_name);
    return pairs_run(&o);
}
