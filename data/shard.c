// shard.c: see shard.h.
#include "shard.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <zstd.h>

#include "../base/check.h"
#include "../base/hash64.h"
#include "../base/io.h"

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

// ---- writer ----

struct ShardWriter {
    AtomicFile file;
    pid_t owner; // the process that opened it (a forked child must not delete its temp)
    int vocab_size, token_bytes, frame_tokens, level;
    uint64_t n_tokens, n_docs, offset;
    int32_t *pending;
    size_t n_pending;
    uint8_t *raw;
    void *compressed;
    size_t compressed_cap;
    ZSTD_CCtx *cctx;
    ShardFrame *frames;
    size_t n_frames, frames_cap;
    ShardWriter *next_open; // writers not yet closed (their temp files go at exit)
};

static ShardWriter *open_writers = NULL;
static int exit_handler_installed = 0;

static void abort_open_writers(void) {
    for (ShardWriter *w = open_writers; w; w = w->next_open)
        if (w->owner == getpid() && w->file.tmp_path) unlink(w->file.tmp_path);
    open_writers = NULL;
}

static void untrack(ShardWriter *w) {
    for (ShardWriter **p = &open_writers; *p; p = &(*p)->next_open)
        if (*p == w) {
            *p = w->next_open;
            return;
        }
}

ShardWriter *shard_writer_open(const char *path, int vocab_size, int frame_tokens, int zstd_level) {
    CHECK(vocab_size > 0 && frame_tokens > 0 && frame_tokens <= SHARD_MAX_FRAME_TOKENS,
          "bad shard parameters (vocab %d, frame %d tokens; at most %d)", vocab_size, frame_tokens,
          SHARD_MAX_FRAME_TOKENS);
    ShardWriter *w = xcalloc(1, sizeof *w);
    w->vocab_size = vocab_size;
    w->token_bytes = vocab_size <= 65536 ? 2 : 4;
    w->frame_tokens = frame_tokens;
    w->level = zstd_level;
    w->pending = xmalloc((size_t)frame_tokens * sizeof(int32_t));
    w->raw = xmalloc((size_t)frame_tokens * 4);
    w->compressed_cap = ZSTD_compressBound((size_t)frame_tokens * 4);
    w->compressed = xmalloc(w->compressed_cap);
    w->cctx = ZSTD_createCCtx();
    CHECK(w->cctx != NULL, "ZSTD_createCCtx failed");
    size_t rc = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, zstd_level);
    if (ZSTD_isError(rc)) fail("zstd level %d: %s", zstd_level, ZSTD_getErrorName(rc));
    rc = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
    CHECK(!ZSTD_isError(rc), "zstd checksum flag: %s", ZSTD_getErrorName(rc));
    atomic_open(&w->file, path);
    w->owner = getpid();
    if (!exit_handler_installed) {
        atexit(abort_open_writers);
        exit_handler_installed = 1;
    }
    w->next_open = open_writers;
    open_writers = w;
    uint8_t zeros[SHARD_HEADER_BYTES] = {0};
    atomic_write(&w->file, zeros, sizeof zeros); // the real header is written at close
    w->offset = SHARD_HEADER_BYTES;
    return w;
}

static void flush_frame(ShardWriter *w) {
    if (w->n_pending == 0) return;
    size_t n = w->n_pending;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = (uint32_t)w->pending[i];
        if (w->token_bytes == 2) {
            w->raw[2 * i] = (uint8_t)v;
            w->raw[2 * i + 1] = (uint8_t)(v >> 8);
        } else {
            put_u32(w->raw + 4 * i, v);
        }
    }
    size_t size = ZSTD_compress2(w->cctx, w->compressed, w->compressed_cap, w->raw, n * (size_t)w->token_bytes);
    CHECK(!ZSTD_isError(size), "zstd compression failed: %s", ZSTD_getErrorName(size));
    atomic_write(&w->file, w->compressed, size);
    if (w->n_frames == w->frames_cap) {
        w->frames_cap = w->frames_cap ? 2 * w->frames_cap : 64;
        w->frames = xrealloc(w->frames, w->frames_cap * sizeof(ShardFrame));
        CHECK(w->frames != NULL, "out of memory");
    }
    w->frames[w->n_frames++] = (ShardFrame){w->offset, (uint32_t)size, (uint32_t)n, w->n_tokens - n};
    w->offset += size;
    w->n_pending = 0;
}

void shard_writer_add(ShardWriter *w, const int32_t *tokens, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (tokens[i] < 0 || tokens[i] >= w->vocab_size)
            fail("%s: token id %d is outside the vocabulary [0, %d)", w->file.path, tokens[i], w->vocab_size);
        w->pending[w->n_pending++] = tokens[i];
        w->n_tokens++;
        if (w->n_pending == (size_t)w->frame_tokens) flush_frame(w);
    }
}

