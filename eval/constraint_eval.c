// constraint_eval.c: see constraint_eval.h.
#include "constraint_eval.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/json_file.h"
#include "../base/text.h"
#include "../data/jsonl.h"
#include "../data/text_loops.h"
#include "../dist/dist.h"
#include "../dist/dist_records.h"
#include "../selfplay/answer.h"
#include "../selfplay/constraints.h"
#include "stats.h"

void constraint_eval_options_default(ConstraintEvalOptions *o) {
    memset(o, 0, sizeof *o);
    o->device = "auto";
    o->max_new = 256;
    o->batch = 16;
}

// What one model did on the prompts (summed over the ranks).
typedef struct {
    double prompts_passed, instructions_passed, cut_off, loops, tokens;
} ModelTally;

enum { MAX_KINDS = 64 };

typedef struct {
    const char *dir;
    Answers answers;
    int *all_pass;    // [n_mine]
    json_t **results; // [n_mine] constraints_check arrays
    ModelTally t;
    double kind_passed[MAX_KINDS];
} Side;

static int kind_index(const char *const *kinds, int n_kinds, const char *kind) {
    for (int k = 0; k < n_kinds; k++)
        if (strcmp(kinds[k], kind) == 0) return k;
    return -1;
}

static void check_answers(Side *s, json_t **recs, int n_mine, const char *const *kinds, int n_kinds) {
    s->all_pass = xcalloc((size_t)(n_mine ? n_mine : 1), sizeof(int));
    s->results = xcalloc((size_t)(n_mine ? n_mine : 1), sizeof(json_t *));
    for (int k = 0; k < n_mine; k++) {
        json_t *cons = json_object_get(recs[k], "constraints"), *base = json_object_get(recs[k], "base_prompt");
        const char *request = json_string_value(json_is_string(base) ? base : json_object_get(recs[k], "prompt"));
        int n_pass = 0;
        s->results[k] = constraints_check(cons, request, s->answers.text[k], &n_pass);
        s->all_pass[k] = n_pass == (int)json_array_size(cons);
        s->t.prompts_passed += s->all_pass[k];
        s->t.instructions_passed += n_pass;
        s->t.tokens += s->answers.tokens[k];
        s->t.cut_off += strcmp(s->answers.finish[k], "eos") != 0 && strcmp(s->answers.finish[k], "stop") != 0;
        s->t.loops += answer_loops(s->answers.text[k], s->answers.finish[k]);
        size_t i;
        json_t *r;
        json_array_foreach(s->results[k], i, r) {
            int kind = kind_index(kinds, n_kinds, json_string_value(json_object_get(r, "kind")));
            if (kind >= 0 && json_is_true(json_object_get(r, "pass"))) s->kind_passed[kind]++;
        }
    }
}

static json_t *side_json(const Side *s, int n, double n_instructions, const char *const *kinds, int n_kinds,
                         const double *kind_total) {
    json_t *fam = json_object();
    for (int k = 0; k < n_kinds; k++)
        if (kind_total[k] > 0)
            json_object_set_new(fam, kinds[k],
                                json_pack("{s:i, s:i, s:f}", "n", (int)kind_total[k], "passed", (int)s->kind_passed[k],
                                          "accuracy", s->kind_passed[k] / kind_total[k]));
    return json_pack("{s:s, s:f, s:f, s:i, s:i, s:i, s:i, s:f, s:o}", "model", s->dir, "prompt_accuracy",
                     s->t.prompts_passed / n, "instruction_accuracy",
                     n_instructions > 0 ? s->t.instructions_passed / n_instructions : 0.0, "prompts_passed",
                     (int)s->t.prompts_passed, "instructions_passed", (int)s->t.instructions_passed, "cut_off",
                     (int)s->t.cut_off, "loops", (int)s->t.loops, "mean_tokens", s->t.tokens / n, "families", fam);
}

