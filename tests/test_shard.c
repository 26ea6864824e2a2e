// test_shard.c: the token shard format (.tok.zst), the loader, record readers and the
// byte-level packer.
//
// The format is checked against an independent encoder written here from the spec in
// data/shard.h (the writer's output must be byte-identical to it), and the reader against
// corrupt input: every wrong magic, truncation, flipped byte or forged index must end the
// process the way fail() does (exit 1, "strap: error:", the file named), never crash. The
// fuzz cases re-seal the checksums after mutating, so they reach the checks behind them.
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/rng.h"
#include "../data/loader.h"
#include "../data/pack.h"
#include "../data/records.h"
#include "../data/records_writer.h"
#include "../data/shard.h"
#include "test.h"

static char tmpdir[64];
static char *tmp_path(const char *name) { return path_join(tmpdir, name); }

static int32_t *random_ids(size_t n, int vocab, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    int32_t *ids = xmalloc((n ? n : 1) * sizeof(int32_t));
    for (size_t i = 0; i < n; i++) ids[i] = (int32_t)(rng_u64(&r) % (uint64_t)vocab);
    return ids;
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "cannot write %s", path);
    CHECK(fwrite(data, 1, n, f) == n, "short write %s", path);
    fclose(f);
}

// Writes ids as a shard of two documents.
static void write_shard(const char *path, const int32_t *ids, size_t n, int vocab, int frame) {
    ShardWriter *w = shard_writer_open(path, vocab, frame, 3);
    shard_writer_add(w, ids, n / 3);
    shard_writer_end_doc(w);
    shard_writer_add(w, ids + n / 3, n - n / 3);
    shard_writer_end_doc(w);
    shard_writer_close(w);
}

// ---- an independent encoder, from the spec in data/shard.h ----

static void le32(uint8_t *p, uint32_t v) {
    p[0] = v & 0xff, p[1] = (v >> 8) & 0xff, p[2] = (v >> 16) & 0xff, p[3] = v >> 24;
}
static void le64(uint8_t *p, uint64_t v) {
    le32(p, (uint32_t)v);
    le32(p + 4, (uint32_t)(v >> 32));
}
static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static uint32_t fnv32(const uint8_t *p, size_t n) {
    uint32_t h = 0x811c9dc5u;
    while (n--) h = (h ^ *p++) * 0x01000193u;
    return h;
}
static uint64_t fnv64(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    while (n--) h = (h ^ *p++) * 0x100000001b3ull;
    return h;
}

// The shard the spec describes, in memory. checksum_flag = 0 makes frames without zstd
// content checksums (which readers refuse).
static uint8_t *encode_shard(const int32_t *ids, size_t n, uint64_t docs, int vocab, int frame, int level,
                             int checksum_flag, size_t *size) {
    int tb = vocab <= 65536 ? 2 : 4;
    size_t n_frames = (n + frame - 1) / frame;
    size_t cap = 64 + n_frames * (ZSTD_compressBound((size_t)frame * tb) + 16) + 8;
    uint8_t *buf = xcalloc(cap, 1), *raw = xmalloc((size_t)frame * 4);
    uint8_t *index = xmalloc(n_frames * 16 + 8);
    ZSTD_CCtx *c = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, checksum_flag);
    size_t at = 64;
    for (size_t k = 0; k < n_frames; k++) {
        size_t first = k * (size_t)frame, cnt = n - first < (size_t)frame ? n - first : (size_t)frame;
        for (size_t i = 0; i < cnt; i++) {
            if (tb == 2)
                raw[2 * i] = ids[first + i] & 0xff, raw[2 * i + 1] = (ids[first + i] >> 8) & 0xff;
            else
                le32(raw + 4 * i, (uint32_t)ids[first + i]);
        }
        size_t z = ZSTD_compress2(c, buf + at, cap - at, raw, cnt * tb);
        CHECK(!ZSTD_isError(z), "zstd: %s", ZSTD_getErrorName(z));
        le64(index + 16 * k, at);
        le32(index + 16 * k + 8, (uint32_t)z);
        le32(index + 16 * k + 12, (uint32_t)cnt);
        at += z;
    }
    le64(index + 16 * n_frames, fnv64(index, 16 * n_frames));
    memcpy(buf + at, index, 16 * n_frames + 8);
    memcpy(buf, "STRAPTOK", 8);
    le32(buf + 8, 1);
    le32(buf + 12, (uint32_t)tb);
    le32(buf + 16, (uint32_t)vocab);
    le32(buf + 20, (uint32_t)frame);
    le64(buf + 24, n);
    le64(buf + 32, docs);
    le64(buf + 40, n_frames);
    le64(buf + 48, at);
    le32(buf + 56, fnv32(buf, 56));
    *size = at + 16 * n_frames + 8;
    ZSTD_freeCCtx(c);
    free(raw);
    free(index);
    return buf;
}

// Recomputes the index and header checksums after a mutation (where the index still lies
// inside the buffer), so the reader's deeper checks are reached.
static void reseal(uint8_t *buf, size_t size) {
    if (size < 64) return;
    uint64_t n_frames = rd64(buf + 40), at = rd64(buf + 48);
    if (n_frames < size / 16 && at <= size && 16 * n_frames + 8 <= size - at)
        le64(buf + at + 16 * n_frames, fnv64(buf + at, 16 * n_frames));
    le32(buf + 56, fnv32(buf, 56));
}

// ---- round trips ----

