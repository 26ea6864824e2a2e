// cmd_pairs.c: strap pairs: judged answers -> preference pairs. Per prompt, the best answer
// is chosen and the worst rejected; prompts whose best and worst are equal, or whose judge
// scores are closer than --min-margin, give no pair. What "best" means is --reward:
//   judge   the judge's score (strap judge)
//   verify  the share of the prompt's constraints the answer passes (strap verify)
//   mix     verify first; between answers that pass equally the judge's score decides
// Whatever the reward, an answer that loops (cut off and repetitive, eval/stats.h) ranks
// below every answer that does not: it is never chosen, and rejected first.
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/io.h"
#include "../data/jsonl.h"
#include "../data/records_writer.h"
#include "../data/text_loops.h"
#include "../base/check.h"
#include "args.h"
#include "commands.h"

typedef struct {
    json_t *record; // the judged answer (kept for its fields)
    char *key;      // prompt_id as JSON text
    double score;   // the judge's; NAN: missing
    double verify;  // share of constraints passed; NAN: missing
    int loops;      // cut off and repetitive
    long line;
} Judged;

typedef enum { REWARD_JUDGE, REWARD_VERIFY, REWARD_MIX } Reward;

// The primary score of an answer under a reward (NAN: unscored).
static double primary(const Judged *j, Reward r) { return r == REWARD_JUDGE ? j->score : j->verify; }

// > 0 when a ranks above b: not looping first, then the primary score, then (mix) the judge's.
static int rank_cmp(const Judged *a, const Judged *b, Reward r) {
    if (a->loops != b->loops) return a->loops ? -1 : 1;
    double x = primary(a, r), y = primary(b, r);
    if (x != y) return x > y ? 1 : -1;
    if (r == REWARD_MIX && !isnan(a->score) && !isnan(b->score) && a->score != b->score) return a->score > b->score ? 1 : -1;
    return 0;
}

