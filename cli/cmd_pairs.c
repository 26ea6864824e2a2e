// cmd_pairs.c: strap pairs: the flags of selfplay/pairs.h.

#include "../selfplay/pairs.h"
#include "args.h"
#include "commands.h"

int cmd_pairs(int argc, char **argv) {
    PairsOptions o;
    pairs_options_default(&o);
    Command cmd = {"strap pairs --in judged.jsonl.zst --out pairs.jsonl.zst [--min-margin M]",
                   "Make one (chosen, rejected) pair per prompt from judged answers: the best and the "
                   "worst scored answer. Ties and pairs under --min-margin are dropped; answers without "
                   "a score are left out.",
                   PAIRS_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--in", o.in != NULL);
    args_require(&cmd, "--out", o.out != NULL);
    if (o.min_margin < 0) args_error(&cmd, "--min-margin must be non-negative");
    return pairs_run(&o);
}
