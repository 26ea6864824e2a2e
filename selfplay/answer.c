// answer.c: see answer.h.
#include "answer.h"

#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../data/text_utf8.h"
#include "../model/chat_io.h"
#include "../model/generate.h"
#include "answer_batch.h"

typedef struct {
    const AnswerOptions *o;
    const ChatIO *io;
    int32_t **prompts; // [n] encoded once
    int *lens;         // [n]
    Answers *a;
} AnswerCtx;

static const int32_t *prompt_of(void *ctx, int i, int *len, uint64_t *seed) {
    AnswerCtx *c = ctx;
    *len = c->lens[i];
    *seed = c->o->seed * 1000003u + (uint64_t)(c->o->index ? c->o->index[i] : i);
    return c->prompts[i];
}

static void answer_to(void *ctx, int i, const int *ids, int n, FinishReason fin, int prompt_len, uint64_t seed) {
    AnswerCtx *c = ctx;
    (void)seed;
    size_t tl;
    char *text = chat_io_decode(c->io, ids, n, fin, &tl);
    c->a->text[i] = utf8_valid_copy(text, tl, NULL);
    free(text);
    c->a->tokens[i] = n - (fin == FINISH_EOS); // the end-of-turn token not counted
    c->a->prompt_tokens[i] = prompt_len;
    c->a->finish[i] = finish_reason_name(fin);
}

void answers_generate(Answers *a, const char *model_dir, Backend *backend, json_t *const *records, int n,
                      const char *source, const AnswerOptions *o) {
    CHECK(n > 0 && o->max_new > 0 && o->batch > 0, "answers_generate: nothing to do");
    Model m;
    model_load(&m, model_dir, backend);
    ChatIO io;
    chat_io_open(&io, model_dir, &m.config, o->chat_template, "strap eval winrate");

    int *lens = xmalloc((size_t)n * sizeof(int)), capacity;
    int32_t **prompts = answer_prompts(&io, records, n, "prompt", NULL, source, o->index, m.config.max_seq, o->max_new,
                                       lens, &capacity);
    Generator g;
    int batch = o->batch < n ? o->batch : n;
    generator_build(&g, &m, batch, capacity);

    a->n = n;
    a->text = xcalloc((size_t)n, sizeof(char *));
    a->tokens = xcalloc((size_t)n, sizeof(int));
    a->prompt_tokens = xcalloc((size_t)n, sizeof(int));
    a->finish = xcalloc((size_t)n, sizeof(char *));
    GenerateOptions go = {.sample = o->sample, .max_new = o->max_new, .eos_ids = io.stop, .n_eos = io.n_stop};
    AnswerCtx ctx = {o, &io, prompts, lens, a};
    AnswerJobs jobs = {prompt_of, answer_to, &ctx};
    answer_batch(&g, n, batch, &go, &jobs, o->progress);
    for (int i = 0; i < n; i++) free(prompts[i]);
    free(prompts), free(lens);
    generator_free(&g);
    chat_io_close(&io);
    model_free(&m);
}

void answers_free(Answers *a) {
    for (int i = 0; i < a->n; i++) free(a->text[i]);
    free(a->text), free(a->tokens), free(a->prompt_tokens), free(a->finish);
    memset(a, 0, sizeof *a);
}
