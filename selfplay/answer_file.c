// answer_file.c: see answer_file.h.
#include "answer_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/progress.h"
#include "../data/jsonl.h"
#include "../data/text_utf8.h"
#include "../dist/dist.h"
#include "../dist/dist_records.h"

// Every record of af->in (read first: prompt files are small next to what generation costs).
static json_t **read_prompts(const AnswerFileOptions *af, int *n_out) {
    JsonlReader *r = jsonl_open(af->in);
    int n_prompts = 0, cap = 64;
    json_t **records = xmalloc((size_t)cap * sizeof(json_t *));
    json_t *obj;
    while (jsonl_next(r, &obj)) {
        json_t *text = json_object_get(obj, af->field);
        if (!json_is_string(text))
            fail("%s:%ld: field '%s' missing or not a string (choose it with --field)", af->in, jsonl_line(r),
                 af->field);
        if (n_prompts == cap) records = xrealloc(records, (size_t)(cap *= 2) * sizeof(json_t *));
        records[n_prompts++] = obj;
    }
    jsonl_close(r);
    if (n_prompts == 0) fail("%s holds no prompts", af->in);
    *n_out = n_prompts;
    return records;
}

// The KV cache a run needs: the longest prompt plus max_new, not the model's whole context
// (SmolLM2's 8192 positions x batch 16 would be 6 GB of fp32 cache).
static int kv_capacity(Model *m, const ChatIO *io, const AnswerFileOptions *af, json_t **records, int n_prompts,
                       int max_new) {
    int capacity = 0;
    for (int p = 0; p < n_prompts; p++) {
        json_t *sys = json_object_get(records[p], "system");
        size_t n;
        int32_t *ids = chat_io_encode(io, json_is_string(sys) ? json_string_value(sys) : af->system,
                                      json_string_value(json_object_get(records[p], af->field)), &n);
        free(ids);
        if ((int)n >= m->config.max_seq)
            fail("%s: prompt %d has %zu tokens, more than the model's context (%d)", af->in, p + 1, n,
                 m->config.max_seq);
        if ((int)n + max_new > capacity) capacity = (int)n + max_new;
    }
    return capacity > m->config.max_seq ? m->config.max_seq : capacity;
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

void answer_file(Model *m, const ChatIO *io, const AnswerFileOptions *af, GenerateOptions *o) {
    int n_prompts;
    json_t **records = read_prompts(af, &n_prompts);
    int jobs = n_prompts * af->samples, capacity = kv_capacity(m, io, af, records, n_prompts, o->max_new);
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
    dist_records_open(&w, af->out);
    // jobs go to generate() in windows of several batches: inside a window a finished answer's
    // slot takes the next job at once (continuous batching); records are written in job order
    int window = 8 * af->batch;
    int **out = xmalloc((size_t)window * sizeof(int *)), *n_out = xmalloc((size_t)window * sizeof(int));
    for (int b = 0; b < window; b++) out[b] = xmalloc((size_t)o->max_new * sizeof(int));
    FinishReason *fin = xmalloc((size_t)window * sizeof(FinishReason));
    int32_t **prompts = xcalloc((size_t)window, sizeof(int32_t *));
    int *lens = xmalloc((size_t)window * sizeof(int));
    uint64_t *seeds = xmalloc((size_t)window * sizeof(uint64_t));
    Progress prog;
    if (lead) progress_start(&prog, "gen", n_mine);
    long long new_tokens = 0;
    for (int j0 = 0; j0 < n_mine; j0 += window) {
        int nb = n_mine - j0 < window ? n_mine - j0 : window;
        for (int b = 0; b < nb; b++) {
            int job = mine[j0 + b], p = job / af->samples;
            json_t *sys = json_object_get(records[p], "system");
            size_t n;
            free(prompts[b]);
            prompts[b] = chat_io_encode(io, json_is_string(sys) ? json_string_value(sys) : af->system,
                                        json_string_value(json_object_get(records[p], af->field)), &n);
            if ((int)n >= capacity)
                fail("%s: prompt %d has %zu tokens, more than the model's context (%d)", af->in, p + 1, n, capacity);
            lens[b] = (int)n;
            seeds[b] = (uint64_t)af->seed * 1000003u + (uint64_t)job; // independent of the batching
        }
        o->seeds = seeds; // an answer that reaches the end of the cache stops there (finish "context")
        generate(&g, (const int *const *)prompts, lens, nb, o, out, n_out, fin, NULL, NULL);
        for (int b = 0; b < nb; b++) {
            int job = mine[j0 + b], p = job / af->samples;
            size_t tlen;
            char *text = chat_io_decode(io, out[b], n_out[b], fin[b], &tlen);
            json_t *rec =
                answer_record(af, records[p], p, job % af->samples, text, tlen, lens[b], n_out[b], fin[b], seeds[b]);
            dist_records_put(&w, rec);
            if (job % af->samples == af->samples - 1) dist_records_end_input(&w); // the prompt's last answer
            json_decref(rec);
            free(text);
            new_tokens += n_out[b];
        }
        char extra[64];
        snprintf(extra, sizeof extra, "%lld new tokens", new_tokens);
        if (lead) progress_update(&prog, j0 + nb, extra);
    }
    if (lead) progress_finish(&prog, NULL);
    int64_t written = dist_records_close(&w);
    double total_new = (double)new_tokens;
    dist_sum(&total_new, 1);
    if (lead)
        printf("wrote %lld answers (%d prompts x %d) to %s: %.0f new tokens\n", (long long)written, n_prompts,
               af->samples, af->out, total_new);
    for (int b = 0; b < window; b++) free(out[b]), free(prompts[b]);
    free(out), free(n_out), free(fin), free(prompts), free(lens), free(seeds), free(mine);
    for (int i = 0; i < n_prompts; i++) json_decref(records[i]);
    free(records);
    generator_free(&g);
}
