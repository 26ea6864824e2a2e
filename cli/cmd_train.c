// cmd_train.c: strap train.
#include "../train/trainer.h"
#include "args.h"
#include "commands.h"

int cmd_train(int argc, char **argv) {
    TrainOptions o;
    train_options_default(&o);
    Command cmd = {"strap train --model DIR --data PATH --out DIR --steps N [options]",
                   "Train on token shards with AdamW, warmup + cosine schedule and gradient "
                   "clipping. Prints one line per step, appends JSON lines to OUT/metrics.jsonl "
                   "and keeps the latest checkpoint in OUT. SIGINT/SIGTERM save a checkpoint and "
                   "exit with 128+signal; --resume continues bit-identically. Under mpirun / srun the "
                   "ranks train data-parallel: --batch is per rank, a step takes batch x grad-accum x ranks "
                   "sequences, and only rank 0 prints and writes.",
                   TRAIN_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--data", o.data != NULL);
    args_require(&cmd, "--out", o.out != NULL);
    if (o.eval_every > 0 && !o.eval_data) args_error(&cmd, "--eval-every needs --eval-data");
    return train_run(&o);
}