void shard_writer_end_doc(ShardWriter *w) { w->n_docs++; }
uint64_t shard_writer_tokens(const ShardWriter *w) { return w->n_tokens; }

uint64_t shard_writer_close(ShardWriter *w) {
    flush_frame(w);
    size_t index_bytes = w->n_frames * 16;
    uint8_t *index = xmalloc(index_bytes + 8);
    for (size_t i = 0; i < w->n_frames; i++) {
        put_u64(index + 16 * i, w->frames[i].offset);
        put_u32(index + 16 * i + 8, w->frames[i].bytes);
        put_u32(index + 16 * i + 12, w->frames[i].tokens);
    }
    put_u64(index + index_bytes, fnv1a64(index, index_bytes));
    uint64_t index_offset = w->offset;
    atomic_write(&w->file, index, index_bytes + 8);
    uint8_t h[SHARD_HEADER_BYTES] = {0};
    memcpy(h, SHARD_MAGIC, 8);
    put_u32(h + 8, SHARD_VERSION);
    put_u32(h + 12, (uint32_t)w->token_bytes);
    put_u32(h + 16, (uint32_t)w->vocab_size);
    put_u32(h + 20, (uint32_t)w->frame_tokens);
    put_u64(h + 24, w->n_tokens);
    put_u64(h + 32, w->n_docs);
    put_u64(h + 40, w->n_frames);
    put_u64(h + 48, index_offset);
    put_u32(h + 56, fnv1a32(h, 56));
    if (fflush(w->file.f) != 0 || fseek(w->file.f, 0, SEEK_SET) != 0) {
        int e = errno;
        char name[512];
        snprintf(name, sizeof name, "%s", w->file.path);
        atomic_abort(&w->file);
        fail("cannot write %s: %s", name, strerror(e));
    }
    atomic_write(&w->file, h, sizeof h);
    untrack(w);
    atomic_commit(&w->file);
    uint64_t total = index_offset + index_bytes + 8;
    ZSTD_freeCCtx(w->cctx);
    free(index);
    free(w->frames);
    free(w->pending);
    free(w->raw);
    free(w->compressed);
    free(w);
    return total;
}

// ---- reader ----

// "the file ends before byte offset + n": overflow-safe.
static int past_end(const Shard *s, uint64_t offset, uint64_t n) {
    return n > s->file_size || offset > s->file_size - n;
}

static void read_at(Shard *s, uint64_t offset, void *buf, size_t n, const char *what) {
    if (past_end(s, offset, n))
        fail("%s: truncated: %s ends at byte %llu but the file has %llu bytes; re-create the shard", s->path, what,
             (unsigned long long)offset + n, (unsigned long long)s->file_size);
    if (fseeko(s->f, (off_t)offset, SEEK_SET) != 0 || fread(buf, 1, n, s->f) != n)
        fail("%s: cannot read %s: %s", s->path, what, ferror(s->f) ? strerror(errno) : "unexpected end of file");
}

static char *dup_string(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = xmalloc(n);
    memcpy(d, s, n);
    return d;
}