static void test_format_matches_spec(void) {
    struct {
        int vocab, frame;
        size_t n;
    } cases[] = {{258, 64, 1000},  {258, 64, 1024},  {258, 1, 5}, {70000, 100, 777},
                 {65536, 50, 120}, {65537, 50, 120}, {258, 16, 0}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int32_t *ids = random_ids(cases[c].n, cases[c].vocab, 100 + c);
        if (cases[c].n > 2) ids[0] = cases[c].vocab - 1, ids[1] = 0; // the extreme ids
        char *path = tmp_path("spec.tok.zst");
        unlink(path); // the previous case's
        ShardWriter *w = shard_writer_open(path, cases[c].vocab, cases[c].frame, 5);
        EXPECT(!path_exists(path), "case %zu: the shard appears under its name before close", c);
        size_t half = cases[c].n / 2;
        shard_writer_add(w, ids, half);
        shard_writer_end_doc(w);
        shard_writer_add(w, ids + half, cases[c].n - half);
        shard_writer_end_doc(w);
        shard_writer_end_doc(w); // an empty document counts too
        EXPECT(shard_writer_tokens(w) == cases[c].n, "case %zu: writer token count", c);
        uint64_t bytes = shard_writer_close(w);
        size_t got_size, want_size;
        uint8_t *got = (uint8_t *)read_file(path, &got_size);
        uint8_t *want = encode_shard(ids, cases[c].n, 3, cases[c].vocab, cases[c].frame, 5, 1, &want_size);
        EXPECT(got_size == want_size && bytes == got_size && memcmp(got, want, want_size) == 0,
               "case %zu (vocab %d, frame %d, n %zu): the writer's file (%zu bytes, close said %llu) differs from the "
               "spec encoding (%zu bytes)",
               c, cases[c].vocab, cases[c].frame, cases[c].n, got_size, (unsigned long long)bytes, want_size);
        char *tmpname = tmp_path("spec.tok.zst.tmp.*");
        char cmd[256];
        snprintf(cmd, sizeof cmd, "ls %s >/dev/null 2>&1", tmpname);
        EXPECT(system(cmd) != 0, "case %zu: a temp file was left behind", c);
        free(tmpname);

        Shard *s = shard_open(path);
        int tb = cases[c].vocab <= 65536 ? 2 : 4;
        uint64_t frames = (cases[c].n + cases[c].frame - 1) / cases[c].frame;
        EXPECT(s->n_tokens == cases[c].n && s->n_docs == 3 && s->n_frames == frames && s->token_bytes == tb &&
                   s->vocab_size == cases[c].vocab && s->frame_tokens == cases[c].frame,
               "case %zu: header fields", c);
        int32_t *back = xmalloc((cases[c].n + 1) * sizeof(int32_t));
        int bad = 0;
        for (uint64_t k = 0; k < s->n_frames; k++) { // frame by frame: full frames, then the short last one
            size_t first = k * cases[c].frame;
            uint32_t expect_tokens =
                (uint32_t)(cases[c].n - first < (size_t)cases[c].frame ? cases[c].n - first : (size_t)cases[c].frame);
            bad += s->frames[k].tokens != expect_tokens;
            shard_read_frame(s, k, back);
            bad += memcmp(back, ids + first, expect_tokens * sizeof(int32_t)) != 0;
        }
        EXPECT(bad == 0, "case %zu: %d frames differ", c, bad);
        shard_read(s, 0, cases[c].n, back);
        EXPECT(cases[c].n == 0 || memcmp(back, ids, cases[c].n * sizeof(int32_t)) == 0, "case %zu: full read", c);
        shard_close(s);
        free(back), free(got), free(want), free(ids), free(path);
    }
}

static void test_random_range_reads(void) {
    size_t n = 20011;
    int vocabs[2] = {258, 100000};
    for (int v = 0; v < 2; v++) {
        int32_t *ids = random_ids(n, vocabs[v], 7 + v);
        char *path = tmp_path("ranges.tok.zst");
        write_shard(path, ids, n, vocabs[v], 997);
        Shard *s = shard_open(path);
        int32_t *back = xmalloc(n * sizeof(int32_t));
        Rng r;
        rng_seed(&r, 42 + v);
        int bad = 0;
        for (int k = 0; k < 500; k++) {
            uint64_t start, count;
            if (k % 5 == 0) { // around a frame boundary
                uint64_t b = 997 * (1 + rng_u64(&r) % (n / 997));
                start = b - 1 - rng_u64(&r) % 3;
                count = 1 + rng_u64(&r) % 4;
                if (start + count > n) count = n - start;
            } else {
                start = rng_u64(&r) % n;
                count = rng_u64(&r) % (n - start + 1) % 5000;
            }
            shard_read(s, start, count, back);
            bad += memcmp(back, ids + start, count * sizeof(int32_t)) != 0;
        }
        shard_read(s, n - 1, 1, back); // the very last token
        bad += back[0] != ids[n - 1];
        shard_read(s, n, 0, back); // an empty read at the end
        EXPECT(bad == 0, "vocab %d: %d of 501 range reads differ", vocabs[v], bad);
        shard_close(s);
        free(back), free(ids), free(path);
    }
}

// ---- the writer's bad input ----

static void write_out_of_vocab(const char *path) {
    ShardWriter *w = shard_writer_open(path, 258, 16, 3);
    int32_t ids[40];
    for (int i = 0; i < 40; i++) ids[i] = i;
    shard_writer_add(w, ids, 40); // two frames reach the temp file
    ids[3] = 258;
    shard_writer_add(w, ids, 40);
    shard_writer_close(w);
}

