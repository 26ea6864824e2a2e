// line_reader.c: see line_reader.h.
#include "line_reader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zstd.h>

#include "check.h"

struct LineReader {
    char *path;
    int zst;
    FILE *f;
    int64_t file_size, bytes_read;
    long line;
    char *buf; // decoded bytes not yet consumed: buf[buf_pos, buf_len)
    size_t buf_len, buf_pos, buf_cap;
    int eof;
    ZSTD_DCtx *dctx; // zstd input
    void *zin;
    size_t zin_cap;
    ZSTD_inBuffer in;
    size_t last_ret;
};

LineReader *line_reader_open(const char *path, int zst) {
    LineReader *r = xcalloc(1, sizeof *r);
    r->path = xstrdup(path);
    r->zst = zst;
    r->f = fopen(path, "rb");
    if (!r->f) fail("cannot read %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(r->f), &st) == 0) r->file_size = (int64_t)st.st_size;
    r->buf_cap = 1 << 20;
    r->buf = xmalloc(r->buf_cap);
    if (zst) {
        r->dctx = ZSTD_createDCtx();
        CHECK(r->dctx != NULL, "out of memory (zstd)");
        r->zin_cap = ZSTD_DStreamInSize();
        r->zin = xmalloc(r->zin_cap);
        r->in = (ZSTD_inBuffer){r->zin, 0, 0};
    }
    return r;
}

// Appends more decoded bytes to buf; 0 at the end of the input.
static int fill(LineReader *r) {
    if (r->eof) return 0;
    if (r->buf_pos > 0) { // compact
        memmove(r->buf, r->buf + r->buf_pos, r->buf_len - r->buf_pos);
        r->buf_len -= r->buf_pos;
        r->buf_pos = 0;
    }
    if (r->buf_cap - r->buf_len < (1 << 16)) {
        r->buf_cap *= 2;
        r->buf = xrealloc(r->buf, r->buf_cap);
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

int line_reader_next(LineReader *r, char **line, size_t *len) {
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
                if (r->buf_len == r->buf_cap) r->buf = xrealloc(r->buf, ++r->buf_cap);
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

char *line_reader_rest(LineReader *r, size_t *len) {
    while (fill(r)) {}
    if (r->buf_pos == r->buf_len) return NULL;
    if (r->buf_len == r->buf_cap) r->buf = xrealloc(r->buf, ++r->buf_cap);
    r->buf[r->buf_len] = '\0';
    char *rest = r->buf + r->buf_pos;
    *len = r->buf_len - r->buf_pos;
    r->buf_pos = r->buf_len;
    r->line++;
    return rest;
}

long line_reader_line(const LineReader *r) { return r->line; }
int64_t line_reader_bytes_read(const LineReader *r) { return r->bytes_read; }
int64_t line_reader_file_size(const LineReader *r) { return r->file_size; }

void line_reader_close(LineReader *r) {
    if (!r) return;
    if (r->f) fclose(r->f);
    if (r->dctx) ZSTD_freeDCtx(r->dctx);
    free(r->zin), free(r->buf), free(r->path);
    free(r);
}
