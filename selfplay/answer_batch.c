// answer_batch.c: see answer_batch.h.
#include "answer_batch.h"

#include <stdio.h>
#include <stdlib.h>

#include "../base/check.h"
#include "../base/progress.h"

long long answer_batch(Generator *g, int n_jobs, int batch, GenerateOptions *go, const AnswerJobs *jobs,
                       const char *progress) {
    int window = 8 * batch;
    int **out = xmalloc((size_t)window * sizeof(int *)), *n_out = xmalloc((size_t)window * sizeof(int)); // [window]
    for (int b = 0; b < window; b++) out[b] = xmalloc((size_t)go->max_new * sizeof(int));                // [max_new]
    FinishReason *fin = xmalloc((size_t)window * sizeof(FinishReason));
    const int32_t **prompts = xmalloc((size_t)window * sizeof(int32_t *));
    int *lens = xmalloc((size_t)window * sizeof(int));
    uint64_t *seeds = xmalloc((size_t)window * sizeof(uint64_t));
    Progress prog;
    if (progress) progress_start(&prog, progress, n_jobs);
    long long new_tokens = 0;
    for (int j0 = 0; j0 < n_jobs; j0 += window) {
        int nb = n_jobs - j0 < window ? n_jobs - j0 : window;
        for (int b = 0; b < nb; b++) prompts[b] = jobs->prompt(jobs->ctx, j0 + b, &lens[b], &seeds[b]);
        go->seeds = seeds; // an answer that reaches the end of the cache stops there (finish "context")
        generate(g, (const int *const *)prompts, lens, nb, go, out, n_out, fin, NULL, NULL);
        for (int b = 0; b < nb; b++) {
            jobs->answer(jobs->ctx, j0 + b, out[b], n_out[b], fin[b], lens[b], seeds[b]);
            new_tokens += n_out[b];
        }
        char extra[64];
        snprintf(extra, sizeof extra, "%lld new tokens", new_tokens);
        if (progress) progress_update(&prog, j0 + nb, extra);
    }
    if (progress) progress_finish(&prog, NULL);
    for (int b = 0; b < window; b++) free(out[b]);
    free(out), free(n_out), free(fin), free(prompts), free(lens), free(seeds);
    go->seeds = NULL;
    return new_tokens;
}

int32_t **answer_prompts(const ChatIO *io, json_t *const *records, int n, const char *field, const char *default_system,
                         const char *source, const int *index, int max_seq, int max_new, int *lens, int *capacity) {
    int32_t **prompts = xmalloc((size_t)n * sizeof(int32_t *)); // [n]
    *capacity = 0;
    for (int i = 0; i < n; i++) {
        json_t *sys = json_object_get(records[i], "system");
        size_t len;
        prompts[i] = chat_io_encode(io, json_is_string(sys) ? json_string_value(sys) : default_system,
                                    json_string_value(json_object_get(records[i], field)), &len);
        if ((int)len >= max_seq)
            fail("%s: prompt %d has %zu tokens, more than the model's context (%d); shorten or drop it", source,
                 (index ? index[i] : i) + 1, len, max_seq);
        lens[i] = (int)len;
        if (lens[i] + max_new > *capacity) *capacity = lens[i] + max_new;
    }
    if (*capacity > max_seq) *capacity = max_seq;
    return prompts;
}
