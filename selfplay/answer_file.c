// answer_file.c: see answer_file.h.
#include "answer_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../data/jsonl.h"
#include "../data/text_utf8.h"
#include "../dist/dist.h"
#include "../dist/dist_records.h"
#include "../model/chat_io.h"
#include "../model/generate.h"
#include "answer_batch.h"

// Every record of af->in (read first: prompt files are small next to what generation costs).
static json_t **read_prompts(const AnswerFileOptions *af, int *n_out) {
    JsonlReader *r = jsonl_open(af->in);
    int n_prompts = 0, cap = 64;
    json_t **records = xmalloc((size_t)cap * sizeof(json_t *));
    json_t *obj;
    while (jsonl_next(r, &obj)) {
        json_t *text = json_object_get(obj, af->field);
        if (!json_is_string(text))
            fail("%s:%ld: field '%s' missing or not a string (choose the field that holds the prompt)", af->in,
                 jsonl_line(r), af->field);
        if (n_prompts == cap) records = xrealloc(records, (size_t)(cap *= 2) * sizeof(json_t *));
        records[n_prompts++] = obj;
    }
    jsonl_close(r);
    if (n_prompts == 0) fail("%s holds no prompts", af->in);
    *n_out = n_prompts;
    return records;
}

// The record of one answer: prompt_id, sample, prompt (and what strap verify checks
// against), text (valid UTF-8), token counts, finish, model, seed.
static json_t *answer_record(const AnswerFileOptions *af, json_t *prompt_rec, int p, int sample, const char *text,
                             size_t tlen, int prompt_tokens, int new_tokens, FinishReason fin, uint64_t seed) {
    json_t *id = json_object_get(prompt_rec, "id");
    json_t *rec = json_object();
    json_object_set_new(rec, "prompt_id", id ? json_deep_copy(id) : json_integer(p));
    json_object_set_new(rec, "sample", json_integer(sample));
    json_object_set(rec, "prompt", json_object_get(prompt_rec, af->field));
    static const char *const carried[] = {"base_prompt", "constraints"}; // what strap verify checks against
    for (int k = 0; k < 2; k++)
        if (json_object_get(prompt_rec, carried[k]))
            json_object_set(rec, carried[k], json_object_get(prompt_rec, carried[k]));
    size_t vlen;
    char *valid = utf8_valid_copy(text, tlen, &vlen);
    json_object_set_new(rec, "text", json_stringn(valid, vlen));
    free(valid);
    json_object_set_new(rec, "prompt_tokens", json_integer(prompt_tokens));
    json_object_set_new(rec, "new_tokens", json_integer(new_tokens));
    json_object_set_new(rec, "finish", json_string(finish_reason_name(fin)));
    json_object_set_new(rec, "model", json_string(af->model_dir));
    json_object_set_new(rec, "seed", json_integer((json_int_t)seed));
    return rec;
}

typedef struct {
    const AnswerFileOptions *af;
    const ChatIO *io;
    json_t **records;  // [n_prompts]
    const int *mine;   // [n_mine] this rank's jobs: job = prompt x samples + sample
    int32_t **prompts; // [n_prompts] each prompt's tokens
    int *lens;         // [n_prompts]
    DistRecords *w;
} FileCtx;

static const int32_t *file_prompt(void *ctx, int j, int *len, uint64_t *seed) {
    FileCtx *c = ctx;
    int job = c->mine[j], p = job / c->af->samples;
    *len = c->lens[p];
    *seed = (uint64_t)c->af->seed * 1000003u + (uint64_t)job; // independent of the batching and the ranks
    return c->prompts[p];
}

static void file_answer(void *ctx, int j, const int *ids, int n, FinishReason fin, int prompt_len, uint64_t seed) {
    FileCtx *c = ctx;
    int job = c->mine[j], p = job / c->af->samples;
    size_t tlen;
    char *text = chat_io_decode(c->io, ids, n, fin, &tlen);
    json_t *rec = answer_record(c->af, c->records[p], p, job % c->af->samples, text, tlen, prompt_len, n, fin, seed);
    dist_records_put(c->w, rec);
    json_decref(rec);
    free(text);
    if (job % c->af->samples == c->af->samples - 1) dist_records_end_input(c->w); // the prompt's last answer
}

static void answer_file(Model *m, const ChatIO *io, const AnswerFileOptions *af, GenerateOptions *o) {
    int n_prompts;
    json_t **records = read_prompts(af, &n_prompts);
    int *lens = xmalloc((size_t)n_prompts * sizeof(int));
    int jobs = n_prompts * af->samples, capacity;
    int32_t **prompts = answer_prompts(io, records, n_prompts, af->field, af->system, af->in, NULL, m->config.max_seq,
                                       o->max_new, lens, &capacity); // once for all their samples
    // this rank's jobs: the samples of its prompts, in (prompt, sample) order
    int lead = comm_rank() == 0, n_mine = 0;
    int *mine = xmalloc((size_t)dist_records_share(n_prompts) * af->samples * sizeof(int));
    for (int job = 0; job < jobs; job++)
        if (dist_records_mine(job / af->samples)) mine[n_mine++] = job;
    if (lead && comm_world() > 1)
        printf("%d ranks: rank 0 answers %d of the %d prompts\n", comm_world(), n_mine / af->samples, n_prompts);
    Generator g;
    generator_build(&g, m, af->batch, capacity);
    DistRecords w;
    dist_records_open(&w, af->out); // records are written in job order
    FileCtx ctx = {af, io, records, mine, prompts, lens, &w};
    AnswerJobs answer_jobs = {file_prompt, file_answer, &ctx};
    long long new_tokens = answer_batch(&g, n_mine, af->batch, o, &answer_jobs, lead ? "gen" : NULL);
    int64_t written = dist_records_close(&w);
    double total_new = (double)new_tokens;
    dist_sum(&total_new, 1);
    if (lead)
        printf("wrote %lld answers (%d prompts x %d) to %s: %.0f new tokens\n", (long long)written, n_prompts,
               af->samples, af->out, total_new);
    for (int i = 0; i < n_prompts; i++) json_decref(records[i]), free(prompts[i]);
    free(prompts), free(lens), free(mine);
    free(records);
    generator_free(&g);
}

void answer_file_options_default(AnswerFileOptions *o) {
    memset(o, 0, sizeof *o);
    o->field = "prompt";
    o->device = "auto";
    o->samples = 1, o->batch = 8, o->max_new = 128;
    sample_options_default(&o->sample);
}

int answer_file_run(const AnswerFileOptions *o) {
    Model m;
    model_load(&m, o->model_dir, dist_backend_select(o->device, o->threads)); // a rank's share of the cores
    ChatIO io;
    chat_io_open(&io, o->model_dir, &m.config, o->chat_template, "strap gen");
    GenerateOptions gen = {.sample = o->sample, .max_new = o->max_new, .eos_ids = io.stop, .n_eos = io.n_stop};
    answer_file(&m, &io, o, &gen);
    chat_io_close(&io);
    model_free(&m);
    return 0;
}