// The baseline's answers to this rank's prompts from an earlier run's --records: record i
// must answer prompt i (the same id and prompt text).
static void reuse_answers(Answers *a, const char *path, json_t **recs, const int *mine, int n_mine, int n) {
    JsonlReader *r = jsonl_open(path);
    json_t **old = xcalloc((size_t)n, sizeof(json_t *)), *obj;
    int k = 0;
    while (k < n && jsonl_next(r, &obj)) {
        json_t *id = json_object_get(recs[k], "id");
        if (!json_is_string(json_object_get(obj, "answer_baseline")) ||
            !json_is_string(json_object_get(obj, "finish_baseline")) ||
            !json_equal(json_object_get(obj, "prompt"), json_object_get(recs[k], "prompt")) ||
            (id && !json_equal(json_object_get(obj, "prompt_id"), id)))
            fail("%s:%ld: not the baseline's answer to prompt %d of the prompts file (the baseline's answers are "
                 "the records of an eval constraints run on the same prompts)",
                 path, jsonl_line(r), k + 1);
        old[k++] = obj;
    }
    jsonl_close(r);
    if (k < n) fail("%s holds %d answers, the prompts file %d", path, k, n);
    a->n = n_mine;
    a->text = xcalloc((size_t)n_mine, sizeof(char *));
    a->tokens = xcalloc((size_t)n_mine, sizeof(int));
    a->prompt_tokens = xcalloc((size_t)n_mine, sizeof(int));
    a->finish = xcalloc((size_t)n_mine, sizeof(char *));
    for (int j = 0; j < n_mine; j++) {
        json_t *rec = old[mine[j]];
        a->text[j] = strdup(json_string_value(json_object_get(rec, "answer_baseline")));
        a->tokens[j] = (int)json_integer_value(json_object_get(rec, "tokens_baseline"));
        const char *f = json_string_value(json_object_get(rec, "finish_baseline"));
        a->finish[j] = !strcmp(f, "eos")       ? "eos"
                       : !strcmp(f, "stop")    ? "stop"
                       : !strcmp(f, "context") ? "context"
                                               : "length";
    }
    for (int i = 0; i < n; i++) json_decref(old[i]);
    free(old);
}

// Every held-out prompt of o->prompts (at most o->limit): *n_out of them, their constraints
// counted per kind into kind_total and in all into *n_instructions.
static json_t **read_prompts(const ConstraintEvalOptions *o, const char *const *kinds, int n_kinds, double *kind_total,
                             double *n_instructions_out, int *n_out) {
    JsonlReader *r = jsonl_open(o->prompts);
    int n = 0, cap = 64;
    json_t **recs = xmalloc((size_t)cap * sizeof(json_t *)), *obj;
    double n_instructions = 0;
    while ((o->limit <= 0 || n < o->limit) && jsonl_next(r, &obj)) {
        json_t *cons = json_object_get(obj, "constraints");
        if (!json_is_string(json_object_get(obj, "prompt")) || !json_is_array(cons) || json_array_size(cons) == 0)
            fail("%s:%ld: a held-out prompt needs \"prompt\" and a non-empty \"constraints\" list (make them with "
                 "strap verify from a requests file, or with strap synth asked for constraints)",
                 o->prompts, jsonl_line(r));
        size_t i;
        json_t *c;
        json_array_foreach(cons, i, c) {
            int kind = kind_index(kinds, n_kinds, json_string_value(json_object_get(c, "kind")));
            if (kind < 0)
                fail("%s:%ld: constraint %zu has an unknown or missing \"kind\" (known: see the help of strap verify)",
                     o->prompts, jsonl_line(r), i + 1);
            kind_total[kind]++;
        }
        n_instructions += (double)json_array_size(cons);
        if (n == cap) recs = xrealloc(recs, (size_t)(cap *= 2) * sizeof(json_t *));
        recs[n++] = obj;
    }
    jsonl_close(r);
    if (n == 0) fail("%s holds no prompts", o->prompts);
    *n_instructions_out = n_instructions, *n_out = n;
    return recs;
}

// --records: one line per prompt with both sides' answers and checks (rank 0 writes every
// rank's records in prompt order).
static void write_records(const ConstraintEvalOptions *o, json_t **my_recs, const int *mine, int n_mine, Side *side,
                          int n_sides) {
    DistRecords w;
    dist_records_open(&w, o->records);
    for (int k = 0; k < n_mine; k++) {
        json_t *rec = json_object(), *id = json_object_get(my_recs[k], "id");
        json_object_set_new(rec, "prompt_id", id ? json_deep_copy(id) : json_integer(mine[k]));
        json_object_set(rec, "prompt", json_object_get(my_recs[k], "prompt"));
        json_object_set(rec, "constraints", json_object_get(my_recs[k], "constraints"));
        for (int s = 0; s < n_sides; s++) {
            const char *who = s ? "baseline" : "model";
            char key[32];
#define PUT(name, value) (snprintf(key, sizeof key, name "_%s", who), json_object_set_new(rec, key, value))
            PUT("answer", json_string(side[s].answers.text[k]));
            PUT("tokens", json_integer(side[s].answers.tokens[k]));
            PUT("finish", json_string(side[s].answers.finish[k]));
            PUT("loops", json_boolean(answer_loops(side[s].answers.text[k], side[s].answers.finish[k])));
            PUT("verify", json_incref(side[s].results[k]));
            PUT("pass", json_boolean(side[s].all_pass[k]));
#undef PUT
        }
        dist_records_put(&w, rec);
        dist_records_end_input(&w);
        json_decref(rec);
    }
    dist_records_close(&w); // collective: rank 0 writes every rank's records in prompt order
}

