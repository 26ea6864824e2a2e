// cmd_synth.c: strap synth: the model writes prompts for itself (self-instruct from the
// catalogue in data/synth, or the two-step brainstorm recipe), filtered and deduplicated
// (data/synth.h), written as records with their provenance.
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/io.h"
#include "../data/jsonl.h"
#include "../data/records_writer.h"
#include "../selfplay/synth.h"
#include "../data/text_utf8.h"
#include "../selfplay/constraints.h"
#include "../base/check.h"
#include "../model/chat_io.h"
#include "../model/generate.h"
#include "../base/progress.h"
#include "args.h"
#include "commands.h"

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
            json_t *text = json_object_get(o, "prompt"), *id = json_object_get(o, "id"), *base = json_object_get(o, "base_prompt");
            if (json_is_string(base)) text = base; // a prompt with constraints: the request without them
            if (!json_is_string(text)) fail("%s:%ld: a prompt record needs a string field 'prompt'", path, jsonl_line(r));
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
            fail("an instruction of %zu tokens leaves no room in the model's context (%d): use fewer --examples", len,
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

int cmd_synth(int argc, char **argv) {
    const char *model_dir = NULL, *out_path = NULL, *mode = "self-instruct", *catalog_dir = NULL;
    const char *seed_path = NULL, *existing = NULL, *avoid = NULL, *report_path = NULL, *rejects_path = NULL, *id_prefix = "synth";
    const char *template_name = NULL, *device = "auto";
    int count = 0, n_examples = 3, batch = 8, max_new = 160, seed = 0, min_words = 4, max_words = 150;
    int no_blacklist = 0, keep_truncated = 0, max_attempts = 0, n_ideas = 8, iteration = -1, threads = 0;
    int n_constraints = 0, constraint_draws = 1;
    const char *constraints_path = NULL;
    float threshold = 0.7f;
    SampleOptions sample;
    sample_options_default(&sample);
    sample.temperature = 0.7f, sample.top_p = 0.95f;
    Flag flags[] = {
        {"--model", FLAG_STRING, &model_dir, "DIR", "the model that writes the prompts (required)", NULL},
        {"--out", FLAG_STRING, &out_path, "F", "prompts to write (.jsonl or .jsonl.zst) (required)", NULL},
        {"--count", FLAG_INT, &count, "N", "prompts to accept (required)", NULL},
        {"--mode", FLAG_STRING, &mode, "M", "self-instruct (role x task x attributes + examples) or brainstorm", NULL},
        {"--catalog", FLAG_STRING, &catalog_dir, "DIR", "roles.txt, tasks.txt, attributes.json (default: data/synth)", NULL},
        {"--seed-prompts", FLAG_STRING, &seed_path, "F", "human-written examples (default: CATALOG/seed_prompts.jsonl)", NULL},
        {"--existing", FLAG_STRING, &existing, "F[,F]", "earlier prompt files: few-shot examples and dedup against them", NULL},
        {"--avoid", FLAG_STRING, &avoid, "F[,F]", "prompt files to dedup against, never shown as examples (held-out prompts)", NULL},
        {"--examples", FLAG_INT, &n_examples, "K", "few-shot examples per instruction (self-instruct)", NULL},
        {"--ideas", FLAG_INT, &n_ideas, "K", "tasks asked for per brainstorm list", NULL},
        {"--batch", FLAG_INT, &batch, "B", "instructions generated together", NULL},
        {"--max-new", FLAG_INT, &max_new, "N", "new tokens per generation at most", NULL},
        {"--temperature", FLAG_FLOAT, &sample.temperature, "T", "sampling temperature", NULL},
        {"--top-p", FLAG_FLOAT, &sample.top_p, "P", "nucleus sampling mass", NULL},
        {"--seed", FLAG_INT, &seed, "S", "random seed (draws and sampling)", NULL},
        {"--min-words", FLAG_INT, &min_words, "N", "drop prompts with fewer words", NULL},
        {"--max-words", FLAG_INT, &max_words, "N", "drop prompts with more words", NULL},
        {"--dedup-threshold", FLAG_FLOAT, &threshold, "J", "near-duplicate MinHash Jaccard threshold", NULL},
        {"--no-blacklist", FLAG_BOOL, &no_blacklist, NULL, "keep prompts that mention images, audio, links...", NULL},
        {"--keep-truncated", FLAG_BOOL, &keep_truncated, NULL, "keep requests cut off at --max-new (tiny test models never stop)", NULL},
        {"--max-attempts", FLAG_INT, &max_attempts, "N", "generations at most (default 4 x count + 16)", NULL},
        {"--id-prefix", FLAG_STRING, &id_prefix, "P", "ids are P-00000, P-00001, ...", NULL},
        {"--iteration", FLAG_INT, &iteration, "K", "self-rewarding iteration recorded with each prompt", NULL},
        {"--constraints", FLAG_INT, &n_constraints, "K",
         "attach 1..K verifiable constraints (strap verify) to every prompt (0: none; at most 3)", NULL},
        {"--constraint-draws", FLAG_INT, &constraint_draws, "D", "with --constraints: D records per accepted prompt, each with its own constraints", NULL},
        {"--constraints-catalog", FLAG_STRING, &constraints_path, "F", "the constraint families (default: CATALOG/constraints.json)", NULL},
        {"--report", FLAG_STRING, &report_path, "F", "counts per filter as JSON", NULL},
        {"--rejects", FLAG_STRING, &rejects_path, "F", "the dropped generations, each with its reason (.jsonl(.zst))", NULL},
        {"--chat-template", FLAG_STRING, &template_name, "NAME", "chatml, llama3 or plain (default: from the model's files)", NULL},
        {"--threads", FLAG_INT, &threads, "N", "CPU threads (0: all cores)", NULL},
        {"--device", FLAG_STRING, &device, "D", "auto, cpu or cuda", NULL},
        {0},
    };
    Command cmd = {"strap synth --model DIR --out F.jsonl.zst --count N [options]",
                   "The model writes prompts for itself. self-instruct: each instruction combines a role, a task "
                   "type and attributes drawn from the catalogue with few-shot examples (seed prompts and prompts "
                   "accepted so far). brainstorm: the model lists task ideas for a role as a JSON list, then writes "
                   "a prompt for each idea. Prompts that are too short or long, blacklisted, refusals or meta-text, "
                   "or (near-)duplicates of earlier ones are dropped. Records: id, prompt, role, task, attributes, "
                   "mode, examples, model, iteration, seed.",
                   flags, 0, NULL, 0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", model_dir != NULL);
    args_require(&cmd, "--out", out_path != NULL);
    args_require(&cmd, "--count", count > 0);
    int brainstorm = strcmp(mode, "brainstorm") == 0;
    if (!brainstorm && strcmp(mode, "self-instruct") != 0) args_error(&cmd, "--mode must be self-instruct or brainstorm");
    if (batch < 1 || max_new < 1 || n_examples < 0 || n_ideas < 1) args_error(&cmd, "--batch, --max-new, --ideas must be positive");
    if (threshold <= 0 || threshold > 1) args_error(&cmd, "--dedup-threshold must be in (0, 1]");
    if (max_attempts <= 0) max_attempts = 4 * count + 16;
    if (n_constraints < 0 || n_constraints > 3) args_error(&cmd, "--constraints must be 0..3");
    if (constraint_draws < 1 || constraint_draws > 100) args_error(&cmd, "--constraint-draws must be 1..100");

    char *catalog = catalog_dir ? strdup(catalog_dir) : path_near_exe("data/synth"); // a build tree's, else ./data/synth
    SynthCatalog cat;
    synth_catalog_load(&cat, catalog);
    ConstraintCatalog *constraints = NULL;
    if (n_constraints > 0) {
        char *path = constraints_path ? strdup(constraints_path) : path_join(catalog, "constraints.json");
        constraints = constraints_load(path);
        free(path);
    }
    char *seeds_file = seed_path ? strdup(seed_path) : path_join(catalog, "seed_prompts.jsonl");
    PromptPool seeds = {0}, synthetic = {0}, avoided = {0};
    pool_read(&seeds, seeds_file);
    if (existing) pool_read(&synthetic, existing);
    if (avoid) pool_read(&avoided, avoid);
    SynthFilter filter;
    synth_filter_build(&filter, min_words, max_words, threshold, !no_blacklist);
    int64_t dropped[SYNTH_N_REASONS] = {0};
    for (int s = 0; s < 3; s++) { // earlier prompts are in the index, so new ones are checked against them
        PromptPool *p = s == 0 ? &seeds : s == 1 ? &synthetic : &avoided;
        for (int i = 0; i < p->n; i++) {
            char *clean;
            synth_filter_check(&filter, p->texts[i], &clean);
            free(clean);
        }
    }

    Writer w;
    writer_build(&w, model_dir, template_name, device, threads, batch, max_new, &sample);
    if (rejects_path && !jsonl_is_jsonl_path(rejects_path))
        args_error(&cmd, "--rejects %s: name it .jsonl or .jsonl.zst", rejects_path);
    RecordsWriter *out = records_writer_open(out_path);
    RecordsWriter *rejects = rejects_path ? records_writer_open(rejects_path) : NULL;
    char **messages = xcalloc((size_t)batch, sizeof(char *)), **texts = xcalloc((size_t)batch, sizeof(char *));
    uint64_t *gen_seeds = xmalloc((size_t)batch * sizeof(uint64_t));
    SynthSpec *specs = xmalloc((size_t)batch * sizeof(SynthSpec));
    int (*example_ids)[8] = xmalloc((size_t)batch * sizeof *example_ids);
    IdeaQueue ideas = {0};
    SynthFilter idea_filter;
    synth_filter_build(&idea_filter, 2, 80, 0.9, 0);
    int64_t lists = 0, invalid_lists = 0, ideas_kept = 0;
    Rng rng;
    rng_seed(&rng, (uint64_t)seed ^ 0x53594e54ull);
    if (n_examples > 8) n_examples = 8;
    int accepted = 0, attempts = 0, brainstorm_calls = 0;
    double t0 = now_seconds();
    Progress prog;
    progress_start(&prog, "synth", count);
    while (accepted < count && attempts < max_attempts) {
        // brainstorm step 1: lists of task ideas, until a batch of ideas is waiting
        while (brainstorm && ideas.n - ideas.head < batch && brainstorm_calls < max_attempts) {
            for (int b = 0; b < batch; b++) {
                synth_draw(&cat, &rng, &specs[b]);
                free(messages[b]);
                messages[b] = synth_brainstorm_instruction(specs[b].role, n_ideas);
                gen_seeds[b] = (uint64_t)seed * 1000003u + 0x8000000ull + (uint64_t)brainstorm_calls++;
            }
            writer_run(&w, messages, batch, gen_seeds, texts);
            for (int b = 0; b < batch; b++) {
                lists++;
                json_t *list = synth_parse_idea_list(texts[b]);
                if (!list) invalid_lists++;
                for (size_t i = 0; list && i < json_array_size(list); i++) {
                    char *clean;
                    if (synth_filter_check(&idea_filter, json_string_value(json_array_get(list, i)), &clean) == SYNTH_KEEP) {
                        idea_push(&ideas, specs[b].role, clean);
                        ideas_kept++;
                    }
                    free(clean);
                }
                json_decref(list);
                free(texts[b]);
            }
        }
        if (brainstorm && ideas.n == ideas.head) break; // the model lists no usable ideas
        // one prompt per instruction
        int nb = batch;
        if (brainstorm && ideas.n - ideas.head < nb) nb = ideas.n - ideas.head;
        for (int b = 0; b < nb; b++) {
            synth_draw(&cat, &rng, &specs[b]);
            free(messages[b]);
            if (brainstorm) {
                Idea *idea = &ideas.items[ideas.head++];
                specs[b].role = idea->role, specs[b].task = idea->task, specs[b].description = NULL;
                messages[b] = synth_instruction(&cat, &specs[b], NULL, 0);
            } else {
                const char *ex[8];
                int k = 0;
                for (int tries = 0; k < n_examples && tries < 8 * n_examples; tries++) {
                    // two of three examples are human-written seeds, the rest earlier synthetic prompts
                    int from_synthetic = synthetic.n > 0 && rng_uniform(&rng) < 1.0 / 3.0;
                    PromptPool *p = from_synthetic ? &synthetic : &seeds;
                    if (p->n == 0) continue;
                    int i = (int)(rng_uniform(&rng) * p->n), dup = 0;
                    for (int j = 0; j < k; j++) dup |= ex[j] == p->texts[i];
                    if (dup) continue;
                    ex[k] = p->texts[i];
                    example_ids[b][k++] = from_synthetic ? -1 - i : i; // negative: synthetic pool
                }
                for (int j = k; j < 8; j++) example_ids[b][j] = INT_MIN;
                messages[b] = synth_instruction(&cat, &specs[b], ex, k);
            }
            gen_seeds[b] = (uint64_t)seed * 1000003u + (uint64_t)(attempts + b);
        }
        writer_run(&w, messages, nb, gen_seeds, texts);
        for (int b = 0; b < nb && accepted < count; b++) {
            attempts++;
            char *prompt = synth_extract_prompt(texts[b]), *clean = NULL;
            SynthReason why = SYNTH_KEEP;
            if (w.finish[b] == FINISH_LENGTH && !keep_truncated) { // cut off: keep a complete first paragraph
                char *head = synth_complete_head(prompt);
                free(prompt);
                prompt = head;
                if (!head) why = SYNTH_TRUNCATED;
            }
            if (why == SYNTH_KEEP) why = synth_filter_check(&filter, prompt, &clean);
            dropped[why]++;
            if (why != SYNTH_KEEP && rejects) { // what the model wrote, for tuning the filters
                json_t *rec = json_object();
                json_object_set_new(rec, "reason", json_string(synth_reason_name(why)));
                char *valid = utf8_valid_copy(texts[b], strlen(texts[b]), NULL);
                json_object_set_new(rec, "text", json_string(valid));
                free(valid);
                json_object_set_new(rec, "finish", json_string(finish_reason_name(w.finish[b])));
                json_object_set_new(rec, "role", json_string(specs[b].role));
                json_object_set_new(rec, "task", json_string(specs[b].task));
                json_object_set_new(rec, "seed", json_integer((json_int_t)gen_seeds[b]));
                records_writer_write(rejects, rec);
                json_decref(rec);
            }
            if (why == SYNTH_KEEP) {
                char id[96];
                snprintf(id, sizeof id, "%s-%05d", id_prefix, accepted);
                json_t *rec = json_object(), *ex = json_array();
                json_object_set_new(rec, "id", json_string(id));
                json_object_set_new(rec, "prompt", json_string(clean));
                json_object_set_new(rec, "role", json_string(specs[b].role));
                json_object_set_new(rec, "task", json_string(specs[b].task));
                json_object_set_new(rec, "attributes", synth_spec_attributes(&cat, &specs[b]));
                json_object_set_new(rec, "mode", json_string(mode));
                if (!brainstorm)
                    for (int j = 0; j < 8 && example_ids[b][j] != INT_MIN; j++) {
                        int e = example_ids[b][j];
                        json_array_append_new(ex, json_string(e >= 0 ? seeds.ids[e] : synthetic.ids[-1 - e]));
                    }
                json_object_set_new(rec, "examples", ex);
                json_object_set_new(rec, "model", json_string(model_dir));
                if (iteration >= 0) json_object_set_new(rec, "iteration", json_integer(iteration));
                json_object_set_new(rec, "seed", json_integer((json_int_t)gen_seeds[b]));
                json_object_set_new(rec, "source", json_string("synth"));
                if (constraints) write_with_constraints(out, rec, constraints, n_constraints, constraint_draws, seed, accepted);
                else records_writer_write(out, rec);
                json_decref(rec);
                pool_add(&synthetic, clean, id); // self-instruct: accepted prompts become examples
                accepted++;
            }
            free(prompt), free(clean);
        }
        for (int b = 0; b < nb; b++) free(texts[b]), texts[b] = NULL;
        char extra[64];
        snprintf(extra, sizeof extra, "%d generated", attempts);
        progress_update(&prog, accepted, extra);
    }
    char final_note[64];
    snprintf(final_note, sizeof final_note, "%d generated", attempts);
    prog.total = accepted; // what was made, which may be short of --count
    progress_finish(&prog, final_note);
    dropped[SYNTH_INVALID_JSON] = invalid_lists;

    json_t *report = json_object(), *drops = json_object();
    json_object_set_new(report, "accepted", json_integer(accepted));
    if (constraints) json_object_set_new(report, "records", json_integer((json_int_t)accepted * constraint_draws));
    json_object_set_new(report, "requested", json_integer(count));
    json_object_set_new(report, "generated", json_integer(attempts));
    for (int r = 1; r < SYNTH_N_REASONS; r++) json_object_set_new(drops, synth_reason_name((SynthReason)r), json_integer(dropped[r]));
    json_object_set_new(report, "dropped", drops);
    json_object_set_new(report, "mode", json_string(mode));
    if (brainstorm) {
        json_object_set_new(report, "idea_lists", json_integer(lists));
        json_object_set_new(report, "idea_lists_invalid_json", json_integer(invalid_lists));
        json_object_set_new(report, "ideas", json_integer(ideas_kept));
    }
    json_object_set_new(report, "catalog", json_pack("{s:i, s:i, s:i}", "roles", cat.n_roles, "tasks", cat.n_tasks,
                                                     "seed_prompts", seeds.n));
    json_object_set_new(report, "model", json_string(model_dir));
    json_object_set_new(report, "seconds", json_real(now_seconds() - t0));
    if (rejects) records_writer_close(rejects); // kept even when nothing passed: they say why
    if (accepted == 0) {
        records_writer_abort(out);
        char *text = json_dumps(report, JSON_COMPACT);
        fail("no prompt passed the filters in %d generations (%s); nothing written to %s. Try more --max-attempts, "
             "a lower --min-words, or a model that follows instructions",
             attempts, text, out_path);
    }
    records_writer_close(out);
    if (report_path) {
        char *text = json_dumps(report, JSON_INDENT(2));
        size_t len = strlen(text);
        text = xrealloc(text, len + 2);
        text[len] = '\n', text[len + 1] = 0;
        write_file_atomic(report_path, text, len + 1);
        free(text);
    }
    printf("wrote %d prompts to %s (%d generated; dropped:", accepted, out_path, attempts);
    for (int r = 1; r < SYNTH_N_REASONS; r++)
        if (dropped[r]) printf(" %s %lld", synth_reason_name((SynthReason)r), (long long)dropped[r]);
    printf(")\n");
    if (accepted < count)
        fprintf(stderr, "strap synth: warning: only %d of %d prompts passed the filters in %d generations\n", accepted,
                count, attempts);
    json_decref(report);
    for (int i = 0; i < ideas.n; i++) free(ideas.items[i].role), free(ideas.items[i].task);
    free(ideas.items);
    for (int b = 0; b < batch; b++) free(messages[b]);
    free(messages), free(texts), free(gen_seeds), free(specs), free(example_ids);
    synth_filter_free(&idea_filter);
    synth_filter_free(&filter);
    writer_free(&w);
    pool_free(&seeds), pool_free(&synthetic), pool_free(&avoided);
    synth_catalog_free(&cat);
    if (constraints) constraints_free(constraints);
    free(catalog), free(seeds_file);
    return 0;
}
