// cmd_train.c: strap train.
#include "../train/trainer.h"
#include "args.h"
#include "commands.h"

int cmd_train(int argc, char **argv) {
    TrainOptions o;
    train_options_default(&o);
    Flag flags[] = {
        {"--model", FLAG_STRING, &o.model_dir, "DIR", "initial checkpoint (from strap init or a previous run)", NULL},
        {"--data", FLAG_STRING, &o.data, "PATH", "directory of .tok.zst shards or a quoted glob (required)", NULL},
        {"--out", FLAG_STRING, &o.out, "DIR", "output directory: checkpoint + metrics.jsonl (required)", NULL},
        {"--steps", FLAG_INT, &o.steps, "N", "total optimizer steps of the run", NULL},
        {"--batch", FLAG_INT, &o.batch, "B", "sequences per micro-batch", NULL},
        {"--seq", FLAG_INT, &o.seq, "T", "tokens per sequence", NULL},
        {"--grad-accum", FLAG_INT, &o.grad_accum, "K", "micro-batches per optimizer step", NULL},
        {"--lr", FLAG_FLOAT, &o.lr, "LR", "peak learning rate", NULL},
        {"--min-lr", FLAG_FLOAT, &o.min_lr, "LR", "final learning rate of the cosine decay (default lr/10)", NULL},
        {"--warmup", FLAG_INT, &o.warmup, "W", "linear warmup steps (default min(100, steps/10))", NULL},
        {"--weight-decay", FLAG_FLOAT, &o.weight_decay, "WD", "AdamW weight decay (matrices only)", NULL},
        {"--grad-clip", FLAG_FLOAT, &o.grad_clip, "G", "clip the global gradient norm to G (0: off)", NULL},
        {"--beta1", FLAG_FLOAT, &o.beta1, "B1", "AdamW beta1", NULL},
        {"--beta2", FLAG_FLOAT, &o.beta2, "B2", "AdamW beta2", NULL},
        {"--save-every", FLAG_INT, &o.save_every, "S", "checkpoint every S steps (0: only at the end)", NULL},
        {"--eval-every", FLAG_INT, &o.eval_every, "E", "evaluate on --eval-data every E steps", NULL},
        {"--eval-data", FLAG_STRING, &o.eval_data, "PATH", "held-out shards for --eval-every", NULL},
        {"--eval-batches", FLAG_INT, &o.eval_batches, "N", "batches per evaluation", NULL},
        {"--resume", FLAG_BOOL, &o.resume, NULL, "continue the run found in --out up to --steps", NULL},
        {"--seed", FLAG_INT, &o.seed, "S", "random seed", NULL},
        {"--threads", FLAG_INT, &o.threads, "N", "CPU threads (0: all cores)", NULL},
        {"--device", FLAG_STRING, &o.device, "D", "auto, cpu or cuda", NULL},
        {"--stop-after", FLAG_INT, &o.stop_after, "N",
         "checkpoint and exit after N steps of this invocation (job time budgets)", NULL},
        {"--save-bf16", FLAG_BOOL, &o.save_bf16, NULL, "write model.safetensors in BF16", NULL},
        {"--zero", FLAG_INT, &o.zero, "S", "1: ZeRO-1, shard the optimizer state over the ranks (mpirun / srun)", NULL},
        {0},
    };
    Command cmd = {"strap train --model DIR --data PATH --out DIR --steps N [options]",
                   "Train on token shards with AdamW, warmup + cosine schedule and gradient "
                   "clipping. Prints one line per step, appends JSON lines to OUT/metrics.jsonl "
                   "and keeps the latest checkpoint in OUT. SIGINT/SIGTERM save a checkpoint and "
                   "exit with 128+signal; --resume continues bit-identically. Under mpirun / srun the "
                   "ranks train data-parallel: --batch is per rank, a step takes batch x grad-accum x ranks "
                   "sequences, and only rank 0 prints and writes.",
                   flags,
                   0,
                   NULL,
                   0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--data", o.data != NULL);
    args_require(&cmd, "--out", o.out != NULL);
    if (o.eval_every > 0 && !o.eval_data) args_error(&cmd, "--eval-every needs --eval-data");
    return train_run(&o);
}