static void test_writer_rejects_bad_ids(void) {
    char *path = tmp_path("oov.tok.zst");
    expect_failure_exit(write_out_of_vocab, path, "token id 258 is outside the vocabulary [0, 258)", "oov.tok.zst",
                        "writer given id 258 with vocab 258");
    EXPECT(!path_exists(path), "a shard appeared after a failed write");
    char cmd[300];
    snprintf(cmd, sizeof cmd, "ls %s.tmp.* >/dev/null 2>&1", path);
    EXPECT(system(cmd) != 0, "the failed writer left its temp file");
    free(path);
}

// ---- corrupt input ----

// Every frame, then every token in one range read.
static void read_all_tokens(const char *path) {
    Shard *s = shard_open(path);
    int32_t *frame = xmalloc(((size_t)s->frame_tokens + 1) * sizeof(int32_t));
    for (uint64_t k = 0; k < s->n_frames; k++) shard_read_frame(s, k, frame);
    int32_t *all = xmalloc((s->n_tokens + 1) * sizeof(int32_t));
    shard_read(s, 0, s->n_tokens, all);
    free(all), free(frame);
    shard_close(s);
}

static uint8_t *good_shard; // 4 frames: 3 x 300 tokens + 100
static size_t good_size;
static int32_t *good_ids;

static void write_variant(const char *path, void (*mutate)(uint8_t *, size_t *), int seal) {
    uint8_t *b = xmalloc(good_size + 64);
    memcpy(b, good_shard, good_size);
    size_t n = good_size;
    if (mutate) mutate(b, &n);
    if (seal) reseal(b, n);
    write_bytes(path, b, n);
    free(b);
}

static void m_magic(uint8_t *b, size_t *n) { (void)n, memcpy(b, "GGUF\x03\0\0\0", 8); }
static void m_header(uint8_t *b, size_t *n) { (void)n, b[17] ^= 1; }           // vocab, checksum not resealed
static void m_version(uint8_t *b, size_t *n) { (void)n, le32(b + 8, 2); }      // resealed
static void m_token_bytes(uint8_t *b, size_t *n) { (void)n, le32(b + 12, 4); } // 4-byte ids for vocab 258
static void m_frames(uint8_t *b, size_t *n) { (void)n, le64(b + 40, 5); }      // n_frames disagrees
static void m_n_tokens(uint8_t *b, size_t *n) { (void)n, le64(b + 24, rd64(b + 24) - 1); } // last frame count off
static void m_index(uint8_t *b, size_t *n) { b[*n - 20] ^= 0x10; }                         // not resealed
static void m_frame_size(uint8_t *b, size_t *n) { // frame 1 claims 4 GB; the reader must not trust it
    le32(b + rd64(b + 48) + 16 + 8, 0xFFFFFFF0u);
    (void)n;
}
static void m_frame_whole(uint8_t *b, size_t *n) { // frame 0 claims the whole data section (> any frame's bound)
    le32(b + rd64(b + 48) + 8, (uint32_t)(rd64(b + 48) - 64));
    (void)n;
}
static void m_frame_offset(uint8_t *b, size_t *n) { // frame 2 points back into frame 0
    le64(b + rd64(b + 48) + 32, 70);
    (void)n;
}
static void m_huge_offset(uint8_t *b, size_t *n) { // an offset near 2^64: overflow bait
    le64(b + rd64(b + 48) + 16, ~(uint64_t)0 - 8);
    (void)n;
}
static void m_index_offset(uint8_t *b, size_t *n) { (void)n, le64(b + 48, ~(uint64_t)0 - 3); }
static void m_frame_checksum(uint8_t *b, size_t *n) { // the last byte of frame 0 is its zstd content checksum
    uint64_t end0 = rd64(b + rd64(b + 48)) + rd32(b + rd64(b + 48) + 8);
    b[end0 - 1] ^= 0xFF;
    (void)n;
}
static void m_trailing(uint8_t *b, size_t *n) { memcpy(b + *n, "garbage", 7), *n += 7; }
static void m_trunc_mid(uint8_t *b, size_t *n) { (void)b, *n = 64 + (*n - 64) / 2; }
static void m_trunc_1(uint8_t *b, size_t *n) { (void)b, *n -= 1; }
static void m_trunc_header(uint8_t *b, size_t *n) { (void)b, *n = 40; }
static void m_empty(uint8_t *b, size_t *n) { (void)b, *n = 0; }

