// bpe_train.h: training a byte-level BPE tokenizer and writing it as a Hugging Face
// tokenizer.json (which `tokenizers` loads and encodes identically).
//
// Ids: the special tokens first (0..S-1), then the 256 byte-level characters in byte
// order, then one token per merge. Merges are learned greedily from pre-tokenized pieces
// (the most frequent adjacent pair first; ties broken by the smaller pair of ids, so
// training is deterministic).
#pragma once

typedef struct {
    char **inputs; // .txt (one document per file), .jsonl, .jsonl.zst
    int n_inputs;
    const char *field;
    int vocab_size;
    const char *pattern; // "gpt2" or "llama3"
    char **special;      // special tokens, e.g. "<|endoftext|>"
    int n_special;
    const char *out; // tokenizer.json path
} BpeTrainOptions;

typedef struct {
    long long documents, bytes, unique_pieces;
    int merges, vocab_size;
} BpeTrainStats;

BpeTrainStats bpe_train(const BpeTrainOptions *o);