// Totals over the ranks: per side 5 tallies and the per-kind passes, then the discordant
// pairs (*better: the model passes and the baseline fails; *worse: the reverse).
static void sum_ranks(Side *side, int n_sides, int n_kinds, const double discordant[2], int *better_out,
                      int *worse_out) {
    int per_side = 5 + n_kinds, n_sum = n_sides * per_side + 2;
    double *sum = xcalloc((size_t)n_sum, sizeof(double));
    for (int s = 0; s < n_sides; s++) {
        memcpy(sum + s * per_side, &side[s].t, 5 * sizeof(double));
        memcpy(sum + s * per_side + 5, side[s].kind_passed, (size_t)n_kinds * sizeof(double));
    }
    sum[n_sides * per_side] = discordant[0], sum[n_sides * per_side + 1] = discordant[1];
    dist_sum(sum, n_sum);
    for (int s = 0; s < n_sides; s++) {
        memcpy(&side[s].t, sum + s * per_side, 5 * sizeof(double));
        memcpy(side[s].kind_passed, sum + s * per_side + 5, (size_t)n_kinds * sizeof(double));
    }
    int better = (int)sum[n_sides * per_side], worse = (int)sum[n_sides * per_side + 1];
    free(sum);

    *better_out = better, *worse_out = worse;
}