static void test_corrupt_shards(void) {
    char *p = tmp_path("bad.tok.zst");
    struct {
        void (*mutate)(uint8_t *, size_t *);
        int seal;
        const char *needle, *what;
    } cases[] = {
        {m_magic, 0,
         "not a strap token shard (magic \"GGUF\\x03\\x00\\x00\\x00\", expected \"STRAPTOK\"); pack text with `strap data pack`",
         "wrong magic"},
        {m_header, 0, "header checksum mismatch", "flipped header byte"},
        {m_version, 1, "shard version 2 is not supported", "version 2"},
        {m_token_bytes, 1, "invalid header (token_bytes 4, vocab_size 258", "token width against the vocabulary"},
        {m_frames, 1, "5 frames for 1000 tokens", "n_frames disagreeing with n_tokens"},
        {m_n_tokens, 1, "frames hold 1000 tokens but the header says 999", "n_tokens one short"},
        {m_index, 0, "frame index checksum mismatch", "flipped index byte"},
        {m_frame_size, 1, "frame 1 (4294967280 bytes", "a forged 4 GB frame size"},
        {m_frame_whole, 1, "frame 0 (", "frame 0 claiming the whole data section"},
        {m_frame_offset, 1, "frame 2 (", "a frame offset pointing backwards"},
        {m_huge_offset, 1, "frame 1 (", "a frame offset near 2^64"},
        {m_index_offset, 1, "truncated: the frame index ends at byte", "an index offset near 2^64"},
        {m_frame_checksum, 0, "frame 0: corrupt data (Restored data doesn't match checksum); re-create the shard",
         "flipped zstd checksum byte in frame 0"},
        {m_trailing, 0, "7 bytes after the frame index", "bytes after the index"},
        {m_trunc_mid, 0, "truncated: the frame index ends at byte", "truncated in the middle"},
        {m_trunc_1, 0, "truncated", "one byte short"},
        {m_trunc_header, 0, "truncated: 40 bytes, shorter than the 64-byte shard header", "shorter than a header"},
        {m_empty, 0, "not a strap token shard", "empty file"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        write_variant(p, cases[c].mutate, cases[c].seal);
        expect_failure_exit(read_all_tokens, p, cases[c].needle, "bad.tok.zst", cases[c].what);
    }
    // a frame without a zstd content checksum, and ids outside the vocabulary, made by the
    // spec encoder with the index and header consistent
    size_t n;
    uint8_t *b = encode_shard(good_ids, 1000, 2, 258, 300, 3, 0, &n);
    write_bytes(p, b, n);
    expect_failure_exit(read_all_tokens, p, "frame 0: the zstd frame has no content checksum", "bad.tok.zst",
                        "frames without content checksums");
    free(b);
    int32_t *ids = random_ids(1000, 258, 1);
    ids[650] = 300;
    b = encode_shard(ids, 1000, 1, 258, 300, 3, 1, &n); // vocab 258 but an id 300 in frame 2
    write_bytes(p, b, n);
    expect_failure_exit(read_all_tokens, p, "frame 2: token id 300 is outside the vocabulary [0, 258)", "bad.tok.zst",
                        "an id outside the vocabulary");
    free(b), free(ids);
    // a directory, a missing file
    expect_failure_exit(read_all_tokens, tmpdir, "is not a regular file", tmpdir, "a directory");
    char *missing = tmp_path("missing.tok.zst");
    expect_failure_exit(read_all_tokens, missing, "cannot read", "missing.tok.zst", "a missing file");
    free(missing), free(p);
}

// Random mutations; each read runs in a child that must exit 0 (a harmless change, e.g. in
// the reserved header bytes or n_docs) or 1 with "strap: error:" and the file's name.
enum { ITERS = 1500 };
static void test_fuzz(void) {
    char *p = tmp_path("fuzz.tok.zst");
    char err_path[300];
    snprintf(err_path, sizeof err_path, "%s/fuzz.stderr", tmpdir);
    Rng r;
    rng_seed(&r, 2024);
    int crashes = 0, bad_errors = 0, ok = 0, errors = 0;
    char example[512] = "";
    for (int it = 0; it < ITERS; it++) {
        uint8_t *b = xmalloc(good_size + 64);
        memcpy(b, good_shard, good_size);
        size_t n = good_size;
        int mode = it % 6;
        uint64_t index_at = rd64(b + 48);
        if (mode == 0) { // flip bits anywhere
            b[rng_u64(&r) % n] ^= (uint8_t)(1 + rng_u64(&r) % 255);
        } else if (mode == 1) { // flip header or index bytes, then re-seal both checksums
            size_t span = 64 + (n - index_at);
            size_t k = rng_u64(&r) % span;
            size_t at = k < 64 ? k : index_at + (k - 64);
            b[at] ^= (uint8_t)(1 + rng_u64(&r) % 255);
            reseal(b, n);
        } else if (mode == 2) { // an extreme value in a header or index field, re-sealed
            static const uint64_t vals[] = {0,
                                            1,
                                            63,
                                            64,
                                            65,
                                            0xFFFF,
                                            0x10000,
                                            0x7FFFFFFF,
                                            0x80000000u,
                                            0xFFFFFFFFu,
                                            0x100000000ull,
                                            ~(uint64_t)0,
                                            ~(uint64_t)0 - 7};
            uint64_t v = vals[rng_u64(&r) % (sizeof vals / sizeof vals[0])];
            int near = rng_u64(&r) % 2; // or a near miss: the value now, moved by up to +-2000
            int64_t delta = (int64_t)(rng_u64(&r) % 4001) - 2000;
            static const int header_fields[] = {12, 16, 20, 24, 32, 40, 48};
            if (rng_u64(&r) % 2) {
                int f = header_fields[rng_u64(&r) % 7];
                if (f < 24)
                    le32(b + f, near ? rd32(b + f) + (uint32_t)delta : (uint32_t)v);
                else
                    le64(b + f, near ? rd64(b + f) + (uint64_t)delta : v);
            } else {
                uint64_t frame = rng_u64(&r) % 4, field = rng_u64(&r) % 3;
                uint8_t *e = b + index_at + 16 * frame;
                if (field == 0)
                    le64(e, near ? rd64(e) + (uint64_t)delta : v);
                else
                    le32(e + 4 + 4 * field, near ? rd32(e + 4 + 4 * field) + (uint32_t)delta : (uint32_t)v);
            }
            reseal(b, n);
        } else if (mode == 3) { // truncate anywhere
            n = rng_u64(&r) % n;
        } else if (mode == 4) { // flip a byte inside a frame's data
            b[64 + rng_u64(&r) % (index_at - 64)] ^= (uint8_t)(1 + rng_u64(&r) % 255);
        } else { // truncate, then re-seal what can be
            n = 64 + rng_u64(&r) % (n - 64);
            reseal(b, n);
        }
        write_bytes(p, b, n);
        free(b);
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid == 0) {
            int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            dup2(fd, 2);
            alarm(10);
            read_all_tokens(p);
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        char text[1024] = "";
        FILE *f = fopen(err_path, "rb");
        if (f) {
            text[fread(text, 1, sizeof text - 1, f)] = 0;
            fclose(f);
        }
        if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 1)) {
            crashes++;
            if (!example[0])
                snprintf(example, sizeof example, "iteration %d (mode %d): status %d: %.400s", it, mode, status, text);
        } else if (WEXITSTATUS(status) == 1) {
            errors++;
            if (!strstr(text, "strap: error:") || !strstr(text, "fuzz.tok.zst")) {
                bad_errors++;
                if (!example[0]) snprintf(example, sizeof example, "iteration %d (mode %d): %.400s", it, mode, text);
            }
        } else {
            ok++;
        }
    }
    EXPECT(crashes == 0 && bad_errors == 0, "%d crashes, %d errors without the file's name; first: %s", crashes,
           bad_errors, example);
    EXPECT(errors > ITERS * 2 / 3, "only %d of %d mutations were detected (%d read fine)", errors, ITERS, ok);
    unlink(err_path);
    free(p);
}

