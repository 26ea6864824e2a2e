// cmd_sft.c: strap sft: supervised fine-tuning on chat records (train/sft.h).
#include "../train/sft.h"
#include "args.h"
#include "commands.h"

int cmd_sft(int argc, char **argv) {
    SftOptions o;
    sft_options_default(&o);
    Command cmd = {"strap sft --model DIR --data F.jsonl.zst --out DIR [options]",
                   "Supervised fine-tuning on chat records: the chat template is applied, only the assistant's "
                   "tokens are trained, conversations are packed into rows of --seq tokens (a conversation sees "
                   "the ones before it in its row). Checkpoints, --resume, --stop-after and SIGINT/SIGTERM as in "
                   "strap train; one JSON line per step in OUT/metrics.jsonl. Under mpirun / srun the ranks "
                   "train data-parallel (a step: batch x grad-accum x ranks rows).",
                   SFT_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", o.model_dir != NULL);
    args_require(&cmd, "--data", o.data != NULL);
    args_require(&cmd, "--out", o.out != NULL);
    if (o.batch < 1 || o.grad_accum < 1 || o.epochs < 1 || o.steps < 0 || o.save_every < 0 || o.stop_after < 0)
        args_error(&cmd, "--batch, --grad-accum and --epochs must be positive; --steps, --save-every, --stop-after not "
                         "negative");
    if (o.zero != 0 && o.zero != 1) args_error(&cmd, "--zero is 0 or 1");
    return sft_run(&o);
}
