// records.c: see records.h. Record files go through data/jsonl.c; this file adds plain
// text (a whole file, or its blank-line-separated paragraphs) and picks the text field.
#include "records.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/line_reader.h"
#include "jsonl.h"

struct RecordReader {
    char *path, *field;
    int split_paragraphs;
    JsonlReader *jsonl; // record files
    LineReader *lines;  // .txt
    long line;
    char *doc; // the current document
    size_t doc_cap;
};

RecordReader *records_open(const char *path, const char *field, int split_paragraphs) {
    RecordReader *r = xcalloc(1, sizeof *r);
    r->path = xstrdup(path);
    r->field = xstrdup(field ? field : "text");
    r->split_paragraphs = split_paragraphs;
    if (jsonl_is_jsonl_path(path)) {
        r->jsonl = jsonl_open(path);
        return r;
    }
    if (str_ends_with(path, ".zst")) fail("%s: compressed input must be .jsonl.zst (one JSON object per line)", path);
    r->lines = line_reader_open(path, 0);
    return r;
}

static void doc_set(RecordReader *r, const char *text, size_t len, size_t at) {
    if (at + len + 1 > r->doc_cap) {
        r->doc_cap = (at + len + 1) * 2;
        r->doc = xrealloc(r->doc, r->doc_cap);
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
            fail("%s:%ld: field '%s' missing or not a string (choose the field that holds the text)", r->path, r->line,
                 r->field);
        if (jsonl_invalid_utf8(r->jsonl))
            fail("%s:%ld: the line is not valid UTF-8; clean the file first (strap data clean drops such records)",
                 r->path, r->line);
        doc_set(r, json_string_value(v), json_string_length(v), 0);
        *len = json_string_length(v);
        *text = r->doc;
        json_decref(obj);
        return 1;
    }
    if (!r->split_paragraphs) { // the whole file is one document
        size_t n;
        char *all = line_reader_rest(r->lines, &n);
        if (!all) return 0;
        doc_set(r, all, n, 0);
        *text = r->doc;
        *len = n;
        r->line = 1;
        return 1;
    }
    size_t doc_len = 0; // paragraphs: runs of non-blank lines
    int have = 0;
    char *line;
    size_t n;
    while (line_reader_next(r->lines, &line, &n)) {
        r->line = line_reader_line(r->lines);
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
    line_reader_close(r->lines);
    free(r->doc);
    free(r->path);
    free(r->field);
    free(r);
}