// ---- loader ----

static char *loader_files[4];
static int32_t *stream;
static size_t stream_n;

static void setup_loader_files(void) {
    size_t sizes[4] = {1000, 0, 777, 500}; // an empty shard in the middle
    int frames[4] = {64, 10, 100, 33};
    const char *names[4] = {"l0.tok.zst", "l1.tok.zst", "l2.tok.zst", "l3.tok.zst"};
    stream_n = 2277;
    stream = random_ids(stream_n, 258, 77);
    size_t at = 0;
    for (int i = 0; i < 4; i++) {
        loader_files[i] = tmp_path(names[i]);
        write_shard(loader_files[i], stream + at, sizes[i], 258, frames[i]);
        at += sizes[i];
    }
}

static void test_loader_windows_and_ranks(void) {
    int B = 2, T = 16, world = 3, rows = B * world;
    Loader *one = loader_open(loader_files, 4, rows, T, 0, 1);
    Loader *rank[3];
    for (int r = 0; r < world; r++) rank[r] = loader_open(loader_files, 4, B, T, r, world);
    EXPECT(loader_total_tokens(one) == stream_n, "total %llu", (unsigned long long)loader_total_tokens(one));
    EXPECT(loader_vocab_size(one) == 258, "vocab %d", loader_vocab_size(one));
    uint64_t step = (uint64_t)rows * T, per_epoch = (stream_n - 1) / step;
    EXPECT(loader_batches_per_epoch(one) == per_epoch && loader_batches_per_epoch(rank[1]) == per_epoch,
           "batches per epoch %llu, expected %llu", (unsigned long long)loader_batches_per_epoch(one),
           (unsigned long long)per_epoch);
    int *in = xmalloc(sizeof(int) * rows * T), *tg = xmalloc(sizeof(int) * rows * T);
    int *rin = xmalloc(sizeof(int) * B * T), *rtg = xmalloc(sizeof(int) * B * T);
    int bad_stream = 0, bad_shift = 0, bad_rank = 0, bad_epoch = 0;
    for (uint64_t s = 0; s < 2 * per_epoch + 3; s++) {
        uint64_t cursor, epoch;
        loader_get_state(one, &cursor, &epoch);
        loader_next(one, in, tg);
        uint64_t want_cursor = (s % per_epoch) * step, want_epoch = s / per_epoch;
        // the state read before a batch is that of the previous one: after the last batch of
        // an epoch the cursor points past it, and the wrap happens in the next call
        uint64_t c_after, e_after;
        loader_get_state(one, &c_after, &e_after);
        bad_epoch += c_after != want_cursor + step || e_after != want_epoch;
        for (int i = 0; i < rows * T; i++) {
            uint64_t pos = want_cursor + (uint64_t)(i / T) * T + i % T;
            bad_stream += in[i] != stream[pos] || tg[i] != stream[pos + 1];
            if (i % T < T - 1) bad_shift += tg[i] != in[i + 1];
        }
        for (int r = 0; r < world; r++) {
            loader_next(rank[r], rin, rtg);
            bad_rank += memcmp(rin, in + r * B * T, sizeof(int) * B * T) != 0 ||
                        memcmp(rtg, tg + r * B * T, sizeof(int) * B * T) != 0;
        }
    }
    EXPECT(bad_stream == 0, "%d tokens differ from the concatenated stream", bad_stream);
    EXPECT(bad_shift == 0, "%d targets are not the inputs shifted by one", bad_shift);
    EXPECT(bad_rank == 0, "%d rank batches differ from the matching rows of world=1", bad_rank);
    EXPECT(bad_epoch == 0, "%d batches with the wrong cursor or epoch", bad_epoch);

    // get/set state: a fresh loader resumes the exact sequence
    uint64_t cursor, epoch;
    loader_get_state(one, &cursor, &epoch);
    Loader *again = loader_open(loader_files, 4, rows, T, 0, 1);
    loader_set_state(again, cursor, epoch);
    int *in2 = xmalloc(sizeof(int) * rows * T), *tg2 = xmalloc(sizeof(int) * rows * T);
    int bad = 0;
    for (int s = 0; s < (int)per_epoch + 2; s++) {
        loader_next(one, in, tg);
        loader_next(again, in2, tg2);
        bad += memcmp(in, in2, sizeof(int) * rows * T) != 0 || memcmp(tg, tg2, sizeof(int) * rows * T) != 0;
    }
    uint64_t c1, e1, c2, e2;
    loader_get_state(one, &c1, &e1);
    loader_get_state(again, &c2, &e2);
    EXPECT(bad == 0 && c1 == c2 && e1 == e2, "resumed loader: %d batches differ, state %llu/%llu vs %llu/%llu", bad,
           (unsigned long long)c1, (unsigned long long)e1, (unsigned long long)c2, (unsigned long long)e2);
    loader_close(one), loader_close(again);
    for (int r = 0; r < world; r++) loader_close(rank[r]);
    free(in), free(tg), free(rin), free(rtg), free(in2), free(tg2);
}

