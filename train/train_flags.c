// train_flags.c: the flags of strap train, sft and dpo, over their options (base/flags.h).
#include <stddef.h>

#include "dpo.h"
#include "sft.h"
#include "trainer.h"

#define S SftOptions
const Flag SFT_FLAGS[] = {
    FLAG(S, model_dir, FLAG_STRING, "--model", "DIR", "the starting checkpoint (with tokenizer.json) (required)"),
    FLAG(S, data, FLAG_STRING, "--data", "F",
         ".jsonl(.zst): {prompt, response} or {messages: [{role, content}]} (required)"),
    FLAG(S, out, FLAG_STRING, "--out", "DIR", "output directory: checkpoint + metrics.jsonl (required)"),
    FLAG(S, field, FLAG_STRING, "--field", "NAME",
         "the answer's field in prompt records (default: response, else text)"),
    FLAG(S, min_score, FLAG_FLOAT, "--min-score", "S",
         "keep only records judged >= S (strap judge output; rejection sampling)"),
    FLAG(S, score_field, FLAG_STRING, "--score-field", "NAME",
         "the score --min-score reads (default score; verify_score: strap verify)"),
    FLAG(S, ended_only, FLAG_BOOL, "--ended-only", NULL, "drop answers whose \"finish\" says they were cut off"),
    FLAG(S, lr, FLAG_FLOAT, "--lr", "LR", "peak learning rate"),
    FLAG(S, min_lr, FLAG_FLOAT, "--min-lr", "LR", "final learning rate of the cosine (default lr / 10)"),
    FLAG(S, warmup, FLAG_INT, "--warmup", "N", "warmup steps (default min(100, steps / 10))"),
    FLAG(S, weight_decay, FLAG_FLOAT, "--weight-decay", "W", "AdamW weight decay (matrices only)"),
    FLAG(S, grad_clip, FLAG_FLOAT, "--grad-clip", "C", "clip the global gradient norm to C (0: off)"),
    FLAG(S, batch, FLAG_INT, "--batch", "B", "packed rows per micro-batch (per rank)"),
    FLAG(S, grad_accum, FLAG_INT, "--grad-accum", "K", "micro-batches per step (a step: batch x K x ranks rows)"),
    FLAG(S, zero, FLAG_INT, "--zero", "S", "1: ZeRO-1, shard the optimizer state over the ranks (mpirun / srun)"),
    FLAG(S, seq, FLAG_INT, "--seq", "T", "tokens per packed row (default min(512, the model's context))"),
    FLAG(S, epochs, FLAG_INT, "--epochs", "N", "passes over the data (when --steps is 0)"),
    FLAG(S, steps, FLAG_INT, "--steps", "N", "optimizer steps (0: --epochs passes)"),
    FLAG(S, chat_template, FLAG_STRING, "--chat-template", "NAME",
         "chatml, llama3 or plain (default: from the model's files)"),
    FLAG(S, save_every, FLAG_INT, "--save-every", "N", "checkpoint every N steps (0: only at the end)"),
    FLAG(S, stop_after, FLAG_INT, "--stop-after", "N", "checkpoint and stop after N steps of this invocation"),
    FLAG(S, resume, FLAG_BOOL, "--resume", NULL, "continue the run checkpointed in --out"),
    FLAG(S, seed, FLAG_INT, "--seed", "S", "seed of the row order"),
    FLAG_THREADS(S),
    FLAG_DEVICE(S),
    {0},
};
#undef S

