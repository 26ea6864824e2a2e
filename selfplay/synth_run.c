// synth_run.c: see synth_run.h.
#include "synth_run.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/json_file.h"
#include "../base/progress.h"
#include "../data/jsonl.h"
#include "../data/records_writer.h"
#include "../data/text_utf8.h"
#include "../model/chat_io.h"
#include "../model/generate.h"
#include "constraints.h"
#include "synth.h"

// Prompts the model has seen or written: the few-shot pool and the dedup index.
typedef struct {
    char **texts, **ids;
    int n, cap;
} PromptPool;

static void pool_add(PromptPool *p, const char *text, const char *id) {
    if (p->n == p->cap) {
        p->cap = 2 * p->cap + 64;
        p->texts = xrealloc(p->texts, (size_t)p->cap * sizeof(char *));
        p->ids = xrealloc(p->ids, (size_t)p->cap * sizeof(char *));
    }
    p->texts[p->n] = strdup(text), p->ids[p->n] = strdup(id);
    p->n++;
}

static void pool_free(PromptPool *p) {
    for (int i = 0; i < p->n; i++) free(p->texts[i]), free(p->ids[i]);
    free(p->texts), free(p->ids);
}

// Reads the "prompt" of every record of a comma-separated list of files into the pool.
static void pool_read(PromptPool *p, const char *paths) {
    char *list = strdup(paths);
    for (char *save = NULL, *path = strtok_r(list, ",", &save); path; path = strtok_r(NULL, ",", &save)) {
        JsonlReader *r = jsonl_open(path);
        json_t *o;
        while (jsonl_next(r, &o)) {
            json_t *text = json_object_get(o, "prompt"), *id = json_object_get(o, "id"),
                   *base = json_object_get(o, "base_prompt");
            if (json_is_string(base)) text = base; // a prompt with constraints: the request without them
            if (!json_is_string(text))
                fail("%s:%ld: a prompt record needs a string field 'prompt'", path, jsonl_line(r));
            char idbuf[64];
            snprintf(idbuf, sizeof idbuf, "%s", json_is_string(id) ? json_string_value(id) : "");
            if (!json_is_string(id)) snprintf(idbuf, sizeof idbuf, "line-%ld", jsonl_line(r));
            pool_add(p, json_string_value(text), idbuf);
            json_decref(o);
        }
        jsonl_close(r);
    }
    free(list);
}

// The model, its tokenizer and template, and a generator for `batch` sequences.
typedef struct {
    Model model;
    ChatIO io;
    Generator gen;
    int batch, max_new;
    int **out, *n_out;
    FinishReason *finish;
    int32_t **prompts;
    int *lens;
    uint64_t *seeds;
    GenerateOptions opts;
} Writer;

static void writer_build(Writer *w, const char *model_dir, const char *template_name, const char *device, int threads,
                         int batch, int max_new, const SampleOptions *sample) {
    memset(w, 0, sizeof *w);
    model_load(&w->model, model_dir, backend_select(device, threads));
    chat_io_open(&w->io, model_dir, &w->model.config, template_name, "strap synth");
    w->batch = batch, w->max_new = max_new;
    // instructions are a few hundred tokens: no need for a KV cache of the model's whole context
    int capacity = w->model.config.max_seq < 2048 ? w->model.config.max_seq : 2048;
    generator_build(&w->gen, &w->model, batch, capacity);
    w->out = xmalloc((size_t)batch * sizeof(int *));
    for (int b = 0; b < batch; b++) w->out[b] = xmalloc((size_t)max_new * sizeof(int));
    w->n_out = xmalloc((size_t)batch * sizeof(int));
    w->finish = xmalloc((size_t)batch * sizeof(FinishReason));
    w->prompts = xcalloc((size_t)batch, sizeof(int32_t *));
    w->lens = xmalloc((size_t)batch * sizeof(int));
    w->seeds = xmalloc((size_t)batch * sizeof(uint64_t));
    w->opts.sample = *sample;
    w->opts.eos_ids = w->io.stop, w->opts.n_eos = w->io.n_stop;
}

