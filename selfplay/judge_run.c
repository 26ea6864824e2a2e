// judge_run.c: see judge_run.h.
#include "judge_run.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/progress.h"
#include "../data/jsonl.h"
#include "../data/tokenizer.h"
#include "../dist/dist.h"
#include "../dist/dist_records.h"
#include "../model/chat_io.h"
#include "../model/generate.h"
#include "judge.h"

// The records of a .jsonl(.zst) file (a quick first pass, for the progress total).
static int64_t count_records(const char *path) {
    JsonlReader *r = jsonl_open(path);
    const char *line;
    size_t len;
    int64_t n = 0;
    while (jsonl_next_line(r, &line, &len)) n++;
    jsonl_close(r);
    return n;
}

typedef struct { // the judge and its buffers, built once
    Model m;
    ChatIO io;
    int logprob;
    int digit_ids[6];
    char *tpl;
    GenerateOptions gen_opts;
    Generator g;
    int **outs;          // [batch][max_new] generated judgement tokens
    int *n_out, *lens;   // [batch]
    FinishReason *fin;   // [batch]
    uint64_t *seeds;     // [batch]
    const int **prompts; // [batch]
    float *logits;       // [vocab]
} Judge;

static void judge_build(Judge *j, const JudgeOptions *o) {
    j->logprob = strcmp(o->method, "logprob") == 0;
    j->tpl = o->template_path ? read_file(o->template_path, NULL) : NULL;
    model_load(&j->m, o->model_dir,
               dist_backend_select(o->device, o->threads)); // a rank's share of the cores, its own GPU
    chat_io_open(&j->io, o->model_dir, &j->m.config, NULL, "the judge");
    if (!j->io.tok) fail("%s has no tokenizer.json: the judge needs a model with a text tokenizer", o->model_dir);
    if (j->logprob) {
        int bad = rubric_digit_ids(j->io.tok, j->digit_ids);
        if (bad >= 0) {
            char d[2] = {(char)('0' + bad), 0};
            int32_t *ids = NULL;
            size_t n = 0, cap = 0;
            tokenizer_encode(j->io.tok, d, 1, 0, &ids, &n, &cap);
            fail("the logprob judge method needs each digit 0-5 to be one token; '%s' is %zu tokens", d, n);
        }
    }
    sample_options_default(&j->gen_opts.sample);
    j->gen_opts.sample.temperature = o->temperature;
    j->gen_opts.eos_ids = j->io.stop, j->gen_opts.n_eos = j->io.n_stop;
    // text judgements: a cache for a judge prompt plus its verdict (not the model's whole
    // context: 8192 positions x batch 8 of SmolLM2 would be 3 GB); logprob needs none
    int capacity = j->m.config.max_seq < 4096 ? j->m.config.max_seq : 4096;
    generator_build(&j->g, &j->m, j->logprob ? 1 : o->batch, j->logprob ? 1 : capacity);
    j->outs = xmalloc((size_t)o->batch * sizeof(int *)), j->n_out = xmalloc((size_t)o->batch * sizeof(int));
    for (int b = 0; b < o->batch; b++) j->outs[b] = xmalloc((size_t)o->max_new * sizeof(int));
    j->fin = xmalloc((size_t)o->batch * sizeof(FinishReason));
    j->seeds = xmalloc((size_t)o->batch * sizeof(uint64_t));
    j->prompts = xmalloc((size_t)o->batch * sizeof(int *));
    j->lens = xmalloc((size_t)o->batch * sizeof(int));
    j->logits = xmalloc((size_t)j->m.config.vocab_size * sizeof(float));
}

static void judge_free(Judge *j, int batch) {
    for (int b = 0; b < batch; b++) free(j->outs[b]);
    free(j->outs), free(j->n_out), free(j->fin), free(j->seeds), free(j->prompts), free(j->lens), free(j->logits);
    free(j->tpl);
    generator_free(&j->g);
    chat_io_close(&j->io);
    model_free(&j->m);
}

// logprob: the prompt `ids` (n of cap) gets "Score: " appended; the score is read at its end.
static double judge_logprob(Judge *j, int32_t **ids, size_t *n, size_t *cap, json_t *rec, const char *in, long line) {
    tokenizer_encode(j->io.tok, "Score: ", 7, 0, ids, n, cap);
    if ((int)*n > j->m.config.max_seq)
        fail("%s:%ld: the judge prompt has %zu tokens, more than the context", in, line, *n);
    model_forward(&j->m, (const int *)*ids, NULL, 1, (int)*n);
    model_logits_rows(&j->m, (int)*n - 1, 1, j->logits); // the score is read at the last position alone
    double probs[6], e = rubric_score(j->logits, j->digit_ids, probs);
    json_t *p = json_array();
    for (int k = 0; k < 6; k++) json_array_append_new(p, json_real(probs[k]));
    json_object_set_new(rec, "score_probs", p);
    return e;
}

