// jsonl.c: see jsonl.h. The buffering follows data/records.c: decoded bytes accumulate in
// a growing buffer and lines are cut out of it in place.
#include "jsonl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <utf8proc.h>
#include <zstd.h>

#include "../kernels/check.h"

struct JsonlReader {
    char *path;
    int zst;
    FILE *f;
    int64_t file_size, bytes_read;
    long line;
    // decoded bytes not yet consumed: buf[buf_pos, buf_len)
    char *buf;
    size_t buf_len, buf_pos, buf_cap;
    int eof;
    // zstd input
    ZSTD_DCtx *dctx;
    void *zin;
    size_t zin_cap;
    ZSTD_inBuffer in;
    size_t last_ret;
    // the last record
    const char *raw;
    size_t raw_len;
    int invalid_utf8;
    char *fixed; // the line with invalid UTF-8 replaced (when invalid_utf8)
};

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int is_zst_path(const char *path) { return ends_with(path, ".jsonl.zst") || ends_with(path, ".json.zst"); }

int jsonl_is_jsonl_path(const char *path) {
    return is_zst_path(path) || ends_with(path, ".jsonl") || ends_with(path, ".json");
}

JsonlReader *jsonl_open(const char *path) {
    if (!jsonl_is_jsonl_path(path))
        fail("%s: expected a .jsonl or .jsonl.zst file (one JSON object per line)", path);
    JsonlReader *r = xcalloc(1, sizeof *r);
    r->path = strdup(path);
    CHECK(r->path != NULL, "out of memory");
    r->zst = is_zst_path(path);
    r->f = fopen(path, "rb");
    if (!r->f) fail("cannot read %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(r->f), &st) == 0) r->file_size = (int64_t)st.st_size;
    r->buf_cap = 1 << 20;
    r->buf = xmalloc(r->buf_cap);
    if (r->zst) {
        r->dctx = ZSTD_createDCtx();
        CHECK(r->dctx != NULL, "out of memory (zstd)");
        r->zin_cap = ZSTD_DStreamInSize();
        r->zin = xmalloc(r->zin_cap);
        r->in = (ZSTD_inBuffer){r->zin, 0, 0};
    }
    return r;
}

// Appends more decoded bytes to buf; 0 at the end of the input.
static int fill(JsonlReader *r) {
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
    if (!r->zst) {
        size_t got = fread(r->buf + r->buf_len, 1, r->buf_cap - r->buf_len, r->f);
        if (got == 0) {
            if (ferror(r->f)) fail("cannot read %s: %s", r->path, strerror(errno));
            r->eof = 1;
            return 0;
        }
        r->bytes_read += (int64_t)got;
        r->buf_len += got;
        return 1;
    }
    for (;;) {
        if (r->in.pos == r->in.size) {
            size_t got = fread(r->zin, 1, r->zin_cap, r->f);
            if (got == 0) {
                if (ferror(r->f)) fail("cannot read %s: %s", r->path, strerror(errno));
                if (r->last_ret != 0)
                    fail("%s: truncated zstd stream (the file ends inside a frame after line %ld)", r->path, r->line);
                r->eof = 1;
                return 0;
            }
            r->bytes_read += (int64_t)got;
            r->in = (ZSTD_inBuffer){r->zin, got, 0};
        }
        ZSTD_outBuffer out = {r->buf + r->buf_len, r->buf_cap - r->buf_len, 0};
        size_t ret = ZSTD_decompressStream(r->dctx, &out, &r->in);
        if (ZSTD_isError(ret))
            fail("%s: corrupt zstd data near line %ld (%s)", r->path, r->line + 1, ZSTD_getErrorName(ret));
        r->last_ret = ret;
        r->buf_len += out.pos;
        if (out.pos > 0) return 1;
    }
}

// The next line without its '\n', NUL-terminated in place; 0 at the end.
static int next_line(JsonlReader *r, char **line, size_t *len) {
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
            if (r->buf_pos < r->buf_len) { // the last line has no '\n'
                if (r->buf_len == r->buf_cap) {
                    r->buf = realloc(r->buf, ++r->buf_cap);
                    CHECK(r->buf != NULL, "out of memory");
                }
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

typedef struct {
    char *p;
    size_t n, cap;
} Buf;

static void buf_put(Buf *b, const void *data, size_t k) {
    if (b->n + k + 1 > b->cap) {
        b->cap = (b->n + k + 1) * 2;
        b->p = realloc(b->p, b->cap);
        CHECK(b->p != NULL, "out of memory");
    }
    memcpy(b->p + b->n, data, k);
    b->n += k;
    b->p[b->n] = '\0';
}

static int hex4(const char *s, size_t avail, unsigned *v) {
    if (avail < 4) return 0;
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
        if (d == 16) return 0;
        *v = *v * 16 + d;
    }
    return 1;
}

// The line with invalid UTF-8 sequences replaced by U+FFFD and unpaired surrogate escapes
// replaced by \uFFFD (malloc'd), or NULL if there was nothing to replace.
static char *repair_utf8(const char *line, size_t len, size_t *out_len) {
    static const char REPLACEMENT[] = "\xef\xbf\xbd";
    Buf b = {0};
    int changed = 0, in_string = 0;
    buf_put(&b, "", 0);
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)line[i];
        if (c >= 0x80) {
            utf8proc_int32_t cp;
            utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)line + i, (utf8proc_ssize_t)(len - i), &cp);
            if (k < 0) {
                buf_put(&b, REPLACEMENT, 3);
                changed = 1;
                i++;
            } else {
                buf_put(&b, line + i, (size_t)k);
                i += (size_t)k;
            }
            continue;
        }
        if (c == '"') in_string = !in_string;
        if (in_string && c == '\\' && i + 1 < len) {
            unsigned v, w;
            if (line[i + 1] == 'u' && hex4(line + i + 2, len - i - 2, &v) && v >= 0xD800 && v <= 0xDFFF) {
                int paired = v <= 0xDBFF && i + 12 <= len && line[i + 6] == '\\' && line[i + 7] == 'u' &&
                             hex4(line + i + 8, 4, &w) && w >= 0xDC00 && w <= 0xDFFF;
                if (paired) {
                    buf_put(&b, line + i, 12);
                    i += 12;
                } else {
                    buf_put(&b, "\\uFFFD", 6);
                    changed = 1;
                    i += 6;
                }
                continue;
            }
            buf_put(&b, line + i, 2); // any other escape, including \" and \\.
            i += 2;
            continue;
        }
        buf_put(&b, line + i, 1);
        i++;
    }
    if (!changed) {
        free(b.p);
        return NULL;
    }
    *out_len = b.n;
    return b.p;
}

