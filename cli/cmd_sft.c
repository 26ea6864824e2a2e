// cmd_sft.c: strap sft: supervised fine-tuning on chat records (train/sft.h).
#include <math.h>
#include <stdio.h>

#include "../train/sft.h"
#include "args.h"
#include "commands.h"

int cmd_sft(int argc, char **argv) {
    SftOptions o;
    sft_options_default(&o);
    float min_score = NAN;
    Flag flags[] = {
        {"--model", FLAG_STRING, &o.model_dir, "DIR", "the starting checkpoint (with tokenizer.json) (required)", NULL},
        {"--data", FLAG_STRING, &o.data, "F",
         ".jsonl(.zst): {prompt, response} or {messages: [{role, content}]} (required)", NULL},
        {"--out", FLAG_STRING, &o.out, "DIR", "output directory: checkpoint + metrics.jsonl (required)", NULL},
        {"--field", FLAG_STRING, &o.field, "NAME",
         "the answer's field in prompt records (default: response, else text)", NULL},
        {"--min-score", FLAG_FLOAT, &min_score, "S",
         "keep only records judged >= S (strap judge output; rejection sampling)", NULL},
        {"--score-field", FLAG_STRING, &o.score_field, "NAME",
         "the score --min-score reads (default score; verify_score: strap verify)", NULL},
        {"--ended-only", FLAG_BOOL, &o.ended_only, NULL, "drop answers whose \"finish\" says they were cut off", NULL},
        {"--lr", FLAG_FLOAT, &o.lr, "LR", "peak learning rate", NULL},
        {"--min-lr", FLAG_FLOAT, &o.min_lr, "LR", "final learning rate of the cosine (default lr / 10)", NULL},
        {"--warmup", FLAG_INT, &o.warmup, "N", "warmup steps (default min(100, steps / 10))", NULL},
        {"--weight-decay", FLAG_FLOAT, &o.weight_decay, "W", "AdamW weight decay (matrices only)", NULL},
        {"--grad-clip", FLAG_FLOAT, &o.grad_clip, "C", "clip the global gradient norm to C (0: off)", NULL},
        {"--batch", FLAG_INT, &o.batch, "B", "packed rows per micro-batch (per rank)", NULL},
        {"--grad-accum", FLAG_INT, &o.grad_accum, "K", "micro-batches per step (a step: batch x K x ranks rows)", NULL},
        {"--zero", FLAG_INT, &o.zero, "S", "1: ZeRO-1, shard the optimizer state over the ranks (mpirun / srun)", NULL},
        {"--seq", FLAG_INT, &o.seq, "T", "tokens per packed row (default min(512, the model's context))", NULL},
        {"--epochs", FLAG_INT, &o.epochs, "N", "passes over the data (when --steps is 0)", NULL},
        {"--steps", FLAG_INT, &o.steps, "N", "optimizer steps (0: --epochs passes)", NULL},
        {"--chat-template", FLAG_STRING, &o.chat_template, "NAME",
         "chatml, llama3 or plain (default: from the model's files)", NULL},
        {"--save-every", FLAG_INT, &o.save_every, "N", "checkpoint every N steps (0: only at the end)", NULL},
        {"--stop-after", FLAG_INT, &o.stop_after, "N", "checkpoint and stop after N steps of this invocation", NULL},
        {"--resume", FLAG_BOOL, &o.resume, NULL, "continue the run checkpointed in --out", NULL},
        {"--seed", FLAG_INT, &o.seed, "S", "seed of the row order", NULL},
        {"--threads", FLAG_INT, &o.threads, "N", "CPU threads (0: all cores)", NULL},
        {"--device", FLAG_STRING, &o.device, "D", "auto, cpu or cuda", NULL},
        {0},
    };
    Command cmd = {"strap sft --model DIR --data F.jsonl.zst --out DIR [options]",
                   "Supervised fine-tuning on chat records: the chat template is applied, only the assistant's "
                   "tokens are trained, conversations are packed into rows of --seq tokens (a conversation sees "
                   "the ones before it in its row). Checkpoints, --resume, --stop-after and SIGINT/SIGTERM as in "
                   "strap train; one JSON line per step in OUT/metrics.jsonl. Under mpirun / srun the ranks "
                   "train data-parallel (a step: batch x grad-accum x ranks rows).",
                   flags,
                   0,
                   NULL,
                   0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", o.model_dir != NULL);
    args_require(&cmd, "--data", o.data != NULL);
    args_require(&cmd, "--out", o.out != NULL);
    if (o.batch < 1 || o.grad_accum < 1 || o.epochs < 1 || o.steps < 0 || o.save_every < 0 || o.stop_after < 0)
        args_error(&cmd, "--batch, --grad-accum and --epochs must be positive; --steps, --save-every, --stop-after not "
                         "negative");
    if (o.zero != 0 && o.zero != 1) args_error(&cmd, "--zero is 0 or 1");
    if (!isnan(min_score)) o.use_min_score = 1, o.min_score = min_score;
    return sft_run(&o);
}
