// answer.h: a model answers a list of prompts (what strap eval winrate compares): chat
// template, batched KV-cache generation (answer_batch.h), greedy or seeded sampling. Answer i uses the seed
// `seed * 1000003 + index[i]` (index[i] = i by default) whatever the batch, so two models
// answering the same prompts draw from the same random streams, and a rank of an mpirun that
// answers a share of the prompts draws what one process would.
#pragma once
#include <jansson.h>
#include <stdint.h>

#include "../kernels/backend.h"
#include "../model/sample.h"

typedef struct {
    const char *chat_template; // NULL: from the model's files
    int max_new;
    int batch;
    SampleOptions sample; // temperature 0: greedy
    uint64_t seed;
    const int *index;     // [n] the place of each record in its file, for seeds and errors (NULL: 0..n-1)
    const char *progress; // the label of a progress line (NULL: quiet)
} AnswerOptions;

typedef struct {
    int n;
    char **text;         // [n] valid UTF-8, without the end-of-turn token
    int *tokens;         // [n] new tokens, the end-of-turn token not counted
    int *prompt_tokens;  // [n]
    const char **finish; // [n] "eos", "length", ...
} Answers;

// records[i] holds "prompt" (string) and optionally "system"; `source` names the file for
// errors. The model in model_dir is loaded, used and freed.
void answers_generate(Answers *a, const char *model_dir, Backend *backend, json_t *const *records, int n,
                      const char *source, const AnswerOptions *o);
void answers_free(Answers *a);
