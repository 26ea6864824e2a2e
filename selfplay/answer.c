// answer.c: see answer.h.
#include "answer.h"

#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/progress.h"
#include "../data/text_utf8.h"
#include "../model/chat_io.h"
#include "../model/generate.h"

void answers_generate(Answers *a, const char *model_dir, Backend *backend, json_t *const *records, int n,
                      const char *source, const AnswerOptions *o) {
    CHECK(n > 0 && o->max_new > 0 && o->batch > 0, "answers_generate: nothing to do");
    Model m;
    model_load(&m, model_dir, backend);
    ChatIO io;
    chat_io_open(&io, model_dir, &m.config, o->chat_template, "strap eval winrate");

    // every prompt encoded once: the KV cache holds the longest plus max_new
    int32_t **prompts = xmalloc((size_t)n * sizeof(int32_t *));
    int *lens = xmalloc((size_t)n * sizeof(int)), capacity = 0;
    for (int i = 0; i < n; i++) {
        json_t *sys = json_object_get(records[i], "system");
        size_t len;
        prompts[i] = chat_io_encode(&io, json_is_string(sys) ? json_string_value(sys) : NULL,
                                    json_string_value(json_object_get(records[i], "prompt")), &len);
        if ((int)len >= m.config.max_seq)
            fail("%s: prompt %d has %zu tokens, more than the context of %s (%d); shorten or drop it", source,
                 (o->index ? o->index[i] : i) + 1, len, model_dir, m.config.max_seq);
        lens[i] = (int)len;
        if (lens[i] + o->max_new > capacity) capacity = lens[i] + o->max_new;
    }
    if (capacity > m.config.max_seq) capacity = m.config.max_seq;
    Generator g;
    int batch = o->batch < n ? o->batch : n;
    generator_build(&g, &m, batch, capacity);

    a->n = n;
    a->text = xcalloc((size_t)n, sizeof(char *));
    a->tokens = xcalloc((size_t)n, sizeof(int));
    a->prompt_tokens = xcalloc((size_t)n, sizeof(int));
    a->finish = xcalloc((size_t)n, sizeof(char *));
    // prompts go to generate() in windows of several batches: inside a window a finished
    // answer's slot takes the next prompt at once (continuous batching)
    int window = 8 * batch;
    int **out = xmalloc((size_t)window * sizeof(int *)), *n_out = xmalloc((size_t)window * sizeof(int));
    for (int b = 0; b < window; b++) out[b] = xmalloc((size_t)o->max_new * sizeof(int));
    FinishReason *fin = xmalloc((size_t)window * sizeof(FinishReason));
    uint64_t *seeds = xmalloc((size_t)window * sizeof(uint64_t));
    GenerateOptions go = {0};
    go.sample = o->sample;
    go.eos_ids = io.stop, go.n_eos = io.n_stop;
    go.max_new = o->max_new; // an answer that reaches the end of the cache stops there (finish "context")
    Progress prog;
    if (o->progress) progress_start(&prog, o->progress, n);
    for (int i0 = 0; i0 < n; i0 += window) {
        int nb = n - i0 < window ? n - i0 : window;
        for (int b = 0; b < nb; b++) seeds[b] = o->seed * 1000003u + (uint64_t)(o->index ? o->index[i0 + b] : i0 + b);
        go.seeds = seeds;
        generate(&g, (const int *const *)(prompts + i0), lens + i0, nb, &go, out, n_out, fin, NULL, NULL);
        for (int b = 0; b < nb; b++) {
            int i = i0 + b;
            size_t tl;
            char *text = chat_io_decode(&io, out[b], n_out[b], fin[b], &tl);
            a->text[i] = utf8_valid_copy(text, tl, NULL);
            free(text);
            a->tokens[i] = n_out[b] - (fin[b] == FINISH_EOS); // the end-of-turn token not counted
            a->prompt_tokens[i] = lens[i];
            a->finish[i] = finish_reason_name(fin[b]);
        }
        if (o->progress) progress_update(&prog, i0 + nb, NULL);
    }
    if (o->progress) progress_finish(&prog, NULL);
    for (int b = 0; b < window; b++) free(out[b]);
    for (int i = 0; i < n; i++) free(prompts[i]);
    free(out), free(n_out), free(fin), free(seeds), free(prompts), free(lens);
    generator_free(&g);
    chat_io_close(&io);
    model_free(&m);
}

void answers_free(Answers *a) {
    for (int i = 0; i < a->n; i++) free(a->text[i]);
    free(a->text), free(a->tokens), free(a->prompt_tokens), free(a->finish);
    memset(a, 0, sizeof *a);
}