Shard *shard_open(const char *path) {
    Shard *s = xcalloc(1, sizeof *s);
    s->path = dup_string(path);
    s->f = fopen(path, "rb");
    if (!s->f) fail("cannot read %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(s->f), &st) != 0) fail("cannot read %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) fail("%s is not a regular file (give a .tok.zst shard made by `strap data pack`)", path);
    s->file_size = (uint64_t)st.st_size;
    uint8_t h[SHARD_HEADER_BYTES];
    // the magic first, so a short file that is not a shard says so rather than "truncated"
    size_t head = s->file_size < SHARD_HEADER_BYTES ? (size_t)s->file_size : SHARD_HEADER_BYTES;
    read_at(s, 0, h, head, "the header");
    if (head < 8 || memcmp(h, SHARD_MAGIC, 8) != 0) {
        char shown[40] = "";
        for (size_t i = 0, k = 0; i < head && i < 8; i++)
            k += (size_t)snprintf(shown + k, sizeof shown - k,
                                  h[i] >= 32 && h[i] < 127 && h[i] != '"' && h[i] != '\\' ? "%c" : "\\x%02x", h[i]);
        fail("%s: not a strap token shard (magic \"%s\", expected \"STRAPTOK\"); pack text with `strap data pack`",
             path, shown);
    }
    if (head < SHARD_HEADER_BYTES)
        fail("%s: truncated: %llu bytes, shorter than the %d-byte shard header; re-create the shard", path,
             (unsigned long long)s->file_size, SHARD_HEADER_BYTES);
    uint32_t version = get_u32(h + 8);
    if (version != SHARD_VERSION)
        fail("%s: shard version %u is not supported (this strap reads version %d); re-pack with this strap", path,
             version, SHARD_VERSION);
    if (get_u32(h + 56) != fnv1a32(h, 56))
        fail("%s: header checksum mismatch: the file is corrupt; re-create the shard", path);
    uint32_t token_bytes = get_u32(h + 12), vocab = get_u32(h + 16), frame_tokens = get_u32(h + 20);
    s->n_tokens = get_u64(h + 24);
    s->n_docs = get_u64(h + 32);
    s->n_frames = get_u64(h + 40);
    s->index_offset = get_u64(h + 48);
    if (vocab == 0 || vocab > INT32_MAX || token_bytes != (vocab <= 65536 ? 2u : 4u) || frame_tokens == 0 ||
        frame_tokens > SHARD_MAX_FRAME_TOKENS)
        fail(
            "%s: invalid header (token_bytes %u, vocab_size %u, frame_tokens %u): the file is corrupt; re-create the shard",
            path, token_bytes, vocab, frame_tokens);
    s->token_bytes = (int)token_bytes;
    s->vocab_size = (int)vocab;
    s->frame_tokens = (int)frame_tokens;
    uint64_t want_frames = s->n_tokens / frame_tokens + (s->n_tokens % frame_tokens != 0);
    if (s->n_frames != want_frames)
        fail("%s: invalid header: %llu frames for %llu tokens of %u per frame (expected %llu): the file is corrupt; "
             "re-create the shard",
             path, (unsigned long long)s->n_frames, (unsigned long long)s->n_tokens, frame_tokens,
             (unsigned long long)want_frames);
    if (s->n_frames > s->file_size / 16 || s->index_offset < SHARD_HEADER_BYTES)
        fail("%s: truncated or corrupt: %llu frames do not fit in %llu bytes (index at byte %llu); re-create the shard",
             path, (unsigned long long)s->n_frames, (unsigned long long)s->file_size,
             (unsigned long long)s->index_offset);
    size_t index_bytes = (size_t)s->n_frames * 16;
    if (past_end(s, s->index_offset, index_bytes + 8))
        fail("%s: truncated: the frame index ends at byte %llu but the file has %llu bytes; re-create the shard", path,
             (unsigned long long)(s->index_offset + index_bytes + 8), (unsigned long long)s->file_size);
    if (s->index_offset + index_bytes + 8 != s->file_size)
        fail("%s: %llu bytes after the frame index (which ends at byte %llu): the file is corrupt; re-create the shard",
             path, (unsigned long long)(s->file_size - s->index_offset - index_bytes - 8),
             (unsigned long long)(s->index_offset + index_bytes + 8));
    uint8_t *index = xmalloc(index_bytes + 8);
    read_at(s, s->index_offset, index, index_bytes + 8, "the frame index");
    if (get_u64(index + index_bytes) != fnv1a64(index, index_bytes))
        fail("%s: frame index checksum mismatch: the file is corrupt; re-create the shard", path);
    s->frames = xcalloc((size_t)s->n_frames + 1, sizeof(ShardFrame));
    uint64_t total = 0, expect_offset = SHARD_HEADER_BYTES;
    size_t max_bytes = ZSTD_compressBound((size_t)frame_tokens * token_bytes);
    for (uint64_t k = 0; k < s->n_frames; k++) {
        ShardFrame *f = &s->frames[k];
        f->offset = get_u64(index + 16 * k);
        f->bytes = get_u32(index + 16 * k + 8);
        f->tokens = get_u32(index + 16 * k + 12);
        f->first_token = total;
        if (f->offset != expect_offset || f->bytes == 0 || f->bytes > max_bytes ||
            f->bytes > s->index_offset - f->offset)
            fail(
                "%s: frame %llu (%u bytes at byte %llu) lies outside the data section [%d, %llu): the file is corrupt; "
                "re-create the shard",
                path, (unsigned long long)k, f->bytes, (unsigned long long)f->offset, SHARD_HEADER_BYTES,
                (unsigned long long)s->index_offset);
        if (f->tokens == 0 || f->tokens > frame_tokens || (k + 1 < s->n_frames && f->tokens != frame_tokens))
            fail("%s: frame %llu holds %u tokens (frame size %u): the file is corrupt; re-create the shard", path,
                 (unsigned long long)k, f->tokens, frame_tokens);
        total += f->tokens;
        expect_offset = f->offset + f->bytes;
    }
    if (expect_offset != s->index_offset)
        fail(
            "%s: the frames end at byte %llu but the index starts at byte %llu: the file is corrupt; re-create the shard",
            path, (unsigned long long)expect_offset, (unsigned long long)s->index_offset);
    if (total != s->n_tokens)
        fail("%s: frames hold %llu tokens but the header says %llu: the file is corrupt; re-create the shard", path,
             (unsigned long long)total, (unsigned long long)s->n_tokens);
    free(index);
    s->cached_frame = -1;
    return s;
}

