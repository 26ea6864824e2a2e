// synth.c: see synth.h.
#include "synth.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../base/check.h"
#include "../base/hash64.h"
#include "../base/io.h"
#include "../data/clean_text.h"

// ---- catalogue ----

// Lines of a text file without comments (#) and blank lines; errors name file:line.
static char **read_lines(const char *path, int *count, int **line_numbers) {
    size_t size;
    char *text = read_file(path, &size);
    int n = 0, cap = 64, line = 0;
    char **out = xmalloc((size_t)cap * sizeof(char *));
    *line_numbers = xmalloc((size_t)cap * sizeof(int));
    for (char *p = text; *p;) {
        char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        line++;
        while (len && isspace((unsigned char)p[len - 1])) len--;
        while (len && isspace((unsigned char)*p)) p++, len--;
        if (len && *p != '#') {
            if (n == cap) {
                cap *= 2;
                out = xrealloc(out, (size_t)cap * sizeof(char *));
                *line_numbers = xrealloc(*line_numbers, (size_t)cap * sizeof(int));
            }
            (*line_numbers)[n] = line;
            out[n++] = strndup(p, len);
        }
        if (!end) break;
        p = end + 1;
    }
    free(text);
    *count = n;
    return out;
}

static void check_unique(char **items, int n, const int *lines, const char *path) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(items[i], items[j]) == 0)
                fail("%s:%d: '%s' is already listed on line %d (remove one)", path, lines[i], items[i], lines[j]);
}

void synth_catalog_load(SynthCatalog *c, const char *dir) {
    memset(c, 0, sizeof *c);
    int *lines;
    char *path = path_join(dir, "roles.txt");
    c->roles = read_lines(path, &c->n_roles, &lines);
    if (c->n_roles == 0) fail("%s lists no roles", path);
    check_unique(c->roles, c->n_roles, lines, path);
    free(lines), free(path);

    path = path_join(dir, "tasks.txt");
    char **raw = read_lines(path, &c->n_tasks, &lines);
    if (c->n_tasks == 0) fail("%s lists no task types", path);
    c->task_names = xmalloc((size_t)c->n_tasks * sizeof(char *));
    c->task_descriptions = xmalloc((size_t)c->n_tasks * sizeof(char *));
    for (int i = 0; i < c->n_tasks; i++) {
        char *bar = strchr(raw[i], '|');
        if (!bar) fail("%s:%d: expected 'name | description', found no '|'", path, lines[i]);
        char *name_end = bar, *desc = bar + 1;
        while (name_end > raw[i] && isspace((unsigned char)name_end[-1])) name_end--;
        while (isspace((unsigned char)*desc)) desc++;
        if (name_end == raw[i] || !*desc)
            fail("%s:%d: the task name and its description must both be non-empty", path, lines[i]);
        c->task_names[i] = strndup(raw[i], (size_t)(name_end - raw[i]));
        c->task_descriptions[i] = strdup(desc);
        free(raw[i]);
    }
    free(raw);
    check_unique(c->task_names, c->n_tasks, lines, path);
    free(lines), free(path);

    path = path_join(dir, "attributes.json");
    json_error_t err;
    json_t *attrs = json_load_file(path, 0, &err);
    if (!attrs) fail("%s:%d: %s", path, err.line, err.text);
    if (!json_is_object(attrs)) fail("%s: expected an object of attribute lists", path);
    c->attribute_names = xmalloc(16 * sizeof(char *));
    c->attribute_values = xmalloc(16 * sizeof(char **));
    c->attribute_counts = xmalloc(16 * sizeof(int));
    const char *key;
    json_t *list;
    json_object_foreach(attrs, key, list) {
        if (key[0] == '_') continue;
        if (c->n_attributes == 16) fail("%s: at most 16 attributes", path);
        if (!json_is_array(list) || json_array_size(list) == 0)
            fail("%s: attribute '%s' must be a non-empty list of strings", path, key);
        int k = c->n_attributes++;
        c->attribute_names[k] = strdup(key);
        c->attribute_counts[k] = (int)json_array_size(list);
        c->attribute_values[k] = xmalloc(json_array_size(list) * sizeof(char *));
        for (size_t i = 0; i < json_array_size(list); i++) {
            json_t *v = json_array_get(list, i);
            if (!json_is_string(v) || !json_string_length(v))
                fail("%s: attribute '%s' item %zu must be a non-empty string", path, key, i + 1);
            c->attribute_values[k][i] = strdup(json_string_value(v));
        }
    }
    json_decref(attrs);
    free(path);
}

