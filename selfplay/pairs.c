// pairs.c: see pairs.h.
#include "pairs.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../data/jsonl.h"
#include "../data/records_writer.h"
#include "../data/text_loops.h"

typedef struct {
    json_t *record; // the judged answer (kept for its fields)
    char *key;      // prompt_id as JSON text
    double score;   // the judge's; NAN: missing
    double verify;  // share of constraints passed; NAN: missing
    int loops;      // cut off and repetitive
    long line;
} Judged;

// The primary score of an answer under a reward (NAN: unscored).
static double primary(const Judged *j, Reward r) { return r == REWARD_JUDGE ? j->score : j->verify; }

// > 0 when a ranks above b: not looping first, then the primary score, then (mix) the judge's.
static int rank_cmp(const Judged *a, const Judged *b, Reward r) {
    if (a->loops != b->loops) return a->loops ? -1 : 1;
    double x = primary(a, r), y = primary(b, r);
    if (x != y) return x > y ? 1 : -1;
    if (r == REWARD_MIX && !isnan(a->score) && !isnan(b->score) && a->score != b->score)
        return a->score > b->score ? 1 : -1;
    return 0;
}

static int by_key_then_line(const void *a, const void *b) {
    const Judged *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

const char *const REWARD_NAMES[] = {"judge", "verify", "mix", NULL};

void pairs_options_default(PairsOptions *o) {
    memset(o, 0, sizeof *o);
    o->score_field = "score";
    o->reward = REWARD_JUDGE;
}

// Reads every judged answer of o->in, sorted by prompt (input order inside); *missing gets
// the answers without the reward's score, *looping those that loop.
static Judged *load_judged(const PairsOptions *o, int *n_out, int *missing_out, int *looping_out) {
    JsonlReader *r = jsonl_open(o->in);
    int n = 0, cap = 256, missing = 0, looping = 0;
    Judged *all = xmalloc((size_t)cap * sizeof(Judged));
    json_t *obj;
    while (jsonl_next(r, &obj)) {
        json_t *id = json_object_get(obj, "prompt_id"), *text = json_object_get(obj, "text"),
               *prompt = json_object_get(obj, "prompt"), *score = json_object_get(obj, o->score_field);
        if (!id || !json_is_string(text) || !json_is_string(prompt))
            fail("%s:%ld: a judged answer needs prompt_id, prompt and text", o->in, jsonl_line(r));
        if (score && !json_is_null(score) && !json_is_number(score))
            fail("%s:%ld: field '%s' must be a number or null", o->in, jsonl_line(r), o->score_field);
        json_t *verify = json_object_get(obj, "verify_score");
        if (o->reward != REWARD_JUDGE && !json_is_number(verify))
            fail("%s:%ld: the %s reward needs \"verify_score\" (a number): run strap verify on the answers first",
                 o->in, jsonl_line(r), REWARD_NAMES[o->reward]);
        if (o->reward == REWARD_MIX && !score)
            fail("%s:%ld: the mix reward needs the judge's \"%s\" too: run strap judge on the answers first", o->in,
                 jsonl_line(r), o->score_field);
        if (n == cap) all = xrealloc(all, (size_t)(cap *= 2) * sizeof(Judged));
        Judged *j = &all[n++];
        j->record = obj;
        j->key = json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY);
        j->score = json_is_number(score) ? json_number_value(score) : NAN;
        j->verify = json_is_number(verify) ? json_number_value(verify) : NAN;
        j->loops = answer_loops(json_string_value(text), json_string_value(json_object_get(obj, "finish")));
        j->line = jsonl_line(r);
        missing += isnan(primary(j, o->reward));
        looping += j->loops;
    }
    jsonl_close(r);
    if (n == 0) fail("%s holds no judged answers", o->in);
    if (missing == n && o->reward == REWARD_JUDGE)
        fail("%s: none of its %d answers has a score (every judgement was unparseable): nothing to pair. Look at the "
             "judge's text in the 'judgements' field, let the judge write more new tokens, or judge with its logprob "
             "method",
             o->in, n);
    qsort(all, (size_t)n, sizeof(Judged), by_key_then_line); // groups by prompt, input order inside
    for (int i = 1; i < n; i++) // answers that share a prompt_id must answer the same prompt
        if (strcmp(all[i].key, all[i - 1].key) == 0 &&
            !json_equal(json_object_get(all[i].record, "prompt"), json_object_get(all[i - 1].record, "prompt")))
            fail("%s:%ld: prompt_id %s is the id of another prompt on line %ld: answers to different prompts need "
                 "different ids",
                 o->in, all[i].line, all[i].key, all[i - 1].line);
    *n_out = n, *missing_out = missing, *looping_out = looping;
    return all;
}