void shard_close(Shard *s) {
    if (!s) return;
    fclose(s->f);
    ZSTD_freeDCtx(s->dctx);
    free(s->frames);
    free(s->cache);
    free(s->compressed);
    free(s->path);
    free(s);
}

void shard_read_frame(Shard *s, uint64_t k, int32_t *out) {
    CHECK(k < s->n_frames, "%s: frame %llu out of range (%llu frames)", s->path, (unsigned long long)k,
          (unsigned long long)s->n_frames);
    if (!s->compressed) {
        s->compressed_cap = ZSTD_compressBound((size_t)s->frame_tokens * (size_t)s->token_bytes);
        s->compressed = xmalloc(s->compressed_cap);
        s->dctx = ZSTD_createDCtx();
        CHECK(s->dctx != NULL, "ZSTD_createDCtx failed");
    }
    const ShardFrame *f = &s->frames[k];
    char what[64];
    snprintf(what, sizeof what, "frame %llu", (unsigned long long)k);
    read_at(s, f->offset, s->compressed, f->bytes, what); // f->bytes <= compressed_cap (checked at open)
    const uint8_t *c = s->compressed;
    // zstd frame header (RFC 8878): magic 0xFD2FB528, then the descriptor; bit 2 = content checksum
    if (f->bytes < 5 || get_u32(c) != 0xFD2FB528u)
        fail("%s: frame %llu: corrupt data (not a zstd frame); re-create the shard", s->path, (unsigned long long)k);
    if (!(c[4] & 4))
        fail(
            "%s: frame %llu: the zstd frame has no content checksum (shards are written with one); re-create the shard",
            s->path, (unsigned long long)k);
    size_t expect = (size_t)f->tokens * (size_t)s->token_bytes;
    uint8_t *raw = (uint8_t *)out; // decode in place: 2-byte ids are widened backwards below
    size_t got = ZSTD_decompressDCtx(s->dctx, raw, (size_t)f->tokens * 4, s->compressed, f->bytes);
    if (ZSTD_isError(got))
        fail("%s: frame %llu: corrupt data (%s); re-create the shard", s->path, (unsigned long long)k,
             ZSTD_getErrorName(got));
    if (got != expect)
        fail("%s: frame %llu: decoded %zu bytes, expected %zu; re-create the shard", s->path, (unsigned long long)k,
             got, expect);
    if (s->token_bytes == 2) {
        for (int64_t i = (int64_t)f->tokens - 1; i >= 0; i--) out[i] = (int32_t)(raw[2 * i] | (raw[2 * i + 1] << 8));
    } else {
        for (uint32_t i = 0; i < f->tokens; i++) out[i] = (int32_t)get_u32(raw + 4 * i);
    }
    for (uint32_t i = 0; i < f->tokens; i++)
        if (out[i] < 0 || out[i] >= s->vocab_size)
            fail("%s: frame %llu: token id %lld is outside the vocabulary [0, %d); re-create the shard", s->path,
                 (unsigned long long)k, (long long)(uint32_t)out[i], s->vocab_size);
}

void shard_read(Shard *s, uint64_t start, uint64_t count, int32_t *out) {
    CHECK(start <= s->n_tokens && count <= s->n_tokens - start, "%s: read of tokens [%llu, +%llu) past the end (%llu)",
          s->path, (unsigned long long)start, (unsigned long long)count, (unsigned long long)s->n_tokens);
    if (count > 0 && !s->cache) s->cache = xmalloc((size_t)s->frame_tokens * sizeof(int32_t));
    while (count > 0) {
        uint64_t k = start / (uint64_t)s->frame_tokens; // every frame but the last is full (checked at open)
        if (s->cached_frame != (int64_t)k) {
            s->cached_frame = -1; // a failed decode must not leave a stale cache
            shard_read_frame(s, k, s->cache);
            s->cached_frame = (int64_t)k;
        }
        const ShardFrame *f = &s->frames[k];
        uint64_t in_frame = start - f->first_token;
        uint64_t take = f->tokens - in_frame < count ? f->tokens - in_frame : count;
        memcpy(out, s->cache + in_frame, take * sizeof(int32_t));
        out += take;
        start += take;
        count -= take;
    }
}
