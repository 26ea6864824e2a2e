// answer_file.h: the gen stage (strap gen --prompts): every record's prompt answered
// `samples` times, in batches, records out in (prompt, sample) order whatever the batch
// size. Jobs go to generate() in windows of several batches: inside a window a finished
// answer's slot takes the next job at once (continuous batching). Under mpirun prompt p is
// rank p % world's (dist/dist_records.h); the seed of each answer depends on its global
// (prompt, sample) only (seed * 1000003 + job), so the output is the same on any number of
// ranks. (Answers for an evaluation, one per prompt with their own seeds: answer.h.)
#pragma once
#include "../model/chat_io.h"
#include "../model/generate.h"

typedef struct {
    const char *model_dir;    // recorded in every answer
    const char *in, *out;     // prompts .jsonl(.zst) -> answers .jsonl(.zst)
    const char *field;        // the prompt's field ("prompt")
    const char *system;       // for records without "system" (NULL: the template's default)
    int samples, batch, seed; // answers per prompt, sequences generated together
} AnswerFileOptions;

// `gen` holds the sampling options and max_new (its seeds are set here). Prints a summary.
void answer_file(Model *m, const ChatIO *io, const AnswerFileOptions *af, GenerateOptions *gen);