void synth_catalog_free(SynthCatalog *c) {
    for (int i = 0; i < c->n_roles; i++) free(c->roles[i]);
    for (int i = 0; i < c->n_tasks; i++) free(c->task_names[i]), free(c->task_descriptions[i]);
    for (int i = 0; i < c->n_attributes; i++) {
        for (int j = 0; j < c->attribute_counts[i]; j++) free(c->attribute_values[i][j]);
        free(c->attribute_values[i]), free(c->attribute_names[i]);
    }
    free(c->roles), free(c->task_names), free(c->task_descriptions);
    free(c->attribute_names), free(c->attribute_values), free(c->attribute_counts);
    memset(c, 0, sizeof *c);
}

static int draw_index(Rng *rng, int n) { return (int)(rng_uniform(rng) * n); }

void synth_draw(const SynthCatalog *c, Rng *rng, SynthSpec *spec) {
    memset(spec, 0, sizeof *spec);
    spec->role = c->roles[draw_index(rng, c->n_roles)];
    int t = draw_index(rng, c->n_tasks);
    spec->task = c->task_names[t];
    spec->description = c->task_descriptions[t];
    for (int i = 0; i < c->n_attributes; i++)
        spec->attribute_values[i] = c->attribute_values[i][draw_index(rng, c->attribute_counts[i])];
}

json_t *synth_spec_attributes(const SynthCatalog *c, const SynthSpec *spec) {
    json_t *o = json_object();
    for (int i = 0; i < c->n_attributes; i++)
        json_object_set_new(o, c->attribute_names[i], json_string(spec->attribute_values[i]));
    return o;
}

// ---- instructions ----

typedef struct {
    char *s;
    size_t len, cap;
} Buf;

static void buf_printf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(Buf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        b->cap = 2 * (b->cap + (size_t)n) + 64;
        b->s = xrealloc(b->s, b->cap);
        if (!b->s) fail("out of memory");
    }
}

char *synth_instruction(const SynthCatalog *c, const SynthSpec *spec, const char *const *examples, int n_examples) {
    Buf b = {0};
    buf_printf(&b, "You write realistic requests that people send to an AI assistant.\n\n");
    if (n_examples > 0) {
        buf_printf(&b, "Here are some example requests:\n\n");
        for (int i = 0; i < n_examples; i++) buf_printf(&b, "Request %d: %s\n\n", i + 1, examples[i]);
    }
    buf_printf(&b, "Now write one new request, different from the examples.\nWho is asking: %s.\n", spec->role);
    if (spec->description)
        buf_printf(&b, "Kind of request: %s (%s).\n", spec->task, spec->description);
    else
        buf_printf(&b, "Task: %s\n", spec->task);
    for (int i = 0; i < c->n_attributes; i++) {
        const char *name = c->attribute_names[i];
        buf_printf(&b, "%c%s: %s.\n", toupper((unsigned char)name[0]), name + 1, spec->attribute_values[i]);
    }
    buf_printf(&b,
               "\nWrite only the message %s types to the assistant, in their own words, starting directly with "
               "the request (\"Can you...\", \"I need...\", \"Please...\"). Include any text, numbers or code it "
               "needs. Do not answer it, and do not add a title or quotes.",
               spec->role);
    return b.s;
}

char *synth_brainstorm_instruction(const char *role, int n_ideas) {
    Buf b = {0};
    buf_printf(&b,
               "Brainstorm a list of %d different tasks that %s could ask an AI assistant to help with. "
               "Make them concrete and varied. Answer with a JSON list of strings, each string one sentence "
               "describing a task, and nothing else.",
               n_ideas, role);
    return b.s;
}