// Rank 0: the JSON (--out, or printed) and the Markdown tables (printed, and --markdown).
static void write_report(const ConstraintEvalOptions *o, Side *side, int n_sides, int n, double n_instructions,
                         const char *const *kinds, int n_kinds, const double *kind_total, int better, int worse) {
    json_t *j = json_object();
    json_object_set_new(j, "prompts", json_integer(n));
    json_object_set_new(j, "instructions", json_integer((json_int_t)n_instructions));
    json_object_set_new(j, "model", side_json(&side[0], n, n_instructions, kinds, n_kinds, kind_total));
    double p = mcnemar_exact_p(better, worse);
    if (n_sides == 2) {
        json_object_set_new(j, "baseline", side_json(&side[1], n, n_instructions, kinds, n_kinds, kind_total));
        json_object_set_new(j, "prompt_accuracy_delta",
                            json_real((side[0].t.prompts_passed - side[1].t.prompts_passed) / n));
        json_object_set_new(j, "model_only_passes", json_integer(better));
        json_object_set_new(j, "baseline_only_passes", json_integer(worse));
        json_object_set_new(j, "mcnemar_p", json_real(p));
    }
    json_object_set_new(j, "prompts_file", json_string(o->prompts));
    json_object_set_new(j, "max_new", json_integer(o->max_new));
    json_object_set_new(j, "temperature", json_real(o->temperature));
    json_object_set_new(j, "no_repeat_ngram", json_integer(o->no_repeat_ngram));
    if (o->baseline_answers) json_object_set_new(j, "baseline_answers", json_string(o->baseline_answers));
    json_object_set_new(j, "seed", json_integer(o->seed));

    Text md = {0};
    text_printf(&md, "# Verifiable instructions: %s%s%s\n\n", o->model_dir, o->baseline_dir ? " against " : "",
                o->baseline_dir ? o->baseline_dir : "");
    text_printf(&md,
                "%d held-out prompts from `%s` with %.0f constraints, answered %s (at most %d new tokens) "
                "and checked by program. Prompt level: every constraint of the prompt passes; instruction "
                "level: share of all constraints that pass.\n\n",
                n, o->prompts, n_instructions, o->temperature > 0 ? "by sampling" : "greedily", o->max_new);
    text_printf(
        &md,
        "| model | prompt-level | instruction-level | cut off | loop | mean tokens |\n|---|---|---|---|---|---|\n");
    for (int s = 0; s < n_sides; s++)
        text_printf(&md, "| %s | %.3f (%d/%d) | %.3f (%d/%.0f) | %d | %d | %.1f |\n", side[s].dir,
                    side[s].t.prompts_passed / n, (int)side[s].t.prompts_passed, n,
                    side[s].t.instructions_passed / n_instructions, (int)side[s].t.instructions_passed, n_instructions,
                    (int)side[s].t.cut_off, (int)side[s].t.loops, side[s].t.tokens / n);
    if (n_sides == 2)
        text_printf(&md,
                    "\nPaired: the model passes where the baseline fails on %d prompts, the reverse on %d; "
                    "prompt-level difference %+.1f points, exact McNemar p = %.4g.\n",
                    better, worse, 100 * (side[0].t.prompts_passed - side[1].t.prompts_passed) / n, p);
    text_printf(&md, "\n| family | n | model |%s\n|---|---|---|%s\n", n_sides == 2 ? " baseline |" : "",
                n_sides == 2 ? "---|" : "");
    for (int k = 0; k < n_kinds; k++) {
        if (kind_total[k] == 0) continue;
        text_printf(&md, "| %s | %.0f | %.3f |", kinds[k], kind_total[k], side[0].kind_passed[k] / kind_total[k]);
        if (n_sides == 2) text_printf(&md, " %.3f |", side[1].kind_passed[k] / kind_total[k]);
        text_printf(&md, "\n");
    }
    printf("%s\n", md.s);
    if (o->markdown) write_file_atomic(o->markdown, md.s, md.len);
    json_write_atomic(o->out, j, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
    free(md.s);
    json_decref(j);
}

int constraint_eval_run(const ConstraintEvalOptions *o) {
    if (o->max_new < 1 || o->batch < 1)
        fail("the new tokens per answer and the batch must be positive (got %d, %d)", o->max_new, o->batch);
    if (o->records && !jsonl_is_jsonl_path(o->records))
        fail("records file %s: name it .jsonl or .jsonl.zst", o->records);
    const char *const *kinds = constraints_known_kinds();
    int n_kinds = 0;
    while (kinds[n_kinds]) n_kinds++;
    CHECK(n_kinds <= MAX_KINDS, "%d constraint kinds, room for %d", n_kinds, MAX_KINDS);

    // every rank reads every record (for the totals), answers its share
    int n, lead = comm_rank() == 0;
    double n_instructions, kind_total[MAX_KINDS] = {0};
    json_t **recs = read_prompts(o, kinds, n_kinds, kind_total, &n_instructions, &n);
    int *mine = xmalloc((size_t)n * sizeof(int)), n_mine = 0;
    for (int i = 0; i < n; i++)
        if (dist_records_mine(i)) mine[n_mine++] = i;
    json_t **my_recs = xmalloc((size_t)(n_mine ? n_mine : 1) * sizeof(json_t *));
    for (int k = 0; k < n_mine; k++) my_recs[k] = recs[mine[k]];

    Backend *backend = dist_backend_select(o->device, o->threads);
    AnswerOptions ao;
    memset(&ao, 0, sizeof ao);
    ao.chat_template = o->chat_template, ao.max_new = o->max_new, ao.batch = o->batch, ao.seed = (uint64_t)o->seed;
    ao.index = mine;
    sample_options_default(&ao.sample);
    ao.sample.temperature = o->temperature, ao.sample.top_p = 1.0f, ao.sample.no_repeat_ngram = o->no_repeat_ngram;
    int n_sides = o->baseline_dir ? 2 : 1;
    Side side[2];
    memset(side, 0, sizeof side);
    side[0].dir = o->model_dir, side[1].dir = o->baseline_dir;
    if (lead) {
        printf("eval constraints: %d prompts, %.0f constraints; answering with %s%s%s\n", n, n_instructions,
               o->model_dir, o->baseline_dir ? ", then " : "", o->baseline_dir ? o->baseline_dir : "");
        if (comm_world() > 1)
            printf("eval constraints: %d ranks: rank 0 answers %d of the %d prompts\n", comm_world(), n_mine, n);
        fflush(stdout);
    }
    for (int s = 0; s < n_sides; s++) {
        if (n_mine && s == 1 && o->baseline_answers)
            reuse_answers(&side[1].answers, o->baseline_answers, recs, mine, n_mine, n);
        else if (n_mine) {
            ao.progress =
                lead ? (s ? "eval constraints: the baseline answers" : "eval constraints: the model answers") : NULL;
            answers_generate(&side[s].answers, side[s].dir, backend, my_recs, n_mine, o->prompts, &ao);
        }
        check_answers(&side[s], my_recs, n_mine, kinds, n_kinds);
    }
    double discordant[2] = {0, 0}; // model passes / baseline fails, and the reverse
    if (n_sides == 2)
        for (int k = 0; k < n_mine; k++) {
            discordant[0] += side[0].all_pass[k] && !side[1].all_pass[k];
            discordant[1] += !side[0].all_pass[k] && side[1].all_pass[k];
        }

    if (o->records) write_records(o, my_recs, mine, n_mine, side, n_sides);
    int better, worse;
    sum_ranks(side, n_sides, n_kinds, discordant, &better, &worse);
    if (lead) write_report(o, side, n_sides, n, n_instructions, kinds, n_kinds, kind_total, better, worse);
    for (int s = 0; s < n_sides; s++) {
        for (int k = 0; k < n_mine; k++) json_decref(side[s].results[k]);
        free(side[s].results), free(side[s].all_pass);
        if (n_mine) answers_free(&side[s].answers);
    }
    for (int i = 0; i < n; i++) json_decref(recs[i]);
    free(recs), free(mine), free(my_recs);
    return 0;
}