static void writer_free(Writer *w) {
    for (int b = 0; b < w->batch; b++) free(w->out[b]), free(w->prompts[b]);
    free(w->out), free(w->n_out), free(w->finish), free(w->prompts), free(w->lens), free(w->seeds);
    generator_free(&w->gen);
    chat_io_close(&w->io);
    model_free(&w->model);
}

// Answers messages[0..n) (n <= batch) as the assistant; seeds[b] seeds answer b. texts[b]
// receive malloc'd answers (the model's bytes: the filters judge their UTF-8).
static void writer_run(Writer *w, char *const *messages, int n, const uint64_t *seeds, char **texts) {
    int capacity = w->gen.capacity, longest = 0;
    for (int b = 0; b < n; b++) {
        size_t len;
        free(w->prompts[b]);
        w->prompts[b] = chat_io_encode(&w->io, NULL, messages[b], &len);
        if ((int)len + 16 > capacity)
            fail("an instruction of %zu tokens leaves no room in the model's context (%d): use fewer examples", len,
                 capacity);
        w->lens[b] = (int)len;
        longest = w->lens[b] > longest ? w->lens[b] : longest;
        w->seeds[b] = seeds[b];
    }
    w->opts.max_new = w->max_new < capacity - longest ? w->max_new : capacity - longest;
    w->opts.seeds = w->seeds;
    generate(&w->gen, (const int *const *)w->prompts, w->lens, n, &w->opts, w->out, w->n_out, w->finish, NULL, NULL);
    for (int b = 0; b < n; b++) {
        size_t len;
        texts[b] = chat_io_decode(&w->io, w->out[b], w->n_out[b], w->finish[b], &len);
    }
}

// A brainstormed task waiting for its prompt.
typedef struct {
    char *role, *task;
} Idea;

typedef struct {
    Idea *items;
    int head, n, cap;
} IdeaQueue;

static void idea_push(IdeaQueue *q, const char *role, const char *task) {
    if (q->n == q->cap) {
        q->cap = 2 * q->cap + 32;
        q->items = xrealloc(q->items, (size_t)q->cap * sizeof(Idea));
    }
    q->items[q->n++] = (Idea){strdup(role), strdup(task)};
}

// Writes D copies of an accepted prompt record, copy d with its own draw of 1..k constraints
// (seeded by the run's seed and the prompt's and the copy's number): "prompt" becomes the
// request followed by the instructions, "base_prompt" keeps the request, "constraints" the
// list; with D > 1 the ids get "-c<d>".
static void write_with_constraints(RecordsWriter *out, json_t *rec, const ConstraintCatalog *c, int k, int draws,
                                   int seed, int accepted) {
    const char *base = json_string_value(json_object_get(rec, "prompt"));
    const char *id = json_string_value(json_object_get(rec, "id"));
    for (int d = 0; d < draws; d++) {
        Rng rng;
        rng_seed(&rng, ((uint64_t)seed * 1000003u + (uint64_t)accepted) * 101u + (uint64_t)d + 0x434f4e53ull);
        int n = 1 + (int)(rng_u64(&rng) % (uint64_t)k);
        json_t *cons = constraints_draw(c, n, &rng, NULL, 0), *copy = json_deep_copy(rec);
        char *prompt = constraints_prompt(base, cons);
        if (draws > 1) {
            char copy_id[128];
            snprintf(copy_id, sizeof copy_id, "%s-c%d", id, d);
            json_object_set_new(copy, "id", json_string(copy_id));
        }
        json_object_set_new(copy, "prompt", json_string(prompt));
        json_object_set_new(copy, "base_prompt", json_string(base));
        json_object_set_new(copy, "constraints", cons);
        records_writer_write(out, copy);
        json_decref(copy);
        free(prompt);
    }
}