static int by_key_then_line(const void *a, const void *b) {
    const Judged *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

int cmd_pairs(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *report_path = NULL, *score_field = "score", *reward_name = "judge";
    float min_margin = 0;
    Flag flags[] = {
        {"--in", FLAG_STRING, &in, "F", "judged answers .jsonl(.zst): prompt_id, prompt, text, score (required)", NULL},
        {"--out", FLAG_STRING, &out, "F", "pairs .jsonl(.zst): prompt_id, prompt, chosen, rejected, scores (required)", NULL},
        {"--min-margin", FLAG_FLOAT, &min_margin, "M", "drop pairs whose scores differ by less than M", NULL},
        {"--score-field", FLAG_STRING, &score_field, "NAME", "the field holding the judge's score (number, or null if missing)", NULL},
        {"--reward", FLAG_STRING, &reward_name, "R",
         "judge (the judge's score), verify (constraints passed: strap verify's verify_score) or mix (verify, then the "
         "judge's score)", NULL},
        {"--report", FLAG_STRING, &report_path, "F", "write the counts as JSON too", NULL},
        {0},
    };
    Command cmd = {"strap pairs --in judged.jsonl.zst --out pairs.jsonl.zst [--min-margin M]",
                   "Make one (chosen, rejected) pair per prompt from judged answers: the best and the "
                   "worst scored answer. Ties and pairs under --min-margin are dropped; answers without "
                   "a score are left out.",
                   flags, 0, NULL, 0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--in", in != NULL);
    args_require(&cmd, "--out", out != NULL);
    if (min_margin < 0) args_error(&cmd, "--min-margin must be non-negative");
    Reward reward = REWARD_JUDGE;
    if (strcmp(reward_name, "verify") == 0) reward = REWARD_VERIFY;
    else if (strcmp(reward_name, "mix") == 0) reward = REWARD_MIX;
    else if (strcmp(reward_name, "judge") != 0) args_error(&cmd, "--reward must be judge, verify or mix (got '%s')", reward_name);

    JsonlReader *r = jsonl_open(in);
    int n = 0, cap = 256, missing = 0, looping = 0;
    Judged *all = xmalloc((size_t)cap * sizeof(Judged));
    json_t *obj;
    while (jsonl_next(r, &obj)) {
        json_t *id = json_object_get(obj, "prompt_id"), *text = json_object_get(obj, "text"),
               *prompt = json_object_get(obj, "prompt"), *score = json_object_get(obj, score_field);
        if (!id || !json_is_string(text) || !json_is_string(prompt))
            fail("%s:%ld: a judged answer needs prompt_id, prompt and text", in, jsonl_line(r));
        if (score && !json_is_null(score) && !json_is_number(score))
            fail("%s:%ld: field '%s' must be a number or null", in, jsonl_line(r), score_field);
        json_t *verify = json_object_get(obj, "verify_score");
        if (reward != REWARD_JUDGE && !json_is_number(verify))
            fail("%s:%ld: --reward %s needs \"verify_score\" (a number): run strap verify on the answers first", in,
                 jsonl_line(r), reward_name);
        if (reward == REWARD_MIX && !score)
            fail("%s:%ld: --reward mix needs the judge's \"%s\" too: run strap judge on the answers first", in,
                 jsonl_line(r), score_field);
        if (n == cap) all = xrealloc(all, (size_t)(cap *= 2) * sizeof(Judged));
        Judged *j = &all[n++];
        j->record = obj;
        j->key = json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY);
        j->score = json_is_number(score) ? json_number_value(score) : NAN;
        j->verify = json_is_number(verify) ? json_number_value(verify) : NAN;
        j->loops = answer_loops(json_string_value(text), json_string_value(json_object_get(obj, "finish")));
        j->line = jsonl_line(r);
        missing += isnan(primary(j, reward));
        looping += j->loops;
    }
    jsonl_close(r);
    if (n == 0) fail("%s holds no judged answers", in);
    if (missing == n && reward == REWARD_JUDGE)
        fail("%s: none of its %d answers has a score (every judgement was unparseable): nothing to pair. Look at the "
             "judge's text in the 'judgements' field, give the judge more --max-new, or use --method logprob",
             in, n);
    qsort(all, (size_t)n, sizeof(Judged), by_key_then_line); // groups by prompt, input order inside
    for (int i = 1; i < n; i++) // answers that share a prompt_id must answer the same prompt
        if (strcmp(all[i].key, all[i - 1].key) == 0 &&
            !json_equal(json_object_get(all[i].record, "prompt"), json_object_get(all[i - 1].record, "prompt")))
            fail("%s:%ld: prompt_id %s is the id of another prompt on line %ld: answers to different prompts need "
                 "different ids",
                 in, all[i].line, all[i].key, all[i - 1].line);
    RecordsWriter *w = records_writer_open(out);
    int prompts = 0, pairs = 0, ties = 0, under_margin = 0, unscored = 0, histogram[6] = {0};
    int by_loop = 0, by_verify = 0, by_judge = 0, chosen_all_pass = 0; // what decided each pair
    double len_chosen = 0, len_rejected = 0;
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && strcmp(all[j].key, all[i].key) == 0) j++;
        prompts++;
        int best = -1, worst = -1; // the first of equal rank wins (input order)
        for (int k = i; k < j; k++) {
            if (isnan(primary(&all[k], reward))) continue;
            double s = all[k].score;
            int bucket = isnan(s) ? -1 : (int)lround(s);
            if (bucket >= 0 && bucket <= 5) histogram[bucket]++;
            if (best < 0 || rank_cmp(&all[k], &all[best], reward) > 0) best = k;
            if (worst < 0 || rank_cmp(&all[k], &all[worst], reward) < 0) worst = k;
        }
        // the judge's margin applies where the judge decides: judge, or mix between equal verify scores
        int judge_decides = best >= 0 && all[best].loops == all[worst].loops &&
                            (reward == REWARD_JUDGE || (reward == REWARD_MIX && all[best].verify == all[worst].verify));
        if (best < 0) unscored++;
        else if (rank_cmp(&all[best], &all[worst], reward) == 0) ties++;
        else if (judge_decides && all[best].score - all[worst].score < min_margin) under_margin++;
        else {
            if (all[best].loops != all[worst].loops) by_loop++;
            else if (judge_decides) by_judge++;
            else by_verify++;
            chosen_all_pass += all[best].verify == 1.0;
            json_t *pair = json_object();
            json_object_set(pair, "prompt_id", json_object_get(all[best].record, "prompt_id"));
            json_object_set(pair, "prompt", json_object_get(all[best].record, "prompt"));
            json_object_set(pair, "chosen", json_object_get(all[best].record, "text"));
            json_object_set(pair, "rejected", json_object_get(all[worst].record, "text"));
            json_object_set_new(pair, "score_chosen", isnan(all[best].score) ? json_null() : json_real(all[best].score));
            json_object_set_new(pair, "score_rejected", isnan(all[worst].score) ? json_null() : json_real(all[worst].score));
            if (reward != REWARD_JUDGE) {
                json_object_set_new(pair, "verify_chosen", json_real(all[best].verify));
                json_object_set_new(pair, "verify_rejected", json_real(all[worst].verify));
            }
            json_object_set_new(pair, "rejected_loops", json_boolean(all[worst].loops));
            json_t *model = json_object_get(all[best].record, "model");
            if (model) json_object_set(pair, "model", model);
            records_writer_write(w, pair);
            json_decref(pair);
            len_chosen += (double)json_string_length(json_object_get(all[best].record, "text"));
            len_rejected += (double)json_string_length(json_object_get(all[worst].record, "text"));
            pairs++;
        }
        i = j;
    }
    records_writer_close(w);
    json_t *rep = json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:{s:i, s:i, s:i}, s:i, s:[i,i,i,i,i,i], s:f, s:f}",
                            "reward", reward_name, "answers", n, "prompts", prompts, "pairs", pairs, "ties_dropped", ties,
                            "under_margin_dropped", under_margin, "unscored_prompts", unscored, "missing_scores", missing,
                            "looping_answers", looping, "decided_by", "loop", by_loop, "verify", by_verify, "judge",
                            by_judge, "chosen_passes_all", chosen_all_pass, "score_histogram", histogram[0],
                            histogram[1], histogram[2], histogram[3], histogram[4], histogram[5], "mean_chars_chosen",
                            pairs ? len_chosen / pairs : 0.0, "mean_chars_rejected", pairs ? len_rejected / pairs : 0.0);
    char *text = json_dumps(rep, JSON_INDENT(2));
    printf("%s\n", text);
    if (report_path) write_file_atomic(report_path, text, strlen(text));
    free(text);
    json_decref(rep);
    for (int i = 0; i < n; i++) json_decref(all[i].record), free(all[i].key);
    free(all);
    return 0;
}
