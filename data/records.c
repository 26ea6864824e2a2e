// records.c: see records.h.
#include "records.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "../kernels/check.h"

typedef enum { KIND_TXT, KIND_JSONL, KIND_JSONL_ZST } Kind;

struct RecordReader {
    char *path, *field;
    Kind kind;
    int split_paragraphs;
    FILE *f;
    long line;
    // decoded bytes not yet consumed
    char *buf;
    size_t buf_len, buf_pos, buf_cap;
    int eof;
    // zstd
    ZSTD_DCtx *dctx;
    void *zin;
    size_t zin_cap;
    ZSTD_inBuffer in;
    size_t last_ret;
    // the current document
    char *doc;
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
    if (ends_with(path, ".jsonl.zst") || ends_with(path, ".json.zst")) r->kind = KIND_JSONL_ZST;
    else if (ends_with(path, ".jsonl") || ends_with(path, ".json")) r->kind = KIND_JSONL;
    else if (ends_with(path, ".zst")) fail("%s: compressed input must be .jsonl.zst (one JSON object per line)", path);
    else r->kind = KIND_TXT;
    r->f = fopen(path, "rb");
    if (!r->f) fail("cannot read %s: %s", path, strerror(errno));
    r->buf_cap = 1 << 20;
    r->buf = xmalloc(r->buf_cap);
    if (r->kind == KIND_JSONL_ZST) {
        r->dctx = ZSTD_createDCtx();
        r->zin_cap = ZSTD_DStreamInSize();
        r->zin = xmalloc(r->zin_cap);
        r->in = (ZSTD_inBuffer){r->zin, 0, 0};
    }
    return r;
}

// Appends more decoded bytes to buf; returns 0 at end of input.
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
    if (r->kind != KIND_JSONL_ZST) {
        size_t got = fread(r->buf + r->buf_len, 1, r->buf_cap - r->buf_len, r->f);
        if (got == 0) {
            if (ferror(r->f)) fail("cannot read %s: %s", r->path, strerror(errno));
            r->eof = 1;
            return 0;
        }
        r->buf_len += got;
        return 1;
    }
    for (;;) {
        if (r->in.pos == r->in.size) {
            size_t got = fread(r->zin, 1, r->zin_cap, r->f);
            if (got == 0) {
                if (ferror(r->f)) fail("cannot read %s: %s", r->path, strerror(errno));
                if (r->last_ret != 0) fail("%s: truncated zstd stream (the file ends inside a frame)", r->path);
                r->eof = 1;
                return 0;
            }
            r->in = (ZSTD_inBuffer){r->zin, got, 0};
        }
        ZSTD_outBuffer out = {r->buf + r->buf_len, r->buf_cap - r->buf_len, 0};
        size_t ret = ZSTD_decompressStream(r->dctx, &out, &r->in);
        if (ZSTD_isError(ret)) fail("%s: corrupt zstd data near line %ld (%s)", r->path, r->line + 1, ZSTD_getErrorName(ret));
        r->last_ret = ret;
        r->buf_len += out.pos;
        if (out.pos > 0) return 1;
    }
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

static void doc_set(RecordReader *r, const char *text, size_t len, int append) {
    size_t at = append ? strlen(r->doc) : 0;
    if (at + len + 2 > r->doc_cap) {
        r->doc_cap = (at + len + 2) * 2;
        r->doc = realloc(r->doc, r->doc_cap);
        CHECK(r->doc != NULL, "out of memory");
    }
    memcpy(r->doc + at, text, len);
    r->doc[at + len] = '\0';
}

int records_next(RecordReader *r, const char **text, size_t *len) {
    char *line;
    size_t n;
    if (r->kind == KIND_TXT && !r->split_paragraphs) {
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
    if (r->kind == KIND_TXT) { // paragraphs: runs of non-blank lines
        size_t doc_len = 0;
        int have = 0;
        while (next_line(r, &line, &n)) {
            int blank = 1;
            for (size_t i = 0; i < n && blank; i++) blank = line[i] == ' ' || line[i] == '\t' || line[i] == '\r';
            if (blank) {
                if (have) break;
                continue;
            }
            if (have) {
                doc_set(r, "\n", 1, 1);
                doc_len++;
            }
            doc_set(r, line, n, have);
            doc_len += n;
            have = 1;
        }
        if (!have) return 0;
        *text = r->doc;
        *len = doc_len;
        return 1;
    }
    for (;;) {
        if (!next_line(r, &line, &n)) return 0;
        size_t i = 0;
        while (i < n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) i++;
        if (i == n) continue; // blank line
        json_error_t err;
        json_t *obj = json_loadb(line, n, JSON_ALLOW_NUL, &err);
        if (!obj) fail("%s:%ld: invalid JSON: %s (column %d)", r->path, r->line, err.text, err.column);
        if (!json_is_object(obj)) fail("%s:%ld: expected a JSON object per line", r->path, r->line);
        json_t *v = json_object_get(obj, r->field);
        if (!json_is_string(v)) fail("%s:%ld: field '%s' missing or not a string (choose the field with --field)", r->path, r->line, r->field);
        doc_set(r, json_string_value(v), json_string_length(v), 0);
        *len = json_string_length(v);
        *text = r->doc;
        json_decref(obj);
        return 1;
    }
}

long records_line(const RecordReader *r) { return r->line; }

void records_close(RecordReader *r) {
    if (!r) return;
    fclose(r->f);
    if (r->dctx) ZSTD_freeDCtx(r->dctx);
    free(r->zin);
    free(r->buf);
    free(r->doc);
    free(r->path);
    free(r->field);
    free(r);
}
