// data_flags.c: the flags of strap data clean, data pack, data inspect and tok train |
// encode | decode, over their options (base/flags.h).
#include <stddef.h>

#include "clean.h"
#include "inspect.h"
#include "pack_run.h"
#include "tok_run.h"

#define S CleanOptions
const Flag CLEAN_FLAGS[] = {
    FLAG(S, input, FLAG_STRING, "--input", "FILE", ".jsonl or .jsonl.zst, one JSON object per line (required)"),
    FLAG(S, output, FLAG_STRING, "--out", "FILE", "cleaned records, .jsonl or .jsonl.zst (required)"),
    FLAG(S, field, FLAG_STRING, "--field", "NAME", "JSON field holding the text"),
    FLAG(S, report, FLAG_STRING, "--report", "FILE", "write the report (counts, examples, LSH parameters) as JSON"),
    FLAG(S, dropped, FLAG_STRING, "--dropped", "FILE",
         "write every removed record with drop_reason (and duplicate_of)"),
    FLAG(S, filter.min_chars, FLAG_INT, "--min-chars", "N", "drop texts shorter than N characters (too_short)"),
    FLAG(S, filter.max_chars, FLAG_INT, "--max-chars", "N",
         "drop texts longer than N characters (too_long); 0: no limit"),
    FLAG(S, filter.min_words, FLAG_INT, "--min-words", "N",
         "drop texts with fewer than N words (too_few_words); 0: off"),
    FLAG(S, filter.max_repeat, FLAG_FLOAT, "--max-repeat", "F",
         "drop texts whose share of repeated word 3-grams exceeds F (repetitive)"),
    FLAG(S, filter.max_non_printable, FLAG_FLOAT, "--max-non-printable", "F",
         "drop texts whose share of non-printable characters exceeds F (non_printable)"),
    FLAG(S, threshold, FLAG_FLOAT, "--threshold", "J", "near-duplicate Jaccard similarity (word 5-gram shingles)"),
    FLAG(S, perm, FLAG_INT, "--perm", "N", "MinHash permutations (1..256)"),
    FLAG(S, exact_dedup, FLAG_OFF, "--no-exact-dedup", NULL, "keep exact duplicates"),
    FLAG(S, near_dedup, FLAG_OFF, "--no-near-dedup", NULL, "keep near-duplicates"),
    FLAG(S, threads, FLAG_INT, "--threads", "N", "CPU threads (0: all cores); the output does not depend on it"),
    FLAG(S, progress, FLAG_OFF, "--quiet", NULL, "no progress lines"),
    {0},
};
#undef S

#define S PackRunOptions
const Flag PACK_FLAGS[] = {
    FLAG(S, tokenizer, FLAG_STRING, "--tokenizer", "T",
         "a tokenizer.json (or its directory), or 'bytes' (ids 0-255 bytes, 256 BOS, 257 EOS) (required)"),
    FLAG(S, bos, FLAG_STRING, "--bos", "TOKEN",
         "token opening each document (default: <|begin_of_text|> or <s> if the tokenizer has one; 'none')"),
    FLAG(S, eos, FLAG_STRING, "--eos", "TOKEN",
         "token closing each document (default: <|endoftext|>, <|end_of_text|> or </s>; 'none')"),
    FLAG(S, input, FLAG_STRING, "--input", "FILES",
         ".txt, .jsonl or .jsonl.zst; a comma-separated list or a quoted glob (required)"),
    FLAG(S, out, FLAG_STRING, "--out", "DIR",
         "output directory for train_NNNNNN.tok.zst (and val/val_NNNNNN.tok.zst) (required)"),
    FLAG(S, field, FLAG_STRING, "--field", "NAME", "JSON field holding the text"),
    FLAG(S, split_paragraphs, FLAG_BOOL, "--split-paragraphs", NULL,
         ".txt: one document per blank-line-separated paragraph"),
    FLAG(S, val_fraction, FLAG_FLOAT, "--val-fraction", "F",
         "send every round(1/F)-th document to DIR/val/ (held out)"),
    FLAG(S, shard_tokens, FLAG_INT64, "--shard-tokens", "N", "tokens per shard file"),
    FLAG(S, frame_tokens, FLAG_INT, "--frame-tokens", "N", "tokens per zstd frame (the unit of random access)"),
    FLAG(S, level, FLAG_INT, "--level", "L", "zstd compression level"),
    FLAG(S, threads, FLAG_INT, "--threads", "N", "tokenizer threads (0: all cores); the output does not depend on it"),
    {0},
};
#undef S

#define S InspectOptions
const Flag INSPECT_FLAGS[] = {
    FLAG(S, tokens, FLAG_INT, "--tokens", "N", "how many leading tokens to print"),
    FLAG(S, records, FLAG_INT, "--records", "N", "record files: how many records to print"),
    FLAG(S, field, FLAG_STRING, "--field", "NAME", "record files: the text field"),
    FLAG(S, tokenizer, FLAG_STRING, "--tokenizer", "T", "tokenizer.json to show the tokens as text"),
    {0},
};
#undef S

#define S TokTrainOptions
const Flag TOK_TRAIN_FLAGS[] = {
    FLAG(S, input, FLAG_STRING, "--input", "FILES",
         ".txt, .jsonl or .jsonl.zst; comma-separated or a quoted glob (required)"),
    FLAG(S, vocab, FLAG_INT, "--vocab", "N", "vocabulary size including the special tokens (required)"),
    FLAG(S, out, FLAG_STRING, "--out", "FILE", "tokenizer.json to write (required)"),
    FLAG(S, pattern, FLAG_STRING, "--pattern", "P", "pre-tokenizer regex: gpt2 or llama3"),
    FLAG(S, special, FLAG_STRING, "--special", "LIST", "comma-separated special tokens (ids 0, 1, ...); '' for none"),
    FLAG(S, field, FLAG_STRING, "--field", "NAME", "JSON field holding the text"),
    {0},
};
#undef S

#define S TokEncodeOptions
const Flag TOK_ENCODE_FLAGS[] = {
    FLAG(S, tokenizer, FLAG_STRING, "--tokenizer", "T", "tokenizer.json or a model directory (required)"),
    FLAG(S, text, FLAG_STRING, "--text", "S", "text to encode (default: standard input)"),
    FLAG(S, json, FLAG_BOOL, "--json", NULL, "print a JSON array"),
    FLAG(S, allow_special, FLAG_BOOL, "--allow-special", NULL,
         "turn special-token text such as <|im_end|> into its id"),
    {0},
};
#undef S

#define S TokDecodeOptions
const Flag TOK_DECODE_FLAGS[] = {
    FLAG(S, tokenizer, FLAG_STRING, "--tokenizer", "T", "tokenizer.json or a model directory (required)"),
    FLAG(S, ids, FLAG_STRING, "--ids", "IDS", "ids separated by spaces or commas (default: standard input)"),
    {0},
};
#undef S
