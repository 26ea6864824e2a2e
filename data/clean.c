// clean.c: see clean.h.
#include "clean.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "../base/check.h"
#include "../base/hash64.h"
#include "../base/io.h"
#include "../base/json_file.h"
#include "../base/progress.h"
#include "jsonl.h"
#include "minhash.h"
#include "records_writer.h"

#define BATCH         1024 // records cleaned in parallel at a time
#define EXAMPLES      3    // examples per reason in the report
#define EXAMPLE_CHARS 200  // code points of each example's text
#define MINHASH_SEED  0x6d696e6861736821ULL
#define EXACT_SEED    0x6578616374646564ULL

// Records of a batch are independent: clean them on all threads (the results are merged
// in input order, so the output does not depend on the thread count).
#ifdef _OPENMP
#define PARALLEL_FOR_RECORDS _Pragma("omp parallel for schedule(dynamic, 4)")
#else
#define PARALLEL_FOR_RECORDS
#endif

void clean_options_defaults(CleanOptions *o) {
    memset(o, 0, sizeof *o);
    o->field = "text";
    text_filter_defaults(&o->filter);
    o->exact_dedup = 1;
    o->near_dedup = 1;
    o->perm = 128;
    o->threshold = 0.8f;
    o->progress = 1;
}

// ---- small containers ----

// What happens to one input record.
typedef struct {
    uint8_t reason; // CleanReason
    int64_t dup_of; // the kept record a duplicate repeats, -1 otherwise
    int64_t item;   // its item in the near-duplicate index, -1 if not indexed
} Fate;

// Cleaned-text hash -> the first record with that text.
typedef struct {
    uint64_t *keys;
    int64_t *values; // -1: empty slot
    size_t cap, used;
} HashMap;

static void map_init(HashMap *m) {
    m->cap = 1024;
    m->used = 0;
    m->keys = xmalloc(m->cap * sizeof *m->keys);
    m->values = xmalloc(m->cap * sizeof *m->values);
    for (size_t i = 0; i < m->cap; i++) m->values[i] = -1;
}

static size_t map_slot(const HashMap *m, uint64_t key) {
    size_t i = (size_t)(key >> 11) & (m->cap - 1);
    while (m->values[i] >= 0 && m->keys[i] != key) i = (i + 1) & (m->cap - 1);
    return i;
}

// The value stored under key, or -1 after storing `value` there.
static int64_t map_get_or_put(HashMap *m, uint64_t key, int64_t value) {
    size_t i = map_slot(m, key);
    if (m->values[i] >= 0) return m->values[i];
    m->keys[i] = key;
    m->values[i] = value;
    if (2 * ++m->used > m->cap) {
        HashMap old = *m;
        m->cap *= 2;
        m->keys = xmalloc(m->cap * sizeof *m->keys);
        m->values = xmalloc(m->cap * sizeof *m->values);
        for (size_t j = 0; j < m->cap; j++) m->values[j] = -1;
        for (size_t j = 0; j < old.cap; j++) {
            if (old.values[j] < 0) continue;
            size_t s = map_slot(m, old.keys[j]);
            m->keys[s] = old.keys[j];
            m->values[s] = old.values[j];
        }
        free(old.keys);
        free(old.values);
    }
    return -1;
}

static void map_free(HashMap *m) {
    free(m->keys);
    free(m->values);
}

typedef struct {
    char *p;
    size_t n, cap;
} Line;

static void line_put(Line *l, const void *s, size_t k) {
    if (l->n + k + 1 > l->cap) {
        l->cap = (l->n + k + 1) * 2;
        l->p = xrealloc(l->p, l->cap);
        CHECK(l->p != NULL, "out of memory");
    }
    memcpy(l->p + l->n, s, k);
    l->n += k;
}

// ---- a batch of records read together, then parsed and cleaned in parallel ----