static void test_loader_exact_fit(void) {
    // 2277 tokens = B*T + 1 with B = 4, T = 569: one batch per epoch, every token used
    Loader *l = loader_open(loader_files, 4, 4, 569, 0, 1);
    EXPECT(loader_batches_per_epoch(l) == 1, "batches %llu", (unsigned long long)loader_batches_per_epoch(l));
    int *in = xmalloc(sizeof(int) * 4 * 569), *tg = xmalloc(sizeof(int) * 4 * 569);
    loader_next(l, in, tg);
    EXPECT(tg[4 * 569 - 1] == stream[2276] && in[0] == stream[0], "the batch spans the whole stream");
    loader_next(l, in, tg);
    uint64_t c, e;
    loader_get_state(l, &c, &e);
    EXPECT(e == 1 && c == 4 * 569 && in[0] == stream[0], "second batch: epoch %llu cursor %llu", (unsigned long long)e,
           (unsigned long long)c);
    loader_close(l);
    free(in), free(tg);
}

static void loader_too_small(const char *path) {
    char *files[] = {(char *)path};
    loader_open(files, 1, 4, 1024, 0, 1);
}
static void loader_too_small_world(const char *unused) {
    (void)unused;
    loader_open(loader_files, 4, 2, 600, 1, 2);
}
static void loader_mixed_vocab(const char *path) {
    char *files[] = {loader_files[0], (char *)path};
    loader_open(files, 2, 1, 8, 0, 1);
}
static void loader_bad_cursor(const char *unused) {
    (void)unused;
    Loader *l = loader_open(loader_files, 4, 1, 8, 0, 1);
    loader_set_state(l, 5000, 0);
}

static void test_loader_errors(void) {
    char msg[512];
    snprintf(msg, sizeof msg,
             "data '%s': 1000 tokens, but one batch needs B x world x T + 1 = 4097 (B=4, T=1024, world=1); lower "
             "the batch or the sequence length, or pack more text",
             loader_files[0]);
    expect_failure_exit(loader_too_small, loader_files[0], msg, NULL, "batch x seq larger than one shard");
    expect_failure_exit(loader_too_small_world, NULL,
                        "2277 tokens, but one batch needs B x world x T + 1 = 2401 (B=2, T=600, world=2)", "l0.tok.zst",
                        "batch x world x seq larger than the data");
    char *big = tmp_path("vocab70000.tok.zst");
    int32_t ids[100];
    for (int i = 0; i < 100; i++) ids[i] = 69000 + i;
    write_shard(big, ids, 100, 70000, 64);
    expect_failure_exit(loader_mixed_vocab, big, "vocab70000.tok.zst has vocab_size 70000 but", "l0.tok.zst has 258",
                        "shards with different vocab sizes");
    expect_failure_exit(loader_bad_cursor, NULL, "data cursor 5000 is past the end of the data (2277 tokens",
                        "l0.tok.zst", "a cursor past the end");
    free(big);
}

// ---- records ----

static void write_zst(const char *path, const char *const *parts, int n_parts) { // one zstd frame per part
    FILE *f = fopen(path, "wb");
    for (int i = 0; i < n_parts; i++) {
        size_t len = strlen(parts[i]), cap = ZSTD_compressBound(len);
        void *c = xmalloc(cap);
        size_t z = ZSTD_compress(c, cap, parts[i], len, 3);
        CHECK(!ZSTD_isError(z), "zstd");
        fwrite(c, 1, z, f);
        free(c);
    }
    fclose(f);
}

static int next_is(RecordReader *r, const char *want, long line) {
    const char *text;
    size_t len;
    if (!records_next(r, &text, &len)) return 0;
    return len == strlen(want) && memcmp(text, want, len) == 0 && (line < 0 || records_line(r) == line);
}

static void test_records_txt(void) {
    char *p = tmp_path("doc.txt");
    const char *text = "Title line\r\nbody one\r\n\r\n  \t \nsecond para\n\n\n\nthird\nno newline at the end";
    write_bytes(p, text, strlen(text));
    RecordReader *r = records_open(p, NULL, 0);
    EXPECT(next_is(r, text, 1), "whole file as one document");
    EXPECT(!next_is(r, "", -1), "one document only");
    records_close(r);
    r = records_open(p, "text", 1);
    EXPECT(next_is(r, "Title line\r\nbody one\r", -1), "paragraph 1 (CRLF lines kept as they were)");
    EXPECT(next_is(r, "second para", -1), "paragraph 2 (a whitespace-only line separates)");
    EXPECT(next_is(r, "third\nno newline at the end", -1), "paragraph 3 (no final newline)");
    EXPECT(!next_is(r, "", -1), "three paragraphs");
    records_close(r);
    write_bytes(p, "", 0);
    r = records_open(p, NULL, 0);
    EXPECT(!next_is(r, "", -1), "an empty .txt holds no document");
    records_close(r);
    // a document larger than the reader's buffers
    size_t big = 3 << 20;
    char *t = xmalloc(big + 1);
    for (size_t i = 0; i < big; i++) t[i] = (char)('a' + i % 26);
    t[big] = 0;
    write_bytes(p, t, big);
    r = records_open(p, NULL, 0);
    EXPECT(next_is(r, t, -1), "a 3 MB document");
    records_close(r);
    free(t), free(p);
}