// One run: the catalogue, the pools, the filters, the writer and the batch's buffers.
typedef struct {
    const SynthOptions *o;
    int brainstorm, n_examples, max_attempts;
    char *catalog, *seeds_file;
    SynthCatalog cat;
    ConstraintCatalog *constraints;       // NULL without o->constraints
    PromptPool seeds, synthetic, avoided; // examples and dedup index
    SynthFilter filter, idea_filter;
    Writer w;
    RecordsWriter *out, *rejects;
    char **messages, **texts; // [batch]
    uint64_t *gen_seeds;      // [batch]
    SynthSpec *specs;         // [batch]
    int (*example_ids)[8];    // [batch] example k: seed i >= 0, synthetic -1 - i, INT_MIN: none
    IdeaQueue ideas;
    Rng rng;
    int64_t dropped[SYNTH_N_REASONS], lists, invalid_lists, ideas_kept;
    int accepted, attempts, brainstorm_calls;
} SynthRun;

static void run_build(SynthRun *r, const SynthOptions *o) {
    memset(r, 0, sizeof *r);
    r->o = o;
    r->brainstorm = strcmp(o->mode, "brainstorm") == 0;
    r->max_attempts = o->max_attempts > 0 ? o->max_attempts : 4 * o->count + 16;
    r->n_examples = o->examples > 8 ? 8 : o->examples;
    r->catalog =
        o->catalog_dir ? xstrdup(o->catalog_dir) : path_near_exe("data/synth"); // a build tree's, else ./data/synth
    synth_catalog_load(&r->cat, r->catalog);
    if (o->constraints > 0) {
        char *path =
            o->constraints_catalog ? xstrdup(o->constraints_catalog) : path_join(r->catalog, "constraints.json");
        r->constraints = constraints_load(path);
        free(path);
    }
    r->seeds_file = o->seed_prompts ? xstrdup(o->seed_prompts) : path_join(r->catalog, "seed_prompts.jsonl");
    pool_read(&r->seeds, r->seeds_file);
    if (o->existing) pool_read(&r->synthetic, o->existing);
    if (o->avoid) pool_read(&r->avoided, o->avoid);
    synth_filter_build(&r->filter, o->min_words, o->max_words, o->dedup_threshold, !o->no_blacklist);
    for (int s = 0; s < 3; s++) { // earlier prompts are in the index, so new ones are checked against them
        PromptPool *p = s == 0 ? &r->seeds : s == 1 ? &r->synthetic : &r->avoided;
        for (int i = 0; i < p->n; i++) {
            char *clean;
            synth_filter_check(&r->filter, p->texts[i], &clean);
            free(clean);
        }
    }
    writer_build(&r->w, o->model_dir, o->chat_template, o->device, o->threads, o->batch, o->max_new, &o->sample);
    r->out = records_writer_open(o->out);
    r->rejects = o->rejects ? records_writer_open(o->rejects) : NULL;
    r->messages = xcalloc((size_t)o->batch, sizeof(char *)), r->texts = xcalloc((size_t)o->batch, sizeof(char *));
    r->gen_seeds = xmalloc((size_t)o->batch * sizeof(uint64_t));
    r->specs = xmalloc((size_t)o->batch * sizeof(SynthSpec));
    r->example_ids = xmalloc((size_t)o->batch * sizeof *r->example_ids);
    synth_filter_build(&r->idea_filter, 2, 80, 0.9, 0);
    rng_seed(&r->rng, (uint64_t)o->seed ^ 0x53594e54ull);
}