typedef struct {
    int n;
    char *lines; // the raw lines, each NUL-terminated, at offsets off[k]
    size_t lines_len, lines_cap;
    size_t off[BATCH], raw_len[BATCH];
    long line[BATCH];
    json_t *obj[BATCH];
    char *fixed[BATCH]; // the line with invalid UTF-8 replaced, or NULL
    size_t fixed_len[BATCH];
    int invalid_utf8[BATCH];
    char *error[BATCH];      // why the line cannot be used (malloc'd), or NULL
    const char *text[BATCH]; // the field's value (inside obj)
    size_t len[BATCH];
    CleanResult res[BATCH];
    uint64_t *sigs; // [BATCH][perm]
    int has_sig[BATCH];
} Batch;

// Reads up to BATCH non-blank lines (unparsed).
static int read_batch(JsonlReader *r, Batch *b) {
    b->n = 0;
    b->lines_len = 0;
    const char *line;
    size_t n;
    while (b->n < BATCH && jsonl_next_line(r, &line, &n)) {
        if (b->lines_len + n + 1 > b->lines_cap) {
            b->lines_cap = (b->lines_len + n + 1) * 2;
            b->lines = xrealloc(b->lines, b->lines_cap);
            CHECK(b->lines != NULL, "out of memory");
        }
        int k = b->n++;
        b->off[k] = b->lines_len;
        b->raw_len[k] = n;
        b->line[k] = jsonl_line(r);
        memcpy(b->lines + b->lines_len, line, n);
        b->lines[b->lines_len + n] = '\0';
        b->lines_len += n + 1;
    }
    return b->n;
}

// The line as written to --dropped / spliced for the output: the repaired one if it was not UTF-8.
static const char *raw_line(const Batch *b, int k, size_t *len) {
    *len = b->fixed[k] ? b->fixed_len[k] : b->raw_len[k];
    return b->fixed[k] ? b->fixed[k] : b->lines + b->off[k];
}

// Parses line k and finds its text field (thread-safe); failures go to b->error[k].
static void parse_record(Batch *b, int k, const char *field) {
    char err[320];
    b->obj[k] = jsonl_parse(b->lines + b->off[k], b->raw_len[k], &b->invalid_utf8[k], &b->fixed[k], &b->fixed_len[k],
                            err, sizeof err);
    b->text[k] = NULL;
    b->len[k] = 0;
    if (b->obj[k]) {
        json_t *v = json_object_get(b->obj[k], field);
        if (json_is_string(v)) {
            b->text[k] = json_string_value(v);
            b->len[k] = json_string_length(v);
            return;
        }
        snprintf(err, sizeof err, "field '%s' missing or not a string (choose the field that holds the text)", field);
    }
    b->error[k] = strdup(err);
}

// The first unusable line of the batch (in input order) stops the run.
static void check_batch(const Batch *b, const char *path) {
    for (int k = 0; k < b->n; k++)
        if (b->error[k]) fail("%s:%ld: %s", path, b->line[k], b->error[k]);
}

static void release_batch(Batch *b) {
    for (int k = 0; k < b->n; k++) {
        json_decref(b->obj[k]);
        b->obj[k] = NULL;
        clean_result_free(&b->res[k]);
        free(b->fixed[k]);
        free(b->error[k]);
        b->fixed[k] = b->error[k] = NULL;
    }
    b->n = 0;
}

// ---- writing ----

// The kept record: its line as read with the text field's value replaced.
static void write_kept(RecordsWriter *w, Batch *b, int k, const char *field, Line *line) {
    const CleanResult *res = &b->res[k];
    json_t *s = json_stringn(res->text, res->len);
    CHECK(s != NULL, "cleaned text is not valid UTF-8 (record at line %ld)", b->line[k]);
    size_t vs, ve, n;
    const char *raw = raw_line(b, k, &n);
    if (jsonl_field_span(raw, n, field, &vs, &ve)) {
        char *encoded = json_dumps(s, JSON_ENCODE_ANY | JSON_COMPACT);
        CHECK(encoded != NULL, "out of memory");
        line->n = 0;
        line_put(line, raw, vs);
        line_put(line, encoded, strlen(encoded));
        line_put(line, raw + ve, n - ve);
        records_writer_write_line(w, line->p, line->n);
        free(encoded);
        json_decref(s);
    } else { // the key is spelled with escapes: re-encode the whole record
        json_object_set_new(b->obj[k], field, s);
        records_writer_write(w, b->obj[k]);
    }
}