// text: o->samples judgements of the prompt `ids` (n); appends each score (or null) and
// judgement; returns the parsed ones, their sum in *sum.
static int judge_text(Judge *j, const JudgeOptions *o, const int32_t *ids, size_t n, long index, json_t *scores,
                      json_t *judgements, double *sum, const char *in, long line) {
    if ((int)n + o->max_new > j->g.capacity)
        fail("%s:%ld: the judge prompt has %zu tokens; with %d new tokens it does not fit the context (%d)", in, line,
             n, o->max_new, j->g.capacity);
    int parsed = 0;
    for (int s0 = 0; s0 < o->samples; s0 += o->batch) {
        int nb = o->samples - s0 < o->batch ? o->samples - s0 : o->batch;
        for (int b = 0; b < nb; b++) {
            j->prompts[b] = (const int *)ids, j->lens[b] = (int)n;
            j->seeds[b] = (uint64_t)o->seed * 1000003u + (uint64_t)index * 1009u + (uint64_t)(s0 + b);
        }
        j->gen_opts.seeds = j->seeds, j->gen_opts.max_new = o->max_new;
        generate(&j->g, j->prompts, j->lens, nb, &j->gen_opts, j->outs, j->n_out, j->fin, NULL, NULL);
        for (int b = 0; b < nb; b++) {
            size_t jl;
            char *jt = chat_io_decode(&j->io, j->outs[b], j->n_out[b], j->fin[b], &jl);
            int score = judge_parse_score(jt);
            json_array_append_new(scores, score >= 0 ? json_integer(score) : json_null());
            json_t *jtext = json_stringn(jt, jl); // NULL if the bytes are not UTF-8
            json_array_append_new(judgements, jtext ? jtext : json_string("(not valid UTF-8)"));
            if (score >= 0) *sum += score, parsed++;
            free(jt);
        }
    }
    return parsed;
}

void judge_options_default(JudgeOptions *o) {
    memset(o, 0, sizeof *o);
    o->method = "text";
    o->device = "auto";
    o->samples = 3, o->max_new = 256, o->batch = 8;
    o->temperature = 0.7f;
}

int judge_run(const JudgeOptions *o) {
    Judge j = {0};
    judge_build(&j, o);
    JsonlReader *r = jsonl_open(o->in);
    DistRecords w;
    dist_records_open(&w, o->out);
    json_t *rec;
    long n_records = 0, n_missing = 0; // every answer in the file; this rank's without a score
    int lead = comm_rank() == 0;
    Progress prog;
    if (lead) progress_start(&prog, "judge", count_records(o->in)); // in answers: a small file is read at once
    while (jsonl_next(r, &rec)) {
        const char *prompt = json_string_value(json_object_get(rec, "prompt")),
                   *text = json_string_value(json_object_get(rec, "text"));
        if (!prompt || !text) fail("%s:%ld: an answer record needs prompt and text", o->in, jsonl_line(r));
        if (!dist_records_mine(n_records)) { // another rank's answer
            n_records++;
            json_decref(rec);
            continue;
        }
        char *jp = judge_build_prompt(j.tpl, prompt, text);
        size_t n;
        int32_t *ids = chat_io_encode(&j.io, NULL, jp, &n); // the judge's default system message, BOS in plain
        size_t cap = n;
        json_t *scores = json_array();
        double sum = 0;
        int parsed;
        if (j.logprob) { // the assistant's turn starts with "Score: "
            sum = judge_logprob(&j, &ids, &n, &cap, rec, o->in, jsonl_line(r));
            json_array_append_new(scores, json_real(sum));
            parsed = 1;
        } else {
            json_t *judgements = json_array();
            parsed = judge_text(&j, o, ids, n, n_records, scores, judgements, &sum, o->in, jsonl_line(r));
            json_object_set_new(rec, "judgements", judgements);
        }
        json_object_set_new(rec, "score", parsed ? json_real(sum / parsed) : json_null());
        json_object_set_new(rec, "scores", scores);
        json_object_set_new(rec, "judge", json_string(o->model_dir));
        json_object_set_new(rec, "judge_method", json_string(o->method));
        dist_records_put(&w, rec);
        dist_records_end_input(&w);
        n_missing += !parsed;
        n_records++;
        json_decref(rec);
        free(jp), free(ids);
        if (lead) progress_update(&prog, n_records, NULL);
    }
    if (lead) progress_finish(&prog, NULL);
    jsonl_close(r);
    if (n_records == 0) fail("%s holds no answers", o->in);
    dist_records_close(&w);
    double missing = (double)n_missing;
    dist_sum(&missing, 1);
    if (lead)
        printf("judged %ld answers (%s) into %s; %.0f without a parseable score\n", n_records, o->method, o->out,
               missing);
    judge_free(&j, o->batch);
    return 0;
}
