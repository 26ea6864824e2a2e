// pack.h: documents -> token shards, tokenized by a BPE tokenizer.json or by the
// byte-level tokenizer (ids 0-255 are the bytes, 256 = BOS, 257 = EOS, vocab_size 258).
// Each document becomes [BOS] tokens [EOS] (BOS / EOS only where the tokenizer has them).
#pragma once
#include <stdint.h>

#include "tokenizer.h"

#define BYTES_VOCAB 258
#define BYTES_BOS   256
#define BYTES_EOS   257

typedef struct {
    char **inputs; // .txt, .jsonl, .jsonl.zst
    int n_inputs;
    const char *out_dir;
    const char *field;    // JSON field holding the text
    int split_paragraphs; // .txt: one document per blank-line-separated paragraph
    double val_fraction;  // every k-th document (k = round(1/f)) goes to OUT/val/val_000000.tok.zst
    uint64_t shard_tokens;
    int frame_tokens;
    int level;
    Tokenizer **tokenizers; // one per thread (a Tokenizer keeps scratch); NULL: byte-level
    int threads;            // documents are encoded in parallel batches, written in order
    int bos, eos;           // ids, or -1 for none
} PackOptions;

typedef struct {
    uint64_t docs, tokens, val_docs, val_tokens, bytes_on_disk, text_bytes;
    int shards;
} PackStats;

PackStats pack_documents(const PackOptions *o);