// A removed record: as read, plus "drop_reason" and "duplicate_of".
static void write_dropped(RecordsWriter *w, Batch *b, int k, const Fate *f, Line *line) {
    size_t n;
    const char *raw = raw_line(b, k, &n);
    const char *reason = clean_reason_name((CleanReason)f->reason);
    json_t *obj = b->obj[k];
    if (n >= 2 && raw[n - 1] == '}' && !json_object_get(obj, "drop_reason") && !json_object_get(obj, "duplicate_of")) {
        char extra[96];
        if (f->dup_of >= 0)
            snprintf(extra, sizeof extra, ",\"drop_reason\":\"%s\",\"duplicate_of\":%lld}", reason,
                     (long long)f->dup_of);
        else
            snprintf(extra, sizeof extra, ",\"drop_reason\":\"%s\"}", reason);
        line->n = 0;
        line_put(line, raw, n - 1);
        line_put(line, extra, strlen(extra));
        records_writer_write_line(w, line->p, line->n);
        return;
    }
    json_object_set_new(obj, "drop_reason", json_string(reason));
    if (f->dup_of >= 0)
        json_object_set_new(obj, "duplicate_of", json_integer(f->dup_of));
    else
        json_object_del(obj, "duplicate_of");
    records_writer_write(w, obj);
}

// ---- the report ----

static json_t *real(double x) { // 0.8f -> 0.8, not 0.800000011920929
    char s[32];
    snprintf(s, sizeof s, "%.6g", x);
    return json_real(strtod(s, NULL));
}