json_t *synth_parse_idea_list(const char *text) {
    const char *open = strchr(text, '['), *close = strrchr(text, ']');
    if (!open || !close || close < open) return NULL;
    json_t *list = json_loadb(open, (size_t)(close - open + 1), 0, NULL);
    if (!json_is_array(list) || json_array_size(list) == 0) {
        json_decref(list);
        return NULL;
    }
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *v = json_array_get(list, i);
        if (!json_is_string(v) || json_string_length(v) == 0) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

// ---- extraction ----

static int starts_with_ci(const char *s, const char *prefix) { return strncasecmp(s, prefix, strlen(prefix)) == 0; }

// A line that labels what follows ("Request 3:", "Here is a new request:", "New request:").
static int is_label_line(const char *line, size_t len) {
    if (len == 0 || len > 60 || line[len - 1] != ':') return 0;
    static const char *labels[] = {"request", "new request", "here is",  "here's", "sure",
                                   "prompt",  "user",        "question", 0};
    for (int i = 0; labels[i]; i++)
        if (starts_with_ci(line, labels[i])) return 1;
    return 0;
}

char *synth_extract_prompt(const char *text) {
    const char *p = text, *end = text + strlen(text);
    while (p < end && isspace((unsigned char)*p)) p++;
    // a label on its own line
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl) {
        size_t len = (size_t)(nl - p);
        while (len && isspace((unsigned char)p[len - 1])) len--;
        if (is_label_line(p, len)) p = nl + 1;
    }
    while (p < end && isspace((unsigned char)*p)) p++;
    // a label prefix on the same line: "Request 4: ...", "New request: ..."
    static const char *prefixes[] = {"request", "new request", "prompt", "user"};
    for (int i = 0; i < 4; i++) {
        size_t n = strlen(prefixes[i]);
        if (!starts_with_ci(p, prefixes[i])) continue;
        const char *q = p + n;
        while (q < end && (isdigit((unsigned char)*q) || *q == ' ')) q++;
        if (q < end && *q == ':') {
            p = q + 1;
            break;
        }
    }
    while (p < end && isspace((unsigned char)*p)) p++;
    // the model went on to answer: cut at an "Answer:" / "Response:" line or a new "Request N:"
    const char *cut = end;
    for (const char *line = p; line < end;) {
        const char *e = memchr(line, '\n', (size_t)(end - line));
        if (line > p && (starts_with_ci(line, "answer:") || starts_with_ci(line, "response:") ||
                         starts_with_ci(line, "assistant:") || starts_with_ci(line, "request ") ||
                         starts_with_ci(line, "solution:"))) {
            cut = line;
            break;
        }
        line = e ? e + 1 : end;
    }
    while (cut > p && isspace((unsigned char)cut[-1])) cut--;
    // surrounding quotes
    if (cut - p >= 2 && ((*p == '"' && cut[-1] == '"') || (*p == '\'' && cut[-1] == '\''))) p++, cut--;
    return strndup(p, (size_t)(cut - p));
}

char *synth_complete_head(const char *text) {
    const char *brk = strstr(text, "\n\n");
    if (!brk) return NULL;
    const char *end = brk;
    while (end > text && isspace((unsigned char)end[-1])) end--;
    if (end == text || !strchr(".?!\"')", end[-1])) return NULL;
    return strndup(text, (size_t)(end - text));
}

// ---- filters ----

static const char *REASON_NAMES[SYNTH_N_REASONS] = {
    "kept", "empty",     "invalid_utf8",   "too_short",  "too_long",  "blacklisted",
    "meta", "duplicate", "near_duplicate", "repetitive", "truncated", "invalid_json",
};
const char *synth_reason_name(SynthReason r) { return r >= 0 && r < SYNTH_N_REASONS ? REASON_NAMES[r] : "?"; }

// Whole-word, case-insensitive search.
static int has_word(const char *text, const char *word) {
    size_t n = strlen(word);
    for (const char *p = text; (p = strcasestr(p, word)); p++) {
        int before = p == text || !isalnum((unsigned char)p[-1]);
        int after = !isalnum((unsigned char)p[n]);
        if (before && after) return 1;
    }
    return 0;
}

// Things a text-only model can neither see nor make (as in Self-Instruct's filter).
static const char *BLACKLIST[] = {
    "image",    "images",     "picture",    "pictures",   "photo",     "photos",  "photograph",    "video",
    "videos",   "audio",      "recording",  "draw",       "drawing",   "diagram", "flowchart",     "sketch",
    "attached", "attachment", "screenshot", "link below", "this link", "url",     "website below", "listen",
    0,
};

int synth_is_blacklisted(const char *text) {
    for (int i = 0; BLACKLIST[i]; i++)
        if (has_word(text, BLACKLIST[i])) return 1;
    return 0;
}