static void run_free(SynthRun *r) {
    for (int i = 0; i < r->ideas.n; i++) free(r->ideas.items[i].role), free(r->ideas.items[i].task);
    free(r->ideas.items);
    for (int b = 0; b < r->o->batch; b++) free(r->messages[b]);
    free(r->messages), free(r->texts), free(r->gen_seeds), free(r->specs), free(r->example_ids);
    synth_filter_free(&r->idea_filter);
    synth_filter_free(&r->filter);
    writer_free(&r->w);
    pool_free(&r->seeds), pool_free(&r->synthetic), pool_free(&r->avoided);
    synth_catalog_free(&r->cat);
    if (r->constraints) constraints_free(r->constraints);
    free(r->catalog), free(r->seeds_file);
}

// brainstorm step 1: lists of task ideas, until a batch of ideas is waiting
static void brainstorm_ideas(SynthRun *r) {
    const SynthOptions *o = r->o;
    while (r->ideas.n - r->ideas.head < o->batch && r->brainstorm_calls < r->max_attempts) {
        for (int b = 0; b < o->batch; b++) {
            synth_draw(&r->cat, &r->rng, &r->specs[b]);
            free(r->messages[b]);
            r->messages[b] = synth_brainstorm_instruction(r->specs[b].role, o->ideas);
            r->gen_seeds[b] = (uint64_t)o->seed * 1000003u + 0x8000000ull + (uint64_t)r->brainstorm_calls++;
        }
        writer_run(&r->w, r->messages, o->batch, r->gen_seeds, r->texts);
        for (int b = 0; b < o->batch; b++) {
            r->lists++;
            json_t *list = synth_parse_idea_list(r->texts[b]);
            if (!list) r->invalid_lists++;
            for (size_t i = 0; list && i < json_array_size(list); i++) {
                char *clean;
                if (synth_filter_check(&r->idea_filter, json_string_value(json_array_get(list, i)), &clean) ==
                    SYNTH_KEEP) {
                    idea_push(&r->ideas, r->specs[b].role, clean);
                    r->ideas_kept++;
                }
                free(clean);
            }
            json_decref(list);
            free(r->texts[b]);
        }
    }
}

// The instruction of batch slot b: an idea's (brainstorm) or a drawn spec with examples.
static void make_instruction(SynthRun *r, int b) {
    const SynthOptions *o = r->o;
    synth_draw(&r->cat, &r->rng, &r->specs[b]);
    free(r->messages[b]);
    if (r->brainstorm) {
        Idea *idea = &r->ideas.items[r->ideas.head++];
        r->specs[b].role = idea->role, r->specs[b].task = idea->task, r->specs[b].description = NULL;
        r->messages[b] = synth_instruction(&r->cat, &r->specs[b], NULL, 0);
    } else {
        const char *ex[8];
        int k = 0, n_examples = r->n_examples;
        for (int tries = 0; k < n_examples && tries < 8 * n_examples; tries++) {
            // two of three examples are human-written seeds, the rest earlier synthetic prompts
            int from_synthetic = r->synthetic.n > 0 && rng_uniform(&r->rng) < 1.0 / 3.0;
            PromptPool *p = from_synthetic ? &r->synthetic : &r->seeds;
            if (p->n == 0) continue;
            int i = (int)(rng_uniform(&r->rng) * p->n), dup = 0;
            for (int j = 0; j < k; j++) dup |= ex[j] == p->texts[i];
            if (dup) continue;
            ex[k] = p->texts[i];
            r->example_ids[b][k++] = from_synthetic ? -1 - i : i; // negative: synthetic pool
        }
        for (int j = k; j < 8; j++) r->example_ids[b][j] = INT_MIN;
        r->messages[b] = synth_instruction(&r->cat, &r->specs[b], ex, k);
    }
    r->gen_seeds[b] = (uint64_t)o->seed * 1000003u + (uint64_t)(r->attempts + b);
}

