// records_writer.c: see records_writer.h.
#include "records_writer.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "../base/check.h"
#include "../base/io.h"

struct RecordsWriter {
    AtomicFile af;
    pid_t owner;     // the process that opened it (a forked child must not delete its temp)
    ZSTD_CCtx *cctx; // NULL for plain .jsonl
    void *zout;
    size_t zout_cap;
    int64_t count, bytes;
};

// Writers not yet closed, so an exit before close removes their temp files.
#define MAX_OPEN 64
static RecordsWriter *open_writers[MAX_OPEN];
static int exit_handler_installed = 0;

static void abort_open_writers(void) {
    for (int i = 0; i < MAX_OPEN; i++) {
        RecordsWriter *w = open_writers[i];
        if (w && w->owner == getpid() && w->af.tmp_path) atomic_abort(&w->af);
        open_writers[i] = NULL;
    }
}

static void track(RecordsWriter *w, int add) {
    for (int i = 0; i < MAX_OPEN; i++) {
        if (add && !open_writers[i]) {
            open_writers[i] = w;
            return;
        }
        if (!add && open_writers[i] == w) {
            open_writers[i] = NULL;
            return;
        }
    }
    CHECK(!add, "more than %d record files open at once", MAX_OPEN);
}

RecordsWriter *records_writer_open(const char *path) {
    int zst = str_ends_with(path, ".jsonl.zst") || str_ends_with(path, ".json.zst");
    if (!zst && !str_ends_with(path, ".jsonl") && !str_ends_with(path, ".json"))
        fail("%s: record files are named .jsonl or .jsonl.zst", path);
    RecordsWriter *w = xcalloc(1, sizeof *w);
    if (!exit_handler_installed) {
        atexit(abort_open_writers);
        exit_handler_installed = 1;
    }
    atomic_open(&w->af, path);
    w->owner = getpid();
    track(w, 1);
    if (zst) {
        w->cctx = ZSTD_createCCtx();
        CHECK(w->cctx != NULL, "out of memory (zstd)");
        size_t rc = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, 3);
        if (!ZSTD_isError(rc)) rc = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
        CHECK(!ZSTD_isError(rc), "zstd: %s", ZSTD_getErrorName(rc));
        w->zout_cap = ZSTD_CStreamOutSize();
        w->zout = xmalloc(w->zout_cap);
    }
    return w;
}

static void put(RecordsWriter *w, const void *data, size_t n) {
    atomic_write(&w->af, data, n);
    w->bytes += (int64_t)n;
}

// Feeds n bytes to the compressor (or the file); end=1 finishes the frame.
static void feed(RecordsWriter *w, const void *data, size_t n, int end) {
    if (!w->cctx) {
        put(w, data, n);
        return;
    }
    ZSTD_inBuffer in = {data, n, 0};
    ZSTD_EndDirective mode = end ? ZSTD_e_end : ZSTD_e_continue;
    for (;;) {
        ZSTD_outBuffer out = {w->zout, w->zout_cap, 0};
        size_t left = ZSTD_compressStream2(w->cctx, &out, &in, mode);
        CHECK(!ZSTD_isError(left), "zstd compression of %s failed: %s", w->af.path, ZSTD_getErrorName(left));
        put(w, w->zout, out.pos);
        if (end ? left == 0 : in.pos == in.size) break;
    }
}

void records_writer_write_line(RecordsWriter *w, const char *line, size_t len) {
    CHECK(memchr(line, '\n', len) == NULL, "a record line holds a newline");
    feed(w, line, len, 0);
    feed(w, "\n", 1, 0);
    w->count++;
}

void records_writer_write(RecordsWriter *w, const json_t *obj) {
    char *s = json_dumps(obj, JSON_COMPACT);
    CHECK(s != NULL, "cannot encode a record as JSON (out of memory?)");
    records_writer_write_line(w, s, strlen(s));
    free(s);
}

static void release(RecordsWriter *w) {
    track(w, 0);
    if (w->cctx) ZSTD_freeCCtx(w->cctx);
    free(w->zout);
    free(w);
}

void records_writer_close(RecordsWriter *w) {
    if (w->cctx) feed(w, NULL, 0, 1);
    atomic_commit(&w->af);
    release(w);
}

void records_writer_abort(RecordsWriter *w) {
    atomic_abort(&w->af);
    release(w);
}

int64_t records_writer_count(const RecordsWriter *w) { return w->count; }
int64_t records_writer_bytes(const RecordsWriter *w) { return w->bytes; }