typedef struct { // what the pairs of a run were made of
    int prompts, pairs, ties, under_margin, unscored, histogram[6];
    int by_loop, by_verify, by_judge, chosen_all_pass; // what decided each pair
    double len_chosen, len_rejected;
} PairCounts;

// The pair of one prompt's answers all[i, j) (or a count of why there is none).
static void pair_prompt(const PairsOptions *o, Judged *all, int i, int j, RecordsWriter *w, PairCounts *c) {
    c->prompts++;
    int best = -1, worst = -1; // the first of equal rank wins (input order)
    for (int k = i; k < j; k++) {
        if (isnan(primary(&all[k], o->reward))) continue;
        double s = all[k].score;
        int bucket = isnan(s) ? -1 : (int)lround(s);
        if (bucket >= 0 && bucket <= 5) c->histogram[bucket]++;
        if (best < 0 || rank_cmp(&all[k], &all[best], o->reward) > 0) best = k;
        if (worst < 0 || rank_cmp(&all[k], &all[worst], o->reward) < 0) worst = k;
    }
    // the judge's margin applies where the judge decides: judge, or mix between equal verify scores
    int judge_decides =
        best >= 0 && all[best].loops == all[worst].loops &&
        (o->reward == REWARD_JUDGE || (o->reward == REWARD_MIX && all[best].verify == all[worst].verify));
    if (best < 0) {
        c->unscored++;
        return;
    }
    if (rank_cmp(&all[best], &all[worst], o->reward) == 0) {
        c->ties++;
        return;
    }
    if (judge_decides && all[best].score - all[worst].score < o->min_margin) {
        c->under_margin++;
        return;
    }
    if (all[best].loops != all[worst].loops)
        c->by_loop++;
    else if (judge_decides)
        c->by_judge++;
    else
        c->by_verify++;
    c->chosen_all_pass += all[best].verify == 1.0;
    json_t *pair = json_object();
    json_object_set(pair, "prompt_id", json_object_get(all[best].record, "prompt_id"));
    json_object_set(pair, "prompt", json_object_get(all[best].record, "prompt"));
    json_object_set(pair, "chosen", json_object_get(all[best].record, "text"));
    json_object_set(pair, "rejected", json_object_get(all[worst].record, "text"));
    json_object_set_new(pair, "score_chosen", isnan(all[best].score) ? json_null() : json_real(all[best].score));
    json_object_set_new(pair, "score_rejected", isnan(all[worst].score) ? json_null() : json_real(all[worst].score));
    if (o->reward != REWARD_JUDGE) {
        json_object_set_new(pair, "verify_chosen", json_real(all[best].verify));
        json_object_set_new(pair, "verify_rejected", json_real(all[worst].verify));
    }
    json_object_set_new(pair, "rejected_loops", json_boolean(all[worst].loops));
    json_t *model = json_object_get(all[best].record, "model");
    if (model) json_object_set(pair, "model", model);
    records_writer_write(w, pair);
    json_decref(pair);
    c->len_chosen += (double)json_string_length(json_object_get(all[best].record, "text"));
    c->len_rejected += (double)json_string_length(json_object_get(all[worst].record, "text"));
    c->pairs++;
}

int pairs_run(const PairsOptions *o) {
    int n, missing, looping;
    Judged *all = load_judged(o, &n, &missing, &looping);
    RecordsWriter *w = records_writer_open(o->out);
    PairCounts c = {0};
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && strcmp(all[j].key, all[i].key) == 0) j++;
        pair_prompt(o, all, i, j, w, &c);
        i = j;
    }
    records_writer_close(w);
    json_t *rep = json_pack(
        "{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:{s:i, s:i, s:i}, s:i, s:[i,i,i,i,i,i], s:f, s:f}", "reward",
        REWARD_NAMES[o->reward], "answers", n, "prompts", c.prompts, "pairs", c.pairs, "ties_dropped", c.ties,
        "under_margin_dropped", c.under_margin, "unscored_prompts", c.unscored, "missing_scores", missing,
        "looping_answers", looping, "decided_by", "loop", c.by_loop, "verify", c.by_verify, "judge", c.by_judge,
        "chosen_passes_all", c.chosen_all_pass, "score_histogram", c.histogram[0], c.histogram[1], c.histogram[2],
        c.histogram[3], c.histogram[4], c.histogram[5], "mean_chars_chosen", c.pairs ? c.len_chosen / c.pairs : 0.0,
        "mean_chars_rejected", c.pairs ? c.len_rejected / c.pairs : 0.0);
    char *text = json_dumps(rep, JSON_INDENT(2));
    printf("%s\n", text);
    if (o->report) write_file_atomic(o->report, text, strlen(text));
    free(text);
    json_decref(rep);
    for (int i = 0; i < n; i++) json_decref(all[i].record), free(all[i].key);
    free(all);
    return 0;
}