static json_t *example(const Batch *b, int k, int64_t index, const Fate *f) {
    const char *t = b->text[k];
    size_t len = b->len[k], end = 0;
    for (int chars = 0; end < len && chars < EXAMPLE_CHARS; chars++) { // whole code points
        end++;
        while (end < len && ((unsigned char)t[end] & 0xC0) == 0x80) end++;
    }
    json_t *e = json_object();
    json_object_set_new(e, "index", json_integer(index));
    json_object_set_new(e, "line", json_integer(b->line[k]));
    if (f->dup_of >= 0) json_object_set_new(e, "duplicate_of", json_integer(f->dup_of));
    json_t *s = json_stringn(t, end);
    json_object_set_new(e, "text", s ? s : json_string("(not UTF-8)"));
    if (end < len) json_object_set_new(e, "truncated", json_true());
    return e;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static json_t *build_report(const CleanOptions *o, const CleanStats *st, json_t *examples, json_t *cluster_sizes) {
    json_t *r = json_object();
    json_object_set_new(r, "input", json_string(o->input));
    json_object_set_new(r, "output", json_string(o->output));
    json_object_set_new(r, "dropped", o->dropped ? json_string(o->dropped) : json_null());
    json_object_set_new(r, "field", json_string(o->field));
    json_object_set_new(r, "records_in", json_integer(st->records_in));
    json_object_set_new(r, "records_out", json_integer(st->records_out));
    json_object_set_new(r, "removed_total", json_integer(st->removed_total));
    json_t *removed = json_object();
    for (int k = 1; k < CLEAN_N_REASONS; k++)
        json_object_set_new(removed, clean_reason_name((CleanReason)k), json_integer(st->removed[k]));
    json_object_set_new(r, "removed", removed);
    json_t *rep = json_object();
    json_object_set_new(rep, "normalised", json_integer(st->normalised));
    json_object_set_new(rep, "markers_stripped", json_integer(st->markers_stripped));
    json_object_set_new(rep, "fences_closed", json_integer(st->fences_closed));
    json_object_set_new(rep, "cut_offs_trimmed", json_integer(st->cut_offs_trimmed));
    json_object_set_new(r, "repaired_in_output", rep);
    json_object_set_new(r, "text_bytes_in", json_integer(st->text_bytes_in));
    json_object_set_new(r, "text_bytes_out", json_integer(st->text_bytes_out));
    json_t *fl = json_object();
    json_object_set_new(fl, "min_chars", json_integer(o->filter.min_chars));
    json_object_set_new(fl, "max_chars", json_integer(o->filter.max_chars));
    json_object_set_new(fl, "min_words", json_integer(o->filter.min_words));
    json_object_set_new(fl, "max_repeat", real(o->filter.max_repeat));
    json_object_set_new(fl, "max_non_printable", real(o->filter.max_non_printable));
    json_object_set_new(r, "filters", fl);
    json_object_set_new(r, "exact_dedup", json_boolean(o->exact_dedup));
    json_t *nd = json_object();
    json_object_set_new(nd, "enabled", json_boolean(o->near_dedup));
    json_object_set_new(nd, "perm", json_integer(o->perm));
    json_object_set_new(nd, "threshold", real(o->threshold));
    json_object_set_new(nd, "shingle_words", json_integer(MINHASH_SHINGLE_WORDS));
    json_object_set_new(nd, "bands", json_integer(st->bands));
    json_object_set_new(nd, "rows", json_integer(st->rows));
    json_object_set_new(nd, "candidate_pairs", json_integer(st->candidate_pairs));
    json_object_set_new(nd, "confirmed_pairs", json_integer(st->confirmed_pairs));
    json_object_set_new(nd, "clusters", json_integer(st->clusters));
    json_object_set_new(nd, "clustered_records", json_integer(st->clustered_records));
    json_object_set_new(nd, "largest_cluster", json_integer(st->largest_cluster));
    json_object_set_new(nd, "cluster_sizes", cluster_sizes);
    json_object_set_new(r, "near_dedup", nd);
    json_object_set_new(r, "examples", examples);
    return r;
}

// ---- the pipeline ----

// Fails now, not after a whole pass over the input, if `path` cannot be created.
static void check_writable(const char *path, const char *what) {
    char *copy = strdup(path);
    CHECK(copy != NULL, "out of memory");
    const char *dir = dirname(copy);
    if (!is_directory(dir)) fail("cannot write %s %s: directory %s does not exist (create it first)", what, path, dir);
    if (access(dir, W_OK) != 0) fail("cannot write %s %s: directory %s is not writable", what, path, dir);
    if (is_directory(path)) fail("cannot write %s %s: it is a directory", what, path);
    free(copy);
}

static void progress_extra(char *s, size_t n, int64_t records, int64_t kept) {
    snprintf(s, n, "%lld records, %lld kept", (long long)records, (long long)kept);
}

// Pass 1: the fate of every record (kept, or why not), in input order: the first of
// duplicates is kept. *item_record_out maps near-dup index items to records.
static Fate *decide_fates(const CleanOptions *o, CleanStats *st, const char *field, MinHash *mh, NearDupIndex *nd,
                          HashMap *exact, Batch *b, int64_t **item_record_out) {
    Fate *fates = NULL;
    int64_t fates_cap = 0, *item_record = NULL, items_cap = 0, kept1 = 0;
    char extra[96];
    JsonlReader *r = jsonl_open(o->input);
    Progress p;
    if (o->progress) progress_start(&p, "clean: reading", jsonl_file_size(r));
    while (read_batch(r, b) > 0) {
        const int n = b->n;
        PARALLEL_FOR_RECORDS
        for (int k = 0; k < n; k++) {
            CleanResult *res = &b->res[k];
            memset(res, 0, sizeof *res);
            b->has_sig[k] = 0;
            parse_record(b, k, field);
            if (b->error[k]) continue;
            if (b->invalid_utf8[k]) {
                res->reason = CLEAN_INVALID_UTF8;
                continue;
            }
            text_clean(&o->filter, b->text[k], b->len[k], res);
            if (res->reason != CLEAN_KEEP || !o->near_dedup) continue;
            size_t ns = shingles_from_words(res->word_ids, res->n_words);
            if (ns > 0) {
                minhash_signature(mh, res->word_ids, ns, b->sigs + (size_t)k * o->perm);
                b->has_sig[k] = 1;
            }
        }
        check_batch(b, o->input);
        for (int k = 0; k < n; k++) { // in input order: the first of duplicates is kept
            const int64_t index = st->records_in++;
            if (index == fates_cap) {
                fates_cap = fates_cap ? 2 * fates_cap : 4096;
                fates = xrealloc(fates, (size_t)fates_cap * sizeof *fates);
                CHECK(fates != NULL, "out of memory (%lld records)", (long long)fates_cap);
            }
            const CleanResult *res = &b->res[k];
            Fate f = {(uint8_t)res->reason, -1, -1};
            st->text_bytes_in += (int64_t)b->len[k];
            if (f.reason == CLEAN_KEEP && o->exact_dedup) {
                int64_t first = map_get_or_put(exact, hash64(res->text, res->len, EXACT_SEED), index);
                if (first >= 0) f.reason = CLEAN_EXACT_DUPLICATE, f.dup_of = first;
            }
            if (f.reason == CLEAN_KEEP && b->has_sig[k]) {
                f.item = near_dup_add(nd, b->sigs + (size_t)k * o->perm);
                if (f.item == items_cap) {
                    items_cap = items_cap ? 2 * items_cap : 4096;
                    item_record = xrealloc(item_record, (size_t)items_cap * sizeof *item_record);
                    CHECK(item_record != NULL, "out of memory");
                }
                item_record[f.item] = index;
            }
            kept1 += f.reason == CLEAN_KEEP;
            fates[index] = f;
        }
        release_batch(b);
        if (o->progress) {
            progress_extra(extra, sizeof extra, st->records_in, kept1);
            progress_update(&p, jsonl_bytes_read(r), extra);
        }
    }
    jsonl_close(r);
    if (o->progress) {
        progress_extra(extra, sizeof extra, st->records_in, kept1);
        progress_finish(&p, extra);
    }

    *item_record_out = item_record;
    return fates;
}

// Near-duplicate clusters: every member but the smallest is removed (fates updated); the
// counts go to st; returns {"2": clusters of 2, "3": ...}.
static json_t *near_dup_clusters(CleanStats *st, NearDupIndex *nd, Fate *fates, const int64_t *item_record) {
    int64_t n_items = near_dup_items(nd);
    int64_t *members = xcalloc((size_t)n_items + 1, sizeof *members);
    for (int64_t it = 0; it < n_items; it++) {
        int64_t root = near_dup_root(nd, it);
        members[root]++;
        if (root != it) {
            Fate *f = &fates[item_record[it]];
            f->reason = CLEAN_NEAR_DUPLICATE;
            f->dup_of = item_record[root];
        }
    }
    for (int64_t i = 0; i < st->records_in; i++) { // an exact copy of a near-duplicate: name the kept record
        Fate *f = &fates[i];
        if (f->reason == CLEAN_EXACT_DUPLICATE && fates[f->dup_of].reason == CLEAN_NEAR_DUPLICATE)
            f->dup_of = fates[f->dup_of].dup_of;
    }
    int64_t *sizes = xmalloc(((size_t)n_items + 1) * sizeof *sizes), n_sizes = 0;
    for (int64_t it = 0; it < n_items; it++) {
        if (members[it] < 2) continue;
        sizes[n_sizes++] = members[it];
        st->clustered_records += members[it];
        if (members[it] > st->largest_cluster) st->largest_cluster = members[it];
    }
    st->clusters = n_sizes;
    qsort(sizes, (size_t)n_sizes, sizeof *sizes, cmp_i64);
    json_t *cluster_sizes = json_object(); // {"2": count, "3": count, ...}
    for (int64_t i = 0; i < n_sizes;) {
        int64_t j = i;
        while (j < n_sizes && sizes[j] == sizes[i]) j++;
        char key[32];
        snprintf(key, sizeof key, "%lld", (long long)sizes[i]);
        json_object_set_new(cluster_sizes, key, json_integer(j - i));
        i = j;
    }
    free(sizes);
    free(members);
    st->candidate_pairs = near_dup_candidates(nd);
    st->confirmed_pairs = near_dup_confirmed(nd);
    return cluster_sizes;
}

// Pass 2: writes the kept records (cleaned again: cleaning is a pure function) and the
// removed ones; returns a few removed examples per reason.
static json_t *write_records(const CleanOptions *o, CleanStats *st, const char *field, Batch *b, const Fate *fates) {
    json_t *examples = json_object();
    for (int k = 1; k < CLEAN_N_REASONS; k++)
        if (st->removed[k] > 0) json_object_set_new(examples, clean_reason_name((CleanReason)k), json_array());
    JsonlReader *r = jsonl_open(o->input);
    RecordsWriter *out = records_writer_open(o->output);
    RecordsWriter *dropped = o->dropped ? records_writer_open(o->dropped) : NULL;
    Progress p;
    char extra[96];
    if (o->progress) progress_start(&p, "clean: writing", jsonl_file_size(r));
    Line line = {0};
    int64_t index0 = 0;
    while (read_batch(r, b) > 0) {
        const int n = b->n;
        if (index0 + n > st->records_in)
            fail("%s changed while it was being cleaned (more records on the second reading); run again", o->input);
        PARALLEL_FOR_RECORDS
        for (int k = 0; k < n; k++) {
            memset(&b->res[k], 0, sizeof b->res[k]);
            parse_record(b, k, field);
            if (!b->error[k] && fates[index0 + k].reason == CLEAN_KEEP)
                text_clean(&o->filter, b->text[k], b->len[k], &b->res[k]);
        }
        check_batch(b, o->input);
        for (int k = 0; k < n; k++) {
            const int64_t index = index0 + k;
            const Fate *f = &fates[index];
            if (f->reason == CLEAN_KEEP) {
                const CleanResult *res = &b->res[k];
                if (res->reason != CLEAN_KEEP || b->invalid_utf8[k])
                    fail("%s changed while it was being cleaned (line %ld differs on the second reading); run again",
                         o->input, b->line[k]);
                write_kept(out, b, k, field, &line);
                st->records_out++;
                st->text_bytes_out += (int64_t)res->len;
                st->normalised += res->normalised;
                st->markers_stripped += (res->repairs & REPAIR_MARKERS) != 0;
                st->fences_closed += (res->repairs & REPAIR_FENCE) != 0;
                st->cut_offs_trimmed += (res->repairs & REPAIR_CUT_OFF) != 0;
                continue;
            }
            json_t *list = json_object_get(examples, clean_reason_name((CleanReason)f->reason));
            if (list && json_array_size(list) < EXAMPLES) json_array_append_new(list, example(b, k, index, f));
            if (dropped) write_dropped(dropped, b, k, f, &line);
        }
        index0 += n;
        release_batch(b);
        if (o->progress) {
            progress_extra(extra, sizeof extra, index0, st->records_out);
            progress_update(&p, jsonl_bytes_read(r), extra);
        }
    }
    jsonl_close(r);
    if (index0 != st->records_in)
        fail("%s changed while it was being cleaned (%lld records, then %lld); run again", o->input,
             (long long)st->records_in, (long long)index0);
    if (o->progress) {
        progress_extra(extra, sizeof extra, index0, st->records_out);
        progress_finish(&p, extra);
    }
    records_writer_close(out);
    if (dropped) records_writer_close(dropped);
    free(line.p);

    return examples;
}

void clean_corpus(const CleanOptions *o, CleanStats *st) {
    memset(st, 0, sizeof *st);
    double t0 = now_seconds();
    json_object_seed(0); // before objects are made in several threads (jansson's one global)
    check_writable(o->output, "the output");
    if (o->dropped) check_writable(o->dropped, "the removed records");
    if (o->report) check_writable(o->report, "the report");
    const char *field = o->field ? o->field : "text";
    MinHash mh;
    minhash_init(&mh, o->perm, MINHASH_SEED);
    lsh_params(o->threshold, o->perm, &st->bands, &st->rows);
    NearDupIndex *nd = near_dup_create(o->perm, st->bands, st->rows, o->threshold);
    HashMap exact;
    map_init(&exact);
    Batch *b = xcalloc(1, sizeof *b);
    b->sigs = xmalloc((size_t)BATCH * (size_t)o->perm * sizeof *b->sigs);
    // pass 1: decide every record's fate
    int64_t *item_record;
    Fate *fates = decide_fates(o, st, field, &mh, nd, &exact, b, &item_record);
    json_t *cluster_sizes = near_dup_clusters(st, nd, fates, item_record);
    near_dup_free(nd);
    map_free(&exact);
    free(item_record);
    for (int64_t i = 0; i < st->records_in; i++) {
        st->removed[fates[i].reason]++;
        st->removed_total += fates[i].reason != CLEAN_KEEP;
    }
    st->removed[CLEAN_KEEP] = 0;
    json_t *examples = write_records(o, st, field, b, fates); // pass 2
    free(fates);
    free(b->sigs);
    free(b->lines);
    free(b);
    minhash_free(&mh);
    st->report = build_report(o, st, examples, cluster_sizes);
    if (o->report) json_write_atomic(o->report, st->report, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    st->seconds = now_seconds() - t0;
}

void clean_stats_free(CleanStats *st) {
    json_decref(st->report);
    st->report = NULL;
}

int clean_run(const CleanOptions *o) {
#ifdef _OPENMP
    if (o->threads > 0) omp_set_num_threads(o->threads);
#endif
    CleanStats st;
    clean_corpus(o, &st);
    printf("cleaned %s -> %s: %lld records in, %lld out, %lld removed (%.1fs)\n", o->input, o->output,
           (long long)st.records_in, (long long)st.records_out, (long long)st.removed_total, st.seconds);
    for (int k = 1; k < CLEAN_N_REASONS; k++)
        if (st.removed[k]) printf("  %-16s %lld\n", clean_reason_name((CleanReason)k), (long long)st.removed[k]);
    printf("repaired (in the output): %lld normalised, %lld with chat markers stripped, %lld code fences closed, "
           "%lld cut-off endings trimmed\n",
           (long long)st.normalised, (long long)st.markers_stripped, (long long)st.fences_closed,
           (long long)st.cut_offs_trimmed);
    if (o->near_dedup)
        printf("near-duplicates: MinHash %d permutations, LSH %d bands x %d rows for threshold %.2f: %lld candidate "
               "pairs, %lld clusters (largest %lld records), %lld records removed\n",
               o->perm, st.bands, st.rows, o->threshold, (long long)st.candidate_pairs, (long long)st.clusters,
               (long long)st.largest_cluster, (long long)st.removed[CLEAN_NEAR_DUPLICATE]);
    printf("text: %lld bytes in, %lld bytes out\n", (long long)st.text_bytes_in, (long long)st.text_bytes_out);
    if (o->report) printf("report: %s\n", o->report);
    if (o->dropped) printf("removed records: %s\n", o->dropped);
    clean_stats_free(&st);
    return 0;
}
