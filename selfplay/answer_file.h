// answer_file.h: the gen stage (strap gen --prompts): every record's prompt answered
// `samples` times, in batches, records out in (prompt, sample) order whatever the batch
// size, with the generation loop answer.h uses too (answer_batch.h). Under mpirun prompt p is
// rank p % world's (dist/dist_records.h); the seed of each answer depends on its global
// (prompt, sample) only (seed * 1000003 + job), so the output is the same on any number of
// ranks. (Answers for an evaluation, one per prompt with their own seeds: answer.h.)
#pragma once
#include "../base/flags.h"
#include "../model/sample.h"

typedef struct {
    const char *model_dir;     // the model that answers (recorded in every answer)
    const char *in, *out;      // prompts .jsonl(.zst) -> answers .jsonl(.zst)
    const char *field;         // the prompt's field ("prompt")
    const char *system;        // for records without "system" (NULL: the template's default)
    const char *chat_template; // NULL: from the model's files
    const char *device;
    int samples, batch, seed; // answers per prompt, sequences generated together
    int max_new;              // new tokens per answer at most
    SampleOptions sample;
    int threads;
} AnswerFileOptions;

void answer_file_options_default(AnswerFileOptions *o);
extern const Flag GEN_FLAGS[]; // strap gen (selfplay/selfplay_flags.c)

// Loads the model and answers every prompt; prints a summary. Returns the exit status.
int answer_file_run(const AnswerFileOptions *o);
