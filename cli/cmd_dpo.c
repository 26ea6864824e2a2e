// cmd_dpo.c: strap dpo.
#include "../train/dpo.h"
#include "args.h"
#include "commands.h"

int cmd_dpo(int argc, char **argv) {
    DpoOptions o;
    dpo_options_default(&o);
    const char *loss = "sigmoid";
    float beta = (float)o.loss.beta, smoothing = 0;
    Flag flags[] = {
        {"--model", FLAG_STRING, &o.model_dir, "DIR",
         "the policy's starting checkpoint, with tokenizer.json (required)", NULL},
        {"--ref", FLAG_STRING, &o.ref_dir, "DIR", "the frozen reference (default: --model)", NULL},
        {"--pairs", FLAG_STRING, &o.pairs, "F", ".jsonl(.zst) records with prompt, chosen, rejected (required)", NULL},
        {"--out", FLAG_STRING, &o.out, "DIR", "output checkpoint and metrics.jsonl (required)", NULL},
        {"--loss", FLAG_STRING, &loss, "L", "sigmoid, ipo or robust", NULL},
        {"--beta", FLAG_FLOAT, &beta, "B", "strength of the KL constraint to the reference", NULL},
        {"--label-smoothing", FLAG_FLOAT, &smoothing, "E", "conservative / robust DPO noise rate", NULL},
        {"--batch", FLAG_INT, &o.batch, "N", "pairs per micro-batch (per rank)", NULL},
        {"--grad-accum", FLAG_INT, &o.grad_accum, "K", "micro-batches per step (a step: batch x K x ranks pairs)",
         NULL},
        {"--epochs", FLAG_INT, &o.epochs, "N", "passes over the pairs", NULL},
        {"--max-len", FLAG_INT, &o.max_len, "T", "tokens per sequence (prompt + answer)", NULL},
        {"--lr", FLAG_FLOAT, &o.lr, "LR", "peak learning rate", NULL},
        {"--warmup", FLAG_INT, &o.warmup, "W", "linear warmup steps", NULL},
        {"--weight-decay", FLAG_FLOAT, &o.weight_decay, "WD", "AdamW weight decay", NULL},
        {"--grad-clip", FLAG_FLOAT, &o.grad_clip, "G", "clip the global gradient norm (0: off)", NULL},
        {"--chat-template", FLAG_STRING, &o.chat_template, "NAME",
         "chatml, llama3 or plain (default: from the model's files)", NULL},
        {"--threads", FLAG_INT, &o.threads, "N", "CPU threads (0: all cores)", NULL},
        {"--device", FLAG_STRING, &o.device, "D", "auto, cpu or cuda", NULL},
        {"--resume", FLAG_BOOL, &o.resume, NULL, "continue the run checkpointed in --out (bit-identical)", NULL},
        {"--save-every", FLAG_INT, &o.save_every, "S", "checkpoint every S steps (0: only at the end)", NULL},
        {"--stop-after", FLAG_INT, &o.stop_after, "N", "checkpoint and exit after N steps of this invocation", NULL},
        {"--zero", FLAG_INT, &o.zero, "S", "1: ZeRO-1, shard the optimizer state over the ranks (mpirun / srun)", NULL},
        {0},
    };
    Command cmd = {"strap dpo --model DIR --pairs F --out DIR [options]",
                   "Direct Preference Optimization on (prompt, chosen, rejected) pairs: the reference "
                   "log-probabilities are computed once, then the policy trains on the answer tokens only. "
                   "Writes the checkpoint and metrics.jsonl (loss, rewards, accuracy, margin per step). "
                   "SIGINT/SIGTERM save a checkpoint and exit with 128+signal; --resume continues bit-identically. "
                   "Under mpirun / srun the ranks train data-parallel (a step: batch x grad-accum x ranks pairs).",
                   flags,
                   0,
                   NULL,
                   0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", o.model_dir != NULL);
    args_require(&cmd, "--pairs", o.pairs != NULL);
    args_require(&cmd, "--out", o.out != NULL);
    if (!(beta > 0)) args_error(&cmd, "--beta must be positive");
    if (smoothing < 0 || smoothing >= 0.5f) args_error(&cmd, "--label-smoothing must lie in [0, 0.5)");
    o.loss = (DpoLoss){dpo_loss_type(loss), beta, smoothing};
    return dpo_run(&o);
}