json_t *jsonl_parse(const char *line, size_t len, int *invalid_utf8, char **fixed, size_t *fixed_len, char *err,
                    size_t err_size) {
    *invalid_utf8 = 0;
    if (fixed) *fixed = NULL;
    json_error_t e;
    json_t *o = json_loadb(line, len, JSON_ALLOW_NUL, &e);
    if (!o) {
        size_t n = 0;
        char *repaired = repair_utf8(line, len, &n);
        if (repaired) {
            json_error_t e2;
            o = json_loadb(repaired, n, JSON_ALLOW_NUL, &e2);
            if (o) {
                *invalid_utf8 = 1;
                if (fixed) {
                    *fixed = repaired;
                    *fixed_len = n;
                    repaired = NULL;
                }
            }
            free(repaired);
        }
        if (!o) {
            snprintf(err, err_size, "invalid JSON: %s (column %d); fix or remove that line", e.text, e.column);
            return NULL;
        }
    }
    if (!json_is_object(o)) {
        json_decref(o);
        snprintf(err, err_size, "expected a JSON object on each line");
        return NULL;
    }
    return o;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

int jsonl_next_line(JsonlReader *r, const char **out, size_t *out_len) {
    char *line;
    size_t n;
    for (;;) {
        if (!next_line(r, &line, &n)) return 0;
        while (n > 0 && is_space(line[n - 1])) line[--n] = '\0';
        while (n > 0 && is_space(line[0])) line++, n--;
        if (n > 0) break; // blank lines are skipped
    }
    *out = line;
    *out_len = n;
    return 1;
}

int jsonl_next(JsonlReader *r, json_t **obj) {
    const char *line;
    size_t n, fixed_len = 0;
    if (!jsonl_next_line(r, &line, &n)) return 0;
    free(r->fixed);
    r->fixed = NULL;
    char err[256];
    json_t *o = jsonl_parse(line, n, &r->invalid_utf8, &r->fixed, &fixed_len, err, sizeof err);
    if (!o) fail("%s:%ld: %s", r->path, r->line, err);
    r->raw = r->fixed ? r->fixed : line;
    r->raw_len = r->fixed ? fixed_len : n;
    *obj = o;
    return 1;
}

long jsonl_line(const JsonlReader *r) { return r->line; }
const char *jsonl_path(const JsonlReader *r) { return r->path; }
int jsonl_invalid_utf8(const JsonlReader *r) { return r->invalid_utf8; }
int64_t jsonl_bytes_read(const JsonlReader *r) { return r->bytes_read; }
int64_t jsonl_file_size(const JsonlReader *r) { return r->file_size; }

const char *jsonl_raw(const JsonlReader *r, size_t *len) {
    *len = r->raw_len;
    return r->raw;
}

void jsonl_close(JsonlReader *r) {
    if (!r) return;
    fclose(r->f);
    if (r->dctx) ZSTD_freeDCtx(r->dctx);
    free(r->zin);
    free(r->buf);
    free(r->fixed);
    free(r->path);
    free(r);
}

// ---- locating a field's value in a raw line ----

static size_t skip_ws(const char *s, size_t i, size_t len) {
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    return i;
}

// s[i] == '"': returns the index just past the closing quote.
static size_t skip_string(const char *s, size_t i, size_t len) {
    for (i++; i < len; i++) {
        if (s[i] == '\\') i++;
        else if (s[i] == '"') return i + 1;
    }
    return len;
}

// Returns the index just past the value starting at s[i].
static size_t skip_value(const char *s, size_t i, size_t len) {
    if (i >= len) return len;
    if (s[i] == '"') return skip_string(s, i, len);
    if (s[i] == '{' || s[i] == '[') {
        int depth = 0;
        while (i < len) {
            char c = s[i];
            if (c == '"') {
                i = skip_string(s, i, len);
                continue;
            }
            if (c == '{' || c == '[') depth++;
            if (c == '}' || c == ']') {
                if (--depth == 0) return i + 1;
            }
            i++;
        }
        return len;
    }
    while (i < len && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' &&
           s[i] != '\n')
        i++;
    return i;
}

int jsonl_field_span(const char *s, size_t len, const char *key, size_t *start, size_t *end) {
    size_t klen = strlen(key), i = skip_ws(s, 0, len);
    int found = 0;
    if (i >= len || s[i] != '{') return 0;
    i++;
    for (;;) {
        i = skip_ws(s, i, len);
        if (i >= len || s[i] != '"') return found;
        size_t kstart = i + 1, kend = skip_string(s, i, len) - 1;
        int match = kend - kstart == klen && memcmp(s + kstart, key, klen) == 0;
        i = skip_ws(s, kend + 1, len);
        if (i >= len || s[i] != ':') return found;
        i = skip_ws(s, i + 1, len);
        size_t vend = skip_value(s, i, len);
        if (match) {
            *start = i;
            *end = vend;
            found = 1;
        }
        i = skip_ws(s, vend, len);
        if (i >= len || s[i] != ',') return found;
        i++;
    }
}
