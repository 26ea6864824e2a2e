// pack_run.h: strap data pack: documents (.txt, .jsonl, .jsonl.zst; files, lists, globs)
// tokenized into token shards (pack.h) with one tokenizer per thread.
#pragma once
#include <stdint.h>

#include "../base/flags.h"

typedef struct {
    const char *tokenizer; // a tokenizer.json (or its directory), or "bytes"
    const char *bos, *eos; // token texts opening / closing each document; "none"; NULL: the tokenizer's own
    const char *input;     // comma-separated files or globs
    const char *out;       // directory of train_NNNNNN.tok.zst (and val/)
    const char *field;     // the JSON field holding the text
    int split_paragraphs;  // .txt: one document per blank-line-separated paragraph
    float val_fraction;    // every round(1/f)-th document goes to val/
    int64_t shard_tokens;
    int frame_tokens, level;
    int threads; // 0: all cores; the output does not depend on it
} PackRunOptions;

void pack_run_options_default(PackRunOptions *o);
extern const Flag PACK_FLAGS[]; // strap data pack (data/data_flags.c)
// Packs and prints a summary; returns the exit status.
int pack_run(const PackRunOptions *o);