#define S DpoOptions
const Flag DPO_FLAGS[] = {
    FLAG(S, model_dir, FLAG_STRING, "--model", "DIR",
         "the policy's starting checkpoint, with tokenizer.json (required)"),
    FLAG(S, ref_dir, FLAG_STRING, "--ref", "DIR", "the frozen reference (default: --model)"),
    FLAG(S, pairs, FLAG_STRING, "--pairs", "F", ".jsonl(.zst) records with prompt, chosen, rejected (required)"),
    FLAG(S, out, FLAG_STRING, "--out", "DIR", "output checkpoint and metrics.jsonl (required)"),
    FLAG_CHOICES(S, loss, "--loss", DPO_LOSS_NAMES, "the preference loss"),
    FLAG(S, beta, FLAG_FLOAT, "--beta", "B", "strength of the KL constraint to the reference"),
    FLAG(S, label_smoothing, FLAG_FLOAT, "--label-smoothing", "E", "conservative / robust DPO noise rate"),
    FLAG(S, batch, FLAG_INT, "--batch", "N", "pairs per micro-batch (per rank)"),
    FLAG(S, grad_accum, FLAG_INT, "--grad-accum", "K", "micro-batches per step (a step: batch x K x ranks pairs)"),
    FLAG(S, epochs, FLAG_INT, "--epochs", "N", "passes over the pairs"),
    FLAG(S, max_len, FLAG_INT, "--max-len", "T", "tokens per sequence (prompt + answer)"),
    FLAG(S, lr, FLAG_FLOAT, "--lr", "LR", "peak learning rate"),
    FLAG(S, warmup, FLAG_INT, "--warmup", "W", "linear warmup steps"),
    FLAG(S, weight_decay, FLAG_FLOAT, "--weight-decay", "WD", "AdamW weight decay"),
    FLAG(S, grad_clip, FLAG_FLOAT, "--grad-clip", "G", "clip the global gradient norm (0: off)"),
    FLAG(S, chat_template, FLAG_STRING, "--chat-template", "NAME",
         "chatml, llama3 or plain (default: from the model's files)"),
    FLAG_THREADS(S),
    FLAG_DEVICE(S),
    FLAG(S, resume, FLAG_BOOL, "--resume", NULL, "continue the run checkpointed in --out (bit-identical)"),
    FLAG(S, save_every, FLAG_INT, "--save-every", "S", "checkpoint every S steps (0: only at the end)"),
    FLAG(S, stop_after, FLAG_INT, "--stop-after", "N", "checkpoint and exit after N steps of this invocation"),
    FLAG(S, zero, FLAG_INT, "--zero", "S", "1: ZeRO-1, shard the optimizer state over the ranks (mpirun / srun)"),
    {0},
};
#undef S

#define S TrainOptions
const Flag TRAIN_FLAGS[] = {
    FLAG(S, model_dir, FLAG_STRING, "--model", "DIR", "initial checkpoint (from strap init or a previous run)"),
    FLAG(S, data, FLAG_STRING, "--data", "PATH", "directory of .tok.zst shards or a quoted glob (required)"),
    FLAG(S, out, FLAG_STRING, "--out", "DIR", "output directory: checkpoint + metrics.jsonl (required)"),
    FLAG(S, steps, FLAG_INT, "--steps", "N", "total optimizer steps of the run"),
    FLAG(S, batch, FLAG_INT, "--batch", "B", "sequences per micro-batch"),
    FLAG(S, seq, FLAG_INT, "--seq", "T", "tokens per sequence"),
    FLAG(S, grad_accum, FLAG_INT, "--grad-accum", "K", "micro-batches per optimizer step"),
    FLAG(S, lr, FLAG_FLOAT, "--lr", "LR", "peak learning rate"),
    FLAG(S, min_lr, FLAG_FLOAT, "--min-lr", "LR", "final learning rate of the cosine decay (default lr/10)"),
    FLAG(S, warmup, FLAG_INT, "--warmup", "W", "linear warmup steps (default min(100, steps/10))"),
    FLAG(S, weight_decay, FLAG_FLOAT, "--weight-decay", "WD", "AdamW weight decay (matrices only)"),
    FLAG(S, grad_clip, FLAG_FLOAT, "--grad-clip", "G", "clip the global gradient norm to G (0: off)"),
    FLAG(S, beta1, FLAG_FLOAT, "--beta1", "B1", "AdamW beta1"),
    FLAG(S, beta2, FLAG_FLOAT, "--beta2", "B2", "AdamW beta2"),
    FLAG(S, save_every, FLAG_INT, "--save-every", "S", "checkpoint every S steps (0: only at the end)"),
    FLAG(S, eval_every, FLAG_INT, "--eval-every", "E", "evaluate on --eval-data every E steps"),
    FLAG(S, eval_data, FLAG_STRING, "--eval-data", "PATH", "held-out shards for --eval-every"),
    FLAG(S, eval_batches, FLAG_INT, "--eval-batches", "N", "batches per evaluation"),
    FLAG(S, resume, FLAG_BOOL, "--resume", NULL, "continue the run found in --out up to --steps"),
    FLAG(S, seed, FLAG_INT, "--seed", "S", "random seed"),
    FLAG_THREADS(S),
    FLAG_DEVICE(S),
    FLAG(S, stop_after, FLAG_INT, "--stop-after", "N",
         "checkpoint and exit after N steps of this invocation (job time budgets)"),
    FLAG(S, save_bf16, FLAG_BOOL, "--save-bf16", NULL, "write model.safetensors in BF16"),
    FLAG(S, zero, FLAG_INT, "--zero", "S", "1: ZeRO-1, shard the optimizer state over the ranks (mpirun / srun)"),

    {0},
};
#undef S