static void write_reject(SynthRun *r, int b, SynthReason why) { // what the model wrote, for tuning the filters
    json_t *rec = json_object();
    json_object_set_new(rec, "reason", json_string(synth_reason_name(why)));
    char *valid = utf8_valid_copy(r->texts[b], strlen(r->texts[b]), NULL);
    json_object_set_new(rec, "text", json_string(valid));
    free(valid);
    json_object_set_new(rec, "finish", json_string(finish_reason_name(r->w.finish[b])));
    json_object_set_new(rec, "role", json_string(r->specs[b].role));
    json_object_set_new(rec, "task", json_string(r->specs[b].task));
    json_object_set_new(rec, "seed", json_integer((json_int_t)r->gen_seeds[b]));
    records_writer_write(r->rejects, rec);
    json_decref(rec);
}

static void write_accepted(SynthRun *r, int b, const char *clean) {
    const SynthOptions *o = r->o;
    char id[96];
    snprintf(id, sizeof id, "%s-%05d", o->id_prefix, r->accepted);
    json_t *rec = json_object(), *ex = json_array();
    json_object_set_new(rec, "id", json_string(id));
    json_object_set_new(rec, "prompt", json_string(clean));
    json_object_set_new(rec, "role", json_string(r->specs[b].role));
    json_object_set_new(rec, "task", json_string(r->specs[b].task));
    json_object_set_new(rec, "attributes", synth_spec_attributes(&r->cat, &r->specs[b]));
    json_object_set_new(rec, "mode", json_string(o->mode));
    if (!r->brainstorm)
        for (int j = 0; j < 8 && r->example_ids[b][j] != INT_MIN; j++) {
            int e = r->example_ids[b][j];
            json_array_append_new(ex, json_string(e >= 0 ? r->seeds.ids[e] : r->synthetic.ids[-1 - e]));
        }
    json_object_set_new(rec, "examples", ex);
    json_object_set_new(rec, "model", json_string(o->model_dir));
    if (o->iteration >= 0) json_object_set_new(rec, "iteration", json_integer(o->iteration));
    json_object_set_new(rec, "seed", json_integer((json_int_t)r->gen_seeds[b]));
    json_object_set_new(rec, "source", json_string("synth"));
    if (r->constraints)
        write_with_constraints(r->out, rec, r->constraints, o->constraints, o->constraint_draws, o->seed, r->accepted);
    else
        records_writer_write(r->out, rec);
    json_decref(rec);
    pool_add(&r->synthetic, clean, id); // self-instruct: accepted prompts become examples
    r->accepted++;
}

// The filters' verdict on the generation of slot b; kept ones are written.
static void take_generation(SynthRun *r, int b) {
    r->attempts++;
    char *prompt = synth_extract_prompt(r->texts[b]), *clean = NULL;
    SynthReason why = SYNTH_KEEP;
    if (r->w.finish[b] == FINISH_LENGTH && !r->o->keep_truncated) { // cut off: keep a complete first paragraph
        char *head = synth_complete_head(prompt);
        free(prompt);
        prompt = head;
        if (!head) why = SYNTH_TRUNCATED;
    }
    if (why == SYNTH_KEEP) why = synth_filter_check(&r->filter, prompt, &clean);
    r->dropped[why]++;
    if (why != SYNTH_KEEP && r->rejects) write_reject(r, b, why);
    if (why == SYNTH_KEEP) write_accepted(r, b, clean);
    free(prompt), free(clean);
}