// Refusals, and text about the request rather than the request.
static const char *META[] = {
    "as an ai",
    "language model",
    "i cannot",
    "i can't",
    "i'm sorry",
    "i am sorry",
    "sorry, but",
    "i'm unable",
    "i am unable",
    "here is a request",
    "here's a request",
    "here is the request",
    "here is a new request",
    "here's a new request",
    "new request:",
    "kind of request",
    "who is asking",
    "example request",
    "request 1",
    "original request",
    "your request",
    "i can help",
    "i'll be happy",
    "i would be happy",
    "no problem",
    "you write realistic",
    "difficulty:",
    "length:",
    "format:",
    "you can rewrite",
    "rewritten version",
    "i'm here to help",
    "i am here to help",
    "i'm ready to help",
    "can i assist",
    "can i help",
    "helpful ai",
    "smollm",
    "the response?",
    "the request is",
    "this is a request",
    "new request is",
    "this request",
    "i'm an ai",
    "i am an ai",
    "<|",
    "|>",
    0,
};

int synth_is_meta(const char *text) {
    for (int i = 0; META[i]; i++)
        if (strcasestr(text, META[i])) return 1;
    return 0;
}

void synth_filter_build(SynthFilter *f, int min_words, int max_words, double threshold, int use_blacklist) {
    memset(f, 0, sizeof *f);
    f->min_words = min_words, f->max_words = max_words, f->threshold = threshold, f->use_blacklist = use_blacklist;
    minhash_init(&f->mh, 128, 0x5eed);
    lsh_params(threshold, 128, &f->bands, &f->rows);
    f->index = near_dup_create(128, f->bands, f->rows, threshold);
}

void synth_filter_free(SynthFilter *f) {
    minhash_free(&f->mh);
    near_dup_free(f->index);
    free(f->exact);
    memset(f, 0, sizeof *f);
}

// exact set: a sorted array (prompt corpora are thousands, not billions)
static int exact_insert(SynthFilter *f, uint64_t h) {
    int64_t lo = 0, hi = f->n_exact;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (f->exact[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < f->n_exact && f->exact[lo] == h) return 0;
    if (f->n_exact == f->cap_exact) {
        f->cap_exact = 2 * f->cap_exact + 64;
        f->exact = xrealloc(f->exact, (size_t)f->cap_exact * sizeof(uint64_t));
    }
    memmove(f->exact + lo + 1, f->exact + lo, (size_t)(f->n_exact - lo) * sizeof(uint64_t));
    f->exact[lo] = h;
    f->n_exact++;
    return 1;
}

static double repeated_share(const char *text, size_t len) {
    TextStats st;
    text_stats(text, len, &st);
    return st.trigrams ? (double)st.repeated_trigrams / (double)st.trigrams : 0.0;
}

SynthReason synth_filter_check(SynthFilter *f, const char *text, char **clean) {
    *clean = NULL;
    size_t len;
    char *norm = text_normalise(text, strlen(text), &len);
    if (!norm) return SYNTH_INVALID_UTF8;
    if (len == 0) {
        free(norm);
        return SYNTH_EMPTY;
    }
    uint64_t *words;
    size_t n_words = text_word_ids(norm, len, &words);
    SynthReason reason = SYNTH_KEEP;
    if ((int)n_words < f->min_words)
        reason = SYNTH_TOO_SHORT;
    else if (f->max_words > 0 && (int)n_words > f->max_words)
        reason = SYNTH_TOO_LONG;
    else if (repeated_share(norm, len) > 0.2)
        reason = SYNTH_REPETITIVE;
    else if (f->use_blacklist && synth_is_blacklisted(norm))
        reason = SYNTH_BLACKLISTED;
    else if (synth_is_meta(norm))
        reason = SYNTH_META;
    else if (!exact_insert(f, hash64(words, n_words * sizeof(uint64_t), 0x9e37)))
        reason = SYNTH_DUPLICATE;
    else {
        uint64_t sig[128];
        size_t n_sh = shingles_from_words(words, n_words);
        minhash_signature(&f->mh, words, n_sh, sig);
        int64_t item = near_dup_add(f->index, sig);
        if (near_dup_root(f->index, item) != item) reason = SYNTH_NEAR_DUPLICATE;
    }
    free(words);
    if (reason == SYNTH_KEEP)
        *clean = norm;
    else
        free(norm);
    return reason;
}
