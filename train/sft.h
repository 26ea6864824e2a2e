// sft.h: supervised fine-tuning on chat records, loss on the assistant's tokens only.
//
// Records (.jsonl / .jsonl.zst), one conversation each:
//   {"prompt": "...", "response": "..."}                  one turn ("text" is accepted for
//                                                         "response": strap gen / judge output)
//   {"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}
// --field NAME takes the answer from another field (e.g. "chosen" of the pairs format).
// --min-score S keeps only records whose "score" (strap judge output) is a number >= S:
// rejection-sampling SFT as in Llama 3; unscored (null) records are dropped.
//
// Each conversation is encoded with the model's chat template exactly as strap gen / strap
// dpo prompt it (the template's default system message when there is none). Every
// assistant turn's content and its end-of-turn token are trained (weight 1); system, user
// and template tokens are context only (target -1: no loss, no gradient). A conversation
// longer than --seq is cut to --seq tokens (its answer is shortened, counted and reported);
// one whose prompt alone leaves no answer token inside --seq is an error.
//
// Packing: conversations are placed, in file order and never split, into rows of exactly
// --seq tokens; a conversation that does not fit in the rest of a row starts the next one;
// the tail of a row is padding (no loss). Attention stays causal over the whole row and
// positions are row positions: a conversation sees the conversations packed before it in
// its row (as TRL's packing without position-id resets), which the backends' attention has
// no per-example reset for. Its own tokens' targets and weights are exactly its own.
//
// Training: AdamW (beta 0.9, 0.999), warmup + cosine to --min-lr, global-norm clipping; a
// step takes --batch x --grad-accum x ranks rows; each epoch visits every row once in an
// order shuffled with the seed and the epoch number; the loss of a step is the mean over its
// assistant tokens. Under mpirun / srun the ranks train data-parallel as strap dpo does
// (train/dist_opt.h): micro-batch k of rank r takes the rows at (k x ranks + r) x batch of the
// step, so a step holds the same rows at any world size; --zero 1 shards the optimizer.
// OUT holds the latest complete checkpoint (ckpt.h: optimizer.safetensors first, then
// model.safetensors and trainer_state.json, each written to a temp name and renamed; rank 0
// writes); SIGINT/SIGTERM and --stop-after save and stop, and --resume continues (at any
// world size with the same global batch) with weights byte-identical to an uninterrupted run
// (same --threads and ranks).
#pragma once
#include <stdint.h>

#include "../base/flags.h"
#include "../data/tokenizer.h"
#include "../model/chat.h"

typedef struct {
    const char *model_dir, *data, *out, *device;
    const char *chat_template;     // NULL: from the model's files
    const char *field;             // the answer's field (NULL: "response", else "text")
    float min_score;               // keep only records with "score" (or score_field) >= min_score (NAN: all)
    const char *score_field;       // NULL: "score"; "verify_score" for strap verify output
    int ended_only;                // drop records whose "finish" says the generation was cut off
    int batch, seq, epochs, steps; // batch: rows per micro-batch and rank; steps 0: epochs x rows / global batch
    int grad_accum, zero;          // micro-batches per step; 1: ZeRO-1 (under mpirun)
    float lr, min_lr, weight_decay, grad_clip;
    int warmup; // -1: min(100, steps / 10)
    int seed, threads;
    int resume, save_every, stop_after;
} SftOptions;

void sft_options_default(SftOptions *o);
extern const Flag SFT_FLAGS[]; // strap sft (train/train_flags.c)
// Returns the process exit status (0, or 128+signal after a clean stop).
int sft_run(const SftOptions *o);

// ---- the pieces, exposed for tests ----

typedef struct {
    int32_t *tokens;
    unsigned char *train; // [len] 1: an assistant token (predicting it counts)
    int len;
} SftExample;

// One conversation -> tokens and train mask. `bos` >= 0 is put first in the plain format
// (as strap gen does); `end_id` < 0: no end-of-turn token. Returns 0 on success, or -1 with
// a reason in err when the conversation cannot be encoded (no assistant turn, ...).
int sft_encode(Tokenizer *t, ChatFormat f, int bos, int end_id, const ChatMessage *msgs, int n, SftExample *ex,
               char *err, size_t err_size);
void sft_example_free(SftExample *ex);

typedef struct {
    int rows, T;
    int *tokens;       // (rows, T)
    int *targets;      // (rows, T): the next token where it is an assistant token of the same conversation, else -1
    int *row_examples; // [rows] conversations per row
} SftPacked;

// Packs the examples (each len <= T) in order into rows of T tokens (see above).
void sft_pack(const SftExample *ex, int n, int T, SftPacked *p);
void sft_packed_free(SftPacked *p);