static json_t *run_report(const SynthRun *r, double seconds) {
    const SynthOptions *o = r->o;
    json_t *report = json_object(), *drops = json_object();
    json_object_set_new(report, "accepted", json_integer(r->accepted));
    if (r->constraints)
        json_object_set_new(report, "records", json_integer((json_int_t)r->accepted * o->constraint_draws));
    json_object_set_new(report, "requested", json_integer(o->count));
    json_object_set_new(report, "generated", json_integer(r->attempts));
    for (int k = 1; k < SYNTH_N_REASONS; k++)
        json_object_set_new(drops, synth_reason_name((SynthReason)k), json_integer(r->dropped[k]));
    json_object_set_new(report, "dropped", drops);
    json_object_set_new(report, "mode", json_string(o->mode));
    if (r->brainstorm) {
        json_object_set_new(report, "idea_lists", json_integer(r->lists));
        json_object_set_new(report, "idea_lists_invalid_json", json_integer(r->invalid_lists));
        json_object_set_new(report, "ideas", json_integer(r->ideas_kept));
    }
    json_object_set_new(
        report, "catalog",
        json_pack("{s:i, s:i, s:i}", "roles", r->cat.n_roles, "tasks", r->cat.n_tasks, "seed_prompts", r->seeds.n));
    json_object_set_new(report, "model", json_string(o->model_dir));
    json_object_set_new(report, "seconds", json_real(seconds));
    return report;
}

void synth_options_default(SynthOptions *o) {
    memset(o, 0, sizeof *o);
    o->mode = "self-instruct";
    o->examples = 3, o->ideas = 8, o->batch = 8, o->max_new = 160;
    sample_options_default(&o->sample);
    o->sample.temperature = 0.7f, o->sample.top_p = 0.95f;
    o->min_words = 4, o->max_words = 150;
    o->dedup_threshold = 0.7f;
    o->id_prefix = "synth";
    o->iteration = -1;
    o->constraint_draws = 1;
    o->device = "auto";
}

int synth_run(const SynthOptions *o) {
    SynthRun r;
    run_build(&r, o);
    double t0 = now_seconds();
    Progress prog;
    progress_start(&prog, "synth", o->count);
    while (r.accepted < o->count && r.attempts < r.max_attempts) {
        if (r.brainstorm) brainstorm_ideas(&r);
        if (r.brainstorm && r.ideas.n == r.ideas.head) break; // the model lists no usable ideas
        int nb = o->batch;                                    // one prompt per instruction
        if (r.brainstorm && r.ideas.n - r.ideas.head < nb) nb = r.ideas.n - r.ideas.head;
        for (int b = 0; b < nb; b++) make_instruction(&r, b);
        writer_run(&r.w, r.messages, nb, r.gen_seeds, r.texts);
        for (int b = 0; b < nb && r.accepted < o->count; b++) take_generation(&r, b);
        for (int b = 0; b < nb; b++) free(r.texts[b]), r.texts[b] = NULL;
        char extra[64];
        snprintf(extra, sizeof extra, "%d generated", r.attempts);
        progress_update(&prog, r.accepted, extra);
    }
    char final_note[64];
    snprintf(final_note, sizeof final_note, "%d generated", r.attempts);
    prog.total = r.accepted; // what was made, which may be short of the count asked for
    progress_finish(&prog, final_note);
    r.dropped[SYNTH_INVALID_JSON] = r.invalid_lists;
    json_t *report = run_report(&r, now_seconds() - t0);
    if (r.rejects) records_writer_close(r.rejects); // kept even when nothing passed: they say why
    if (r.accepted == 0) {
        records_writer_abort(r.out);
        char *text = json_dumps(report, JSON_COMPACT);
        fail("no prompt passed the filters in %d generations (%s); nothing written to %s. Try more attempts, "
             "a lower minimum of words, or a model that follows instructions",
             r.attempts, text, o->out);
    }
    records_writer_close(r.out);
    if (o->report) json_write_atomic(o->report, report, JSON_INDENT(2));
    printf("wrote %d prompts to %s (%d generated; dropped:", r.accepted, o->out, r.attempts);
    for (int k = 1; k < SYNTH_N_REASONS; k++)
        if (r.dropped[k]) printf(" %s %lld", synth_reason_name((SynthReason)k), (long long)r.dropped[k]);
    printf(")\n");
    if (r.accepted < o->count)
        fprintf(stderr, "strap synth: warning: only %d of %d prompts passed the filters in %d generations\n",
                r.accepted, o->count, r.attempts);
    json_decref(report);
    run_free(&r);
    return 0;
}
