// tok_run.h: strap tok train | encode | decode: a byte-level BPE tokenizer trained on
// documents (bpe_train.h), and texts turned into token ids and back (tokenizer.h).
#pragma once

#include "../base/flags.h"

typedef struct {
    const char *input;   // .txt, .jsonl or .jsonl.zst files or globs, comma-separated
    int vocab;           // vocabulary size including the special tokens
    const char *out;     // the tokenizer.json to write
    const char *pattern; // pre-tokenizer regex: "gpt2" or "llama3"
    const char *special; // special tokens (ids 0, 1, ...), comma-separated; "": none
    const char *field;   // the JSON field holding the text
} TokTrainOptions;

void tok_train_options_default(TokTrainOptions *o);
extern const Flag TOK_TRAIN_FLAGS[]; // strap tok train (data/data_flags.c)
// Trains, writes the tokenizer and prints a summary; returns the exit status.
int tok_train_run(const TokTrainOptions *o);

typedef struct {
    const char *tokenizer; // a tokenizer.json or a model directory
    const char *text;      // the text to encode; NULL: standard input
    int json;              // print a JSON array instead of space-separated ids
    int allow_special;     // special-token text such as <|im_end|> becomes its id
} TokEncodeOptions;

void tok_encode_options_default(TokEncodeOptions *o);
extern const Flag TOK_ENCODE_FLAGS[]; // strap tok encode (data/data_flags.c)
// Prints the token ids of the text on one line; returns the exit status.
int tok_encode_run(const TokEncodeOptions *o);

typedef struct {
    const char *tokenizer; // a tokenizer.json or a model directory
    const char *ids;       // ids separated by spaces or commas; NULL: standard input
} TokDecodeOptions;

void tok_decode_options_default(TokDecodeOptions *o);
extern const Flag TOK_DECODE_FLAGS[]; // strap tok decode (data/data_flags.c)
// Prints the text of the ids (raw bytes, exactly as encoded); an id that is not a number
// or lies outside the vocabulary is an error naming its place. Returns the exit status.
int tok_decode_run(const TokDecodeOptions *o);
