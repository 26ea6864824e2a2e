// cmd_dpo.c: strap dpo.
#include "../train/dpo.h"
#include "args.h"
#include "commands.h"

int cmd_dpo(int argc, char **argv) {
    DpoOptions o;
    dpo_options_default(&o);
    Command cmd = {"strap dpo --model DIR --pairs F --out DIR [options]",
                   "Direct Preference Optimization on (prompt, chosen, rejected) pairs: the reference "
                   "log-probabilities are computed once, then the policy trains on the answer tokens only. "
                   "Writes the checkpoint and metrics.jsonl (loss, rewards, accuracy, margin per step). "
                   "SIGINT/SIGTERM save a checkpoint and exit with 128+signal; --resume continues bit-identically. "
                   "Under mpirun / srun the ranks train data-parallel (a step: batch x grad-accum x ranks pairs).",
                   DPO_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", o.model_dir != NULL);
    args_require(&cmd, "--pairs", o.pairs != NULL);
    args_require(&cmd, "--out", o.out != NULL);
    if (!(o.beta > 0)) args_error(&cmd, "--beta must be positive");
    if (o.label_smoothing < 0 || o.label_smoothing >= 0.5f) args_error(&cmd, "--label-smoothing must lie in [0, 0.5)");
    return dpo_run(&o);
}
