// records.c: see records.h. Record files go through data/jsonl.c; this file adds plain
// text (a whole file, or its blank-line-separated paragraphs) and picks the text field.
#include "records.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/check.h"
#include "jsonl.h"

struct RecordReader {
    char *path, *field;
    int split_paragraphs;
    JsonlReader *jsonl; // record files
    FILE *f;            // .txt
    long line;
    char *buf; // .txt: unread bytes
    size_t buf_len, buf_pos, buf_cap;
    int eof;
    char *doc; // the current document
    size_t doc_cap;
};

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

RecordReader *records_open(const char *path, const char *field, int split_paragraphs) {
    RecordReader *r = xcalloc(1, sizeof *r);
    r->path = strdup(path);
    r->field = strdup(field ? field : "text");
    r->split_paragraphs = split_paragraphs;
    if (jsonl_is_jsonl_path(path)) {
        r->jsonl = jsonl_open(path);
        return r;
    }
    if (ends_with(path, ".zst")) fail("%s: compressed input must be .jsonl.zst (one JSON object per line)", path);
    r->f = fopen(path, "rb");
    if (!r->f) fail("cannot read %s: %s", path, strerror(errno));
    r->buf_cap = 1 << 20;
    r->buf = xmalloc(r->buf_cap);
    return r;
}

// Appends more of the .txt file to buf; returns 0 at the end of the file.
static int fill(RecordReader *r) {
    if (r->eof) return 0;
    if (r->buf_pos > 0) { // compact
        memmove(r->buf, r->buf + r->buf_pos, r->buf_len - r->buf_pos);
        r->buf_len -= r->buf_pos;
        r->buf_pos = 0;
    }
    if (r->buf_cap - r->buf_len < (1 << 16)) {
        r->buf_cap *= 2;
        r->buf = realloc(r->buf, r->buf_cap);
        CHECK(r->buf != NULL, "out of memory");
    }
    size_t got = fread(r->buf + r->buf_len, 1, r->buf_cap - r->buf_len, r->f);
    if (got == 0) {
        if (ferror(r->f)) fail("cannot read %s: %s", r->path, strerror(errno));
        r->eof = 1;
        return 0;
    }
    r->buf_len += got;
    return 1;
}

// Next line without its '\n' (NUL-terminated in place); 0 at the end.
static int next_line(RecordReader *r, char **line, size_t *len) {
    for (;;) {
        char *start = r->buf + r->buf_pos;
        char *nl = memchr(start, '\n', r->buf_len - r->buf_pos);
        if (nl) {
            *nl = '\0';
            *line = start;
            *len = (size_t)(nl - start);
            r->buf_pos += *len + 1;
            r->line++;
            return 1;
        }
        if (!fill(r)) {
            if (r->buf_pos < r->buf_len) { // last line without '\n'
                if (r->buf_len == r->buf_cap) r->buf = realloc(r->buf, ++r->buf_cap);
                CHECK(r->buf != NULL, "out of memory");
                r->buf[r->buf_len] = '\0';
                *line = r->buf + r->buf_pos;
                *len = r->buf_len - r->buf_pos;
                r->buf_pos = r->buf_len;
                r->line++;
                return 1;
            }
            return 0;
        }
    }
}

static void doc_set(RecordReader *r, const char *text, size_t len, size_t at) {
    if (at + len + 1 > r->doc_cap) {
        r->doc_cap = (at + len + 1) * 2;
        r->doc = realloc(r->doc, r->doc_cap);
        CHECK(r->doc != NULL, "out of memory");
    }
    memcpy(r->doc + at, text, len);
    r->doc[at + len] = '\0';
}

int records_next(RecordReader *r, const char **text, size_t *len) {
    if (r->jsonl) {
        json_t *obj;
        if (!jsonl_next(r->jsonl, &obj)) return 0;
        r->line = jsonl_line(r->jsonl);
        json_t *v = json_object_get(obj, r->field);
        if (!json_is_string(v))
            fail("%s:%ld: field '%s' missing or not a string (choose the field with --field)", r->path, r->line, r->field);
        if (jsonl_invalid_utf8(r->jsonl))
            fail("%s:%ld: the line is not valid UTF-8; clean the file first (strap data clean drops such records)", r->path,
                 r->line);
        doc_set(r, json_string_value(v), json_string_length(v), 0);
        *len = json_string_length(v);
        *text = r->doc;
        json_decref(obj);
        return 1;
    }
    if (!r->split_paragraphs) { // the whole file is one document
        if (r->eof && r->buf_len == 0) return 0;
        while (fill(r)) {}
        if (r->buf_len == 0) return 0;
        doc_set(r, r->buf, r->buf_len, 0);
        *text = r->doc;
        *len = r->buf_len;
        r->buf_len = r->buf_pos = 0;
        r->line = 1;
        return 1;
    }
    size_t doc_len = 0; // paragraphs: runs of non-blank lines
    int have = 0;
    char *line;
    size_t n;
    while (next_line(r, &line, &n)) {
        int blank = 1;
        for (size_t i = 0; i < n && blank; i++) blank = line[i] == ' ' || line[i] == '\t' || line[i] == '\r';
        if (blank) {
            if (have) break;
            continue;
        }
        if (have) doc_set(r, "\n", 1, doc_len++);
        doc_set(r, line, n, doc_len);
        doc_len += n;
        have = 1;
    }
    if (!have) return 0;
    *text = r->doc;
    *len = doc_len;
    return 1;
}

long records_line(const RecordReader *r) { return r->line; }

void records_close(RecordReader *r) {
    if (!r) return;
    if (r->jsonl) jsonl_close(r->jsonl);
    if (r->f) fclose(r->f);
    free(r->buf);
    free(r->doc);
    free(r->path);
    free(r->field);
    free(r);
}