static void test_records_jsonl(void) {
    char *jl = tmp_path("r.jsonl"), *zst = tmp_path("r.jsonl.zst");
    size_t big = 300000;
    char *long_text = xmalloc(big + 1), *long_line = xmalloc(big + 64);
    for (size_t i = 0; i < big; i++) long_text[i] = (char)('A' + i % 23);
    long_text[big] = 0;
    snprintf(long_line, big + 64, "{\"body\": \"%s\"}\n", long_text);
    const char *parts[] = {"{\"body\": \"one\", \"text\": 5}\n\n", "{\"id\": 7, \"body\": \"tw\\u00f6\\nlines\"}\n",
                           long_line, "  {\"body\": \"last\"}  "};
    FILE *f = fopen(jl, "wb");
    for (int i = 0; i < 4; i++) fputs(parts[i], f);
    fclose(f);
    write_zst(zst, parts, 4); // four zstd frames back to back
    const char *paths[2] = {jl, zst};
    for (int k = 0; k < 2; k++) {
        RecordReader *r = records_open(paths[k], "body", 0);
        EXPECT(next_is(r, "one", 1), "%s: record 1", paths[k]);
        EXPECT(next_is(r, "tw\xc3\xb6\nlines", 3), "%s: record 2 at line 3 (a blank line skipped)", paths[k]);
        EXPECT(next_is(r, long_text, 4), "%s: a 300 kB record", paths[k]);
        EXPECT(next_is(r, "last", 5), "%s: last record without a newline", paths[k]);
        EXPECT(!next_is(r, "", -1), "%s: four records", paths[k]);
        records_close(r);
    }
    free(long_text), free(long_line), free(jl), free(zst);
}

static void read_records(const char *path) {
    RecordReader *r = records_open(path, "text", 0);
    const char *text;
    size_t len;
    while (records_next(r, &text, &len)) {}
    records_close(r);
}

static void test_records_errors(void) {
    char *p = tmp_path("e.jsonl"), *z = tmp_path("e.jsonl.zst");
    write_bytes(p, "{\"text\": \"a\"}\n{\"text\": \"b\"}\n{\"text\": \"c\",}\n", 43);
    expect_failure_exit(read_records, p, "e.jsonl:3: invalid JSON", NULL, "invalid JSON on line 3");
    const char *missing = "{\"text\": \"a\"}\n{\"txt\": \"b\"}\n";
    write_bytes(p, missing, strlen(missing));
    expect_failure_exit(read_records, p, "e.jsonl:2: field 'text' missing or not a string", NULL, "missing field");
    const char *number = "{\"text\": [\"a\"]}\n";
    write_bytes(p, number, strlen(number));
    expect_failure_exit(read_records, p, "e.jsonl:1: field 'text' missing or not a string", NULL, "non-string field");
    const char *parts[] = {"{\"text\": \"fine\"}\n{\"text\": 1}\n"};
    write_zst(z, parts, 1);
    expect_failure_exit(read_records, z, "e.jsonl.zst:2: field 'text' missing or not a string", NULL,
                        "missing field in .jsonl.zst");
    write_bytes(z, "this is not zstd at all, just text\n", 35);
    expect_failure_exit(read_records, z, "e.jsonl.zst", NULL, "a .jsonl.zst that is not zstd");
    char *gone = tmp_path("gone.jsonl");
    expect_failure_exit(read_records, gone, "cannot read", "gone.jsonl", "a missing input");
    free(p), free(z), free(gone);
}

static void test_records_writer_round_trip(void) {
    char *p = tmp_path("w.jsonl.zst");
    RecordsWriter *w = records_writer_open(p);
    const char *texts[3] = {"plain", "caf\xc3\xa9 \"quoted\"\nnewline", ""};
    for (int i = 0; i < 3; i++) {
        json_t *o = json_pack("{s:i, s:s}", "id", i, "text", texts[i]);
        records_writer_write(w, o);
        json_decref(o);
    }
    EXPECT(!path_exists(p), "record file visible before close");
    records_writer_close(w);
    RecordReader *r = records_open(p, NULL, 0);
    for (int i = 0; i < 3; i++) EXPECT(next_is(r, texts[i], i + 1), "record %d back", i);
    EXPECT(!next_is(r, "", -1), "three records");
    records_close(r);
    free(p);
}

// ---- packing ----

static int32_t *read_dir_stream(const char *dir, const char *prefix, size_t *n, uint64_t *docs, int *files,
                                uint64_t max_tokens, int *bad_sizes) {
    char pattern[512];
    snprintf(pattern, sizeof pattern, "%s/%s_*.tok.zst", dir, prefix);
    int count = 0;
    char **list = expand_inputs(pattern, ".tok.zst", &count);
    int32_t *all = NULL;
    *n = 0, *docs = 0, *files = count, *bad_sizes = 0;
    for (int i = 0; i < count; i++) {
        Shard *s = shard_open(list[i]);
        *bad_sizes += s->n_tokens == 0 || s->n_tokens > max_tokens || s->vocab_size != 258;
        all = realloc(all, (*n + s->n_tokens + 1) * sizeof(int32_t));
        shard_read(s, 0, s->n_tokens, all + *n);
        *n += s->n_tokens;
        *docs += s->n_docs;
        shard_close(s);
    }
    free_string_list(list);
    return all;
}

