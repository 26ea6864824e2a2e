// jsonl.c: see jsonl.h. The lines come from base/line_reader.h (plain or zstd).
#include "jsonl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/line_reader.h"

struct JsonlReader {
    char *path;
    LineReader *lines;
    // the last record
    const char *raw;
    size_t raw_len;
    int invalid_utf8;
    char *fixed; // the line with invalid UTF-8 replaced (when invalid_utf8)
};

static int is_zst_path(const char *path) {
    return str_ends_with(path, ".jsonl.zst") || str_ends_with(path, ".json.zst");
}

int jsonl_is_jsonl_path(const char *path) {
    return is_zst_path(path) || str_ends_with(path, ".jsonl") || str_ends_with(path, ".json");
}

JsonlReader *jsonl_open(const char *path) {
    if (!jsonl_is_jsonl_path(path)) fail("%s: expected a .jsonl or .jsonl.zst file (one JSON object per line)", path);
    JsonlReader *r = xcalloc(1, sizeof *r);
    r->path = xstrdup(path);
    r->lines = line_reader_open(path, is_zst_path(path));
    return r;
}

typedef struct {
    char *p;
    size_t n, cap;
} Buf;

static void buf_put(Buf *b, const void *data, size_t k) {
    if (b->n + k + 1 > b->cap) {
        b->cap = (b->n + k + 1) * 2;
        b->p = xrealloc(b->p, b->cap);
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
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
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
        if (!line_reader_next(r->lines, &line, &n)) return 0;
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
    if (!o) fail("%s:%ld: %s", r->path, line_reader_line(r->lines), err);
    r->raw = r->fixed ? r->fixed : line;
    r->raw_len = r->fixed ? fixed_len : n;
    *obj = o;
    return 1;
}

long jsonl_line(const JsonlReader *r) { return line_reader_line(r->lines); }
const char *jsonl_path(const JsonlReader *r) { return r->path; }
int jsonl_invalid_utf8(const JsonlReader *r) { return r->invalid_utf8; }
int64_t jsonl_bytes_read(const JsonlReader *r) { return line_reader_bytes_read(r->lines); }
int64_t jsonl_file_size(const JsonlReader *r) { return line_reader_file_size(r->lines); }

const char *jsonl_raw(const JsonlReader *r, size_t *len) {
    *len = r->raw_len;
    return r->raw;
}

void jsonl_close(JsonlReader *r) {
    if (!r) return;
    line_reader_close(r->lines);
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
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
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
