// ppl_run.h: strap eval ppl: the mean next-token loss and perplexity of a checkpoint on token
// shards or on a tokens file (ppl.h), reported (eval_report.h).
#pragma once
#include <stdint.h>

#include "../base/flags.h"

typedef struct {
    const char *model_dir;
    const char *data;        // a directory of .tok.zst shards or a glob (or tokens_file)
    const char *tokens_file; // whitespace-separated token ids, scored as given
    int batch, seq;          // data: sequences per batch, tokens per sequence (0: min(max_seq, 512))
    int max_batches;         // data: stop after this many batches (0: all)
    int json;                // print one JSON line
    const char *out, *markdown;
    const char *device;
    int threads;
} PplOptions;

void ppl_options_default(PplOptions *o);
extern const Flag PPL_FLAGS[]; // strap eval ppl (eval/eval_flags.c)
int ppl_run(const PplOptions *o);

// Reads the token ids of a file (data/token_ids.h; n_out: how many). free() the result.
int *tokens_file_read(const char *path, int64_t *n_out);
