// answer_batch.h: the generation loop both answering paths share: answer.h (one answer per
// prompt, for the evals) and answer_file.h (the gen stage: many answers per prompt, records
// split among the ranks). Jobs go to generate() in windows of 8 x batch; inside a window a
// finished answer's slot takes the next job at once (continuous batching). Every job has its
// own seed, so an answer does not depend on the batch, the window or the rank.
#pragma once
#include <stdint.h>

#include <jansson.h>

#include "../model/chat_io.h"
#include "../model/generate.h"

typedef struct {
    // job j's prompt tokens (kept alive by the caller until job j's answer came back) and seed
    const int32_t *(*prompt)(void *ctx, int job, int *len, uint64_t *seed);
    // job j's answer as generate() gives it (an end-of-turn token is the last of `ids`)
    void (*answer)(void *ctx, int job, const int *ids, int n, FinishReason fin, int prompt_len, uint64_t seed);
    void *ctx;
} AnswerJobs;

// Answers jobs 0..n_jobs-1 in order with g (built for at least `batch` sequences); go holds
// the sampling, max_new and the end-of-turn ids (its seeds are set here). With a progress
// label (NULL: quiet) shows jobs done and new tokens. Returns the new tokens generated.
long long answer_batch(Generator *g, int n_jobs, int batch, GenerateOptions *go, const AnswerJobs *jobs,
                       const char *progress);

// Every record's prompt (its field `field`; its "system", else default_system) in the chat
// template, encoded once: prompts[i] with lens[i] tokens. Fails naming `source` and the
// prompt's place (index[i] + 1, or i + 1 without index) when one fills the model's context
// (max_seq). *capacity: the KV-cache positions the answers need, the longest prompt plus
// max_new, at most max_seq (not the whole context: SmolLM2's 8192 positions x batch 16 would be
// 6 GB of fp32 cache). free() each prompt and the array.
int32_t **answer_prompts(const ChatIO *io, json_t *const *records, int n, const char *field, const char *default_system,
                         const char *source, const int *index, int max_seq, int max_new, int *lens, int *capacity);