static void test_pack_bytes(void) {
    char *txt = tmp_path("pack.txt"), *out = tmp_path("packed");
    // 9 paragraphs of different lengths
    char text[2048] = "";
    const char *paras[9];
    char store[9][128];
    for (int i = 0; i < 9; i++) {
        int len = 3 + (i * 7) % 23;
        for (int k = 0; k < len; k++) store[i][k] = (char)('a' + (i + k) % 26);
        store[i][len] = 0;
        paras[i] = store[i];
        strcat(text, store[i]);
        strcat(text, i % 2 ? "\n\n\n" : "\n\n");
    }
    write_bytes(txt, text, strlen(text));
    char *inputs[] = {txt};
    PackOptions o = {inputs, 1, out, "text", 1, 0.25, 40, 16, 3, NULL, 1, BYTES_BOS, BYTES_EOS};
    PackStats st = pack_documents(&o);
    // every 4th document (index 3, 7) is held out
    int32_t want_train[4096], want_val[4096];
    size_t nt = 0, nv = 0;
    for (int i = 0; i < 9; i++) {
        int32_t *w = i % 4 == 3 ? want_val : want_train;
        size_t *k = i % 4 == 3 ? &nv : &nt;
        w[(*k)++] = BYTES_BOS;
        for (const char *c = paras[i]; *c; c++) w[(*k)++] = (unsigned char)*c;
        w[(*k)++] = BYTES_EOS;
    }
    EXPECT(st.docs == 7 && st.val_docs == 2 && st.tokens == nt && st.val_tokens == nv,
           "stats: %llu docs, %llu val docs, %llu tokens, %llu val tokens", (unsigned long long)st.docs,
           (unsigned long long)st.val_docs, (unsigned long long)st.tokens, (unsigned long long)st.val_tokens);
    size_t n;
    uint64_t docs;
    int files, bad_sizes;
    int32_t *got = read_dir_stream(out, "train", &n, &docs, &files, 40, &bad_sizes);
    EXPECT(n == nt && memcmp(got, want_train, nt * sizeof(int32_t)) == 0, "train stream (%zu tokens, want %zu)", n, nt);
    EXPECT(docs == 7 && files == (int)((nt + 39) / 40) && bad_sizes == 0,
           "train shards: %d files, %llu docs, %d empty or oversized", files, (unsigned long long)docs, bad_sizes);
    free(got);
    char *val_dir = path_join(out, "val");
    got = read_dir_stream(val_dir, "val", &n, &docs, &files, 40, &bad_sizes);
    EXPECT(n == nv && memcmp(got, want_val, nv * sizeof(int32_t)) == 0 && docs == 2 && bad_sizes == 0,
           "val stream (%zu tokens, want %zu; %llu docs)", n, nv, (unsigned long long)docs);
    free(got);
    free(val_dir);

    // documents that fill shards exactly: no empty shard at the end, each shard owns its document
    char *exact = tmp_path("exact.txt"), *out2 = tmp_path("packed_exact");
    const char *three = "abcdefgh\n\nijklmnop\n\nqrstuvwx\n"; // 3 documents of 8 + 2 tokens
    write_bytes(exact, three, strlen(three));
    char *inputs2[] = {exact};
    PackOptions o2 = {inputs2, 1, out2, "text", 1, 0, 10, 4, 3, NULL, 1, BYTES_BOS, BYTES_EOS};
    st = pack_documents(&o2);
    EXPECT(st.shards == 3 && st.tokens == 30, "exact fill: %d shards, %llu tokens", st.shards,
           (unsigned long long)st.tokens);
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof name, "train_%06d.tok.zst", i);
        char *path = path_join(out2, name);
        Shard *s = shard_open(path);
        EXPECT(s->n_tokens == 10 && s->n_docs == 1, "%s: %llu tokens, %llu docs", name, (unsigned long long)s->n_tokens,
               (unsigned long long)s->n_docs);
        shard_close(s);
        free(path);
    }
    char *fourth = path_join(out2, "train_000003.tok.zst");
    EXPECT(!path_exists(fourth), "an empty fourth shard was written");
    free(fourth), free(exact), free(out2), free(txt), free(out);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/strap_shard_XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL, "mkdtemp: %s", strerror(errno));
    good_ids = random_ids(1000, 258, 9);
    good_shard = encode_shard(good_ids, 1000, 2, 258, 300, 3, 1, &good_size);
    setup_loader_files();
    RUN(test_format_matches_spec);
    RUN(test_random_range_reads);
    RUN(test_writer_rejects_bad_ids);
    RUN(test_corrupt_shards);
    RUN(test_fuzz);
    RUN(test_loader_windows_and_ranks);
    RUN(test_loader_exact_fit);
    RUN(test_loader_errors);
    RUN(test_records_txt);
    RUN(test_records_jsonl);
    RUN(test_records_errors);
    RUN(test_records_writer_round_trip);
    RUN(test_pack_bytes);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    for (int i = 0; i < 4; i++) free(loader_files[i]);
    free(stream), free(good_shard), free(good_ids);
    return test_summary();
}
