// inspect.h: strap data inspect: a token shard's header, counts, compression and first
// tokens (reading every frame, so it also verifies the checksums), or a record file's
// count, fields, text lengths and first records.
#pragma once

#include "../base/flags.h"

typedef struct {
    const char *path;      // a .tok.zst shard or a .jsonl / .jsonl.zst record file
    int tokens;            // shards: how many leading tokens to print
    int records;           // record files: how many leading records to print
    const char *field;     // record files: the JSON field holding the text
    const char *tokenizer; // shards: a tokenizer.json to show the tokens as text; NULL: none
} InspectOptions;

void inspect_options_default(InspectOptions *o);
extern const Flag INSPECT_FLAGS[]; // strap data inspect (data/data_flags.c)
// Prints the summary of o->path; returns the exit status.
int inspect_run(const InspectOptions *o);
