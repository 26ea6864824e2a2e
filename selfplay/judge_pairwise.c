// judge_pairwise.c: see judge_pairwise.h.
#include "judge_pairwise.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../base/check.h"
#include "../base/progress.h"
#include "../data/text_utf8.h"
#include "judge.h"

const char *const PAIRWISE_DEFAULT_TEMPLATE =
    "You are comparing two AI assistants. Read the user's question and the two answers below, then decide "
    "which answer serves the user better: consider whether it is correct, whether it addresses what was "
    "asked, how helpful and clear it is, and whether it stays on topic. The order in which the answers are "
    "shown says nothing about their quality, and a longer answer is not better for being longer.\n\n"
    "[Question]\n{prompt}\n\n"
    "[Assistant A]\n{answer_a}\n[End of Assistant A]\n\n"
    "[Assistant B]\n{answer_b}\n[End of Assistant B]\n\n"
    "Explain your reasoning in a few sentences, then end with exactly one line: \"Verdict: Assistant A\" if A "
    "is better, \"Verdict: Assistant B\" if B is better, or \"Verdict: Tie\" if neither is better.";

const char *const JUDGE_METHOD_NAMES[] = {"logprob", "text", "rubric", NULL};

char *pairwise_build_prompt(const char *tpl, const char *prompt, const char *first, const char *second) {
    if (!tpl) tpl = PAIRWISE_DEFAULT_TEMPLATE;
    static const char *keys[3] = {"{prompt}", "{answer_a}", "{answer_b}"};
    const char *values[3] = {prompt, first, second};
    size_t cap = strlen(tpl) + 1, n = 0;
    for (int k = 0; k < 3; k++) {
        if (!strstr(tpl, keys[k]))
            fail("the pairwise judge template must contain %s (and {prompt}, {answer_a}, {answer_b})", keys[k]);
        for (const char *p = strstr(tpl, keys[k]); p; p = strstr(p + 1, keys[k])) cap += strlen(values[k]);
    }
    char *out = xmalloc(cap);
    for (const char *p = tpl; *p;) {
        int hit = -1;
        for (int k = 0; k < 3 && hit < 0; k++)
            if (strncmp(p, keys[k], strlen(keys[k])) == 0) hit = k;
        if (hit >= 0) {
            size_t l = strlen(values[hit]);
            memcpy(out + n, values[hit], l);
            n += l, p += strlen(keys[hit]);
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = 0;
    return out;
}

static const char *skip_marks(const char *q) {
    while (*q == '*' || *q == ' ' || *q == '\t' || *q == '"' || *q == '\'') q++;
    return q;
}

// The verdict a letter / word at q stands for (the word must end there), or VERDICT_NONE.
static Verdict verdict_word(const char *q) {
    if (strncasecmp(q, "assistant", 9) == 0) q = skip_marks(q + 9);
    Verdict v = VERDICT_NONE;
    size_t len = 0;
    if (strncasecmp(q, "tie", 3) == 0)
        v = VERDICT_TIE, len = 3;
    else if (*q == 'A' || *q == 'a')
        v = VERDICT_FIRST, len = 1;
    else if (*q == 'B' || *q == 'b')
        v = VERDICT_SECOND, len = 1;
    if (v != VERDICT_NONE && isalnum((unsigned char)q[len])) return VERDICT_NONE; // "Verdict: Absolutely"
    return v;
}

Verdict pairwise_parse_verdict(const char *text) {
    Verdict v = VERDICT_NONE;
    for (const char *p = text; *p; p++) {
        if (strncasecmp(p, "verdict", 7) == 0) {
            const char *q = skip_marks(p + 7);
            if (*q != ':' && *q != '-' && *q != '=') continue;
            Verdict w = verdict_word(skip_marks(q + 1));
            if (w != VERDICT_NONE) v = w;
        } else if (p[0] == '[' && p[1] == '[' && p[2] && p[3] == ']' && p[4] == ']') { // [[A]] [[B]] [[C]]
            char c = (char)toupper((unsigned char)p[2]);
            if (c == 'A')
                v = VERDICT_FIRST;
            else if (c == 'B')
                v = VERDICT_SECOND;
            else if (c == 'C')
                v = VERDICT_TIE;
        }
    }
    return v;
}

// Appends the ids of text (no special tokens).
static void encode(Tokenizer *t, const char *text, int32_t **ids, size_t *n, size_t *cap) {
    tokenizer_encode(t, text, strlen(text), 0, ids, n, cap);
}

// The ids `prefix + suffix` adds to the ids of `prefix` (malloc'd, *n of them), or NULL when
// the tokenizer does not keep the prefix's tokens intact.
static int32_t *continuation(Tokenizer *t, const char *prefix, const char *suffix, size_t *n) {
    int32_t *a = NULL, *b = NULL;
    size_t na = 0, ca = 0, nb = 0, cb = 0;
    encode(t, prefix, &a, &na, &ca);
    size_t len = strlen(prefix) + strlen(suffix) + 1;
    char *joined = xmalloc(len);
    snprintf(joined, len, "%s%s", prefix, suffix);
    encode(t, joined, &b, &nb, &cb);
    int32_t *out = NULL;
    if (nb > na && memcmp(a, b, na * sizeof(int32_t)) == 0) {
        *n = nb - na;
        out = xmalloc(*n * sizeof(int32_t));
        memcpy(out, b + na, *n * sizeof(int32_t));
    }
    free(a), free(b), free(joined);
    return out;
}

#define VERDICT_PREFILL "Verdict: Assistant"

void pair_judge_open(PairJudge *j, const char *dir, Backend *backend, const char *chat_template, JudgeMethod method,
                     const char *tpl, int max_new, float temperature, uint64_t seed) {
    memset(j, 0, sizeof *j);
    model_load(&j->model, dir, backend);
    chat_io_open(&j->io, dir, &j->model.config, chat_template, "the judge");
    if (!j->io.tok) fail("%s has no tokenizer.json: the judge needs a model with a text tokenizer", dir);
    j->method = method;
    j->tpl = strdup(tpl ? tpl : PAIRWISE_DEFAULT_TEMPLATE);
    char *probe = pairwise_build_prompt(j->tpl, "", "", ""); // checks the placeholders now
    free(probe);
    j->max_new = max_new, j->temperature = temperature, j->seed = seed;
    size_t cap = 0;
    encode(j->io.tok, VERDICT_PREFILL, &j->prefill, &j->n_prefill, &cap);
    if (method == JUDGE_LOGPROB) {
        // " A" and " B" may be one token each or share leading tokens (a space): those join the
        // prefill and the first token where they differ decides
        size_t na = 0, nb = 0;
        int32_t *ca = continuation(j->io.tok, VERDICT_PREFILL, " A", &na),
                *cb = continuation(j->io.tok, VERDICT_PREFILL, " B", &nb);
        size_t k = 0;
        while (ca && cb && k < na && k < nb && ca[k] == cb[k]) k++;
        if (!ca || !cb || k >= na || k >= nb)
            fail("%s: the judge's tokenizer does not tell '%s A' from '%s B' by one token after a common prefix, "
                 "which the logprob verdict needs; use the text judge method",
                 dir, VERDICT_PREFILL, VERDICT_PREFILL);
        j->prefill = xrealloc(j->prefill, (j->n_prefill + k) * sizeof(int32_t));
        CHECK(j->prefill != NULL, "out of memory");
        memcpy(j->prefill + j->n_prefill, ca, k * sizeof(int32_t));
        j->n_prefill += k;
        j->verdict_ids[0] = ca[k], j->verdict_ids[1] = cb[k];
        free(ca), free(cb);
    }
    j->has_digits = rubric_digit_ids(j->io.tok, j->digit_ids) < 0;
    if (method == JUDGE_RUBRIC && !j->has_digits)
        fail("%s: the judge's tokenizer does not encode each digit 0-5 as one token, which the rubric score needs; "
             "use the logprob or text judge method",
             dir);
}

void pair_judge_close(PairJudge *j) {
    if (j->gen_capacity) generator_free(&j->gen);
    chat_io_close(&j->io);
    model_free(&j->model);
    free(j->tpl), free(j->prefill);
    memset(j, 0, sizeof *j);
}

// A generator of at least (batch, capacity), capacity capped at the model's context.
static void ensure_generator(PairJudge *j, int batch, int capacity) {
    if (capacity > j->model.config.max_seq) capacity = j->model.config.max_seq;
    if (j->gen_capacity && j->gen_batch >= batch && j->gen_capacity >= capacity) return;
    if (j->gen_capacity) generator_free(&j->gen);
    generator_build(&j->gen, &j->model, batch, capacity);
    j->gen_batch = batch, j->gen_capacity = j->gen.capacity;
}

// The judge's input for one judge prompt: the chat turn, then `tail` (may be NULL).
static int32_t *judge_input(PairJudge *j, const char *judge_prompt, const int32_t *tail, size_t n_tail, size_t *n) {
    int32_t *ids = chat_io_encode(&j->io, NULL, judge_prompt, n);
    if (n_tail) {
        ids = xrealloc(ids, (*n + n_tail) * sizeof(int32_t));
        CHECK(ids != NULL, "out of memory");
        memcpy(ids + *n, tail, n_tail * sizeof(int32_t));
        *n += n_tail;
    }
    return ids;
}

static const char *const TOO_LONG = "the judge prompt does not fit the judge's context";

void pair_judge_run(PairJudge *j, const char *const *prompt, const char *const *first, const char *const *second, int n,
                    const int *index, int batch, PairVerdict *out) {
    int logprob = j->method == JUDGE_LOGPROB, max_seq = j->model.config.max_seq;
    int32_t **inputs = xcalloc((size_t)n, sizeof(int32_t *));
    int *lens = xcalloc((size_t)n, sizeof(int)), longest = 1;
    for (int i = 0; i < n; i++) {
        char *jp = pairwise_build_prompt(j->tpl, prompt[i], first[i], second[i]);
        size_t len;
        inputs[i] = judge_input(j, jp, logprob ? j->prefill : NULL, logprob ? j->n_prefill : 0, &len);
        free(jp);
        lens[i] = (int)len;
        out[i] = (PairVerdict){VERDICT_NONE, NAN, NULL, (int)len, NULL};
        int need = lens[i] + (logprob ? 0 : j->max_new);
        if (need > max_seq)
            out[i].error = TOO_LONG;
        else if (lens[i] > longest)
            longest = lens[i];
    }
    Progress prog;
    if (j->progress) progress_start(&prog, j->progress, n);
    if (logprob) {
        ensure_generator(j, 1, longest);
        for (int i = 0; i < n; i++) {
            if (out[i].error) continue;
            generator_prefill(&j->gen, 0, inputs[i], lens[i]);
            double la = j->gen.logits[j->verdict_ids[0]], lb = j->gen.logits[j->verdict_ids[1]];
            out[i].p_first = 1.0 / (1.0 + exp(lb - la));
            out[i].verdict = la > lb ? VERDICT_FIRST : la < lb ? VERDICT_SECOND : VERDICT_TIE;
            if (j->progress) progress_update(&prog, i + 1, NULL);
        }
    } else {
        if (batch < 1) batch = 1;
        ensure_generator(j, batch, longest + j->max_new);
        GenerateOptions o = {0};
        sample_options_default(&o.sample);
        o.sample.temperature = j->temperature;
        o.eos_ids = j->io.stop, o.n_eos = j->io.n_stop, o.max_new = j->max_new;
        int **outs = xmalloc((size_t)batch * sizeof(int *)), *n_out = xmalloc((size_t)batch * sizeof(int));
        for (int b = 0; b < batch; b++) outs[b] = xmalloc((size_t)j->max_new * sizeof(int));
        FinishReason *fin = xmalloc((size_t)batch * sizeof(FinishReason));
        uint64_t *seeds = xmalloc((size_t)batch * sizeof(uint64_t));
        const int **ps = xmalloc((size_t)batch * sizeof(int *));
        int *pl = xmalloc((size_t)batch * sizeof(int)), *which = xmalloc((size_t)batch * sizeof(int));
        for (int i0 = 0; i0 < n;) {
            int nb = 0;
            for (; i0 < n && nb < batch; i0++) {
                if (out[i0].error) continue;
                ps[nb] = (const int *)inputs[i0], pl[nb] = lens[i0], which[nb] = i0;
                seeds[nb] = j->seed * 1000003u + (uint64_t)(index ? index[i0] : i0);
                nb++;
            }
            if (nb == 0) break;
            o.seeds = seeds;
            generate(&j->gen, ps, pl, nb, &o, outs, n_out, fin, NULL, NULL);
            for (int b = 0; b < nb; b++) {
                size_t tl;
                char *text = chat_io_decode(&j->io, outs[b], n_out[b], fin[b], &tl);
                PairVerdict *v = &out[which[b]];
                v->judgement = utf8_valid_copy(text, tl, NULL);
                free(text);
                v->verdict = pairwise_parse_verdict(v->judgement);
                if (v->verdict == VERDICT_NONE) v->error = "no verdict in the judgement";
            }
            if (j->progress) progress_update(&prog, i0, NULL);
        }
        for (int b = 0; b < batch; b++) free(outs[b]);
        free(outs), free(n_out), free(fin), free(seeds), free(ps), free(pl), free(which);
    }
    if (j->progress) progress_finish(&prog, NULL);
    for (int i = 0; i < n; i++) free(inputs[i]);
    free(inputs), free(lens);
}

void pair_judge_rubric(PairJudge *j, const char *const *prompt, const char *const *answer, int n, double *score) {
    for (int i = 0; i < n; i++) score[i] = NAN;
    if (!j->has_digits) return;
    int32_t *tail = NULL;
    size_t n_tail = 0, cap = 0;
    encode(j->io.tok, "Score: ", &tail, &n_tail, &cap);
    int32_t **inputs = xmalloc((size_t)n * sizeof(int32_t *));
    int *lens = xmalloc((size_t)n * sizeof(int)), longest = 1;
    for (int i = 0; i < n; i++) {
        char *jp = judge_build_prompt(NULL, prompt[i], answer[i]);
        size_t len;
        inputs[i] = judge_input(j, jp, tail, n_tail, &len);
        free(jp);
        lens[i] = (int)len;
        if (lens[i] <= j->model.config.max_seq && lens[i] > longest) longest = lens[i];
    }
    ensure_generator(j, 1, longest);
    Progress prog;
    if (j->progress) progress_start(&prog, j->progress, n);
    for (int i = 0; i < n; i++) {
        if (j->progress && i) progress_update(&prog, i, NULL);
        if (lens[i] > j->model.config.max_seq) continue; // too long: no score
        generator_prefill(&j->gen, 0, inputs[i], lens[i]);
        score[i] = rubric_score(j->gen.logits, j->digit_ids, NULL);
    }
    if (j->progress) progress_finish(&prog, NULL);
    for (int i = 0; i < n; i++) free(inputs[i]);
    free(inputs), free(lens), free(tail);
}
