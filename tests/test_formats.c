// test_formats.c: token shards, the loader and text records: round trips, and bad input
// (each must end the process with status 1 and a message naming the file, checked in a
// forked child). safetensors and config.json are tested in test_safetensors.c.
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/rng.h"
#include "../data/loader.h"
#include "../data/records.h"
#include "../data/shard.h"
#include "../data/token_ids.h"
#include "test.h"

static char tmpdir[64];

static char *tmp_path(const char *name) { return path_join(tmpdir, name); }

// Runs fn(arg) in a child; expects exit status 1 and `needle` in its stderr.
static void expect_failure(void (*fn)(const char *), const char *arg, const char *needle, const char *what) {
    expect_failure_exit(fn, arg, needle, NULL, what);
}

static int32_t *random_ids(size_t n, int vocab, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    int32_t *ids = xmalloc(n * sizeof(int32_t));
    for (size_t i = 0; i < n; i++) ids[i] = (int32_t)(rng_u64(&r) % (uint64_t)vocab);
    return ids;
}

static void write_shard(const char *path, const int32_t *ids, size_t n, int vocab, int frame) {
    ShardWriter *w = shard_writer_open(path, vocab, frame, 3);
    shard_writer_add(w, ids, n / 2);
    shard_writer_end_doc(w);
    shard_writer_add(w, ids + n / 2, n - n / 2);
    shard_writer_end_doc(w);
    shard_writer_close(w);
}

static void test_shard_round_trip(void) {
    int vocabs[2] = {258, 100000}; // 2- and 4-byte ids
    for (int v = 0; v < 2; v++) {
        size_t n = 10007; // not a multiple of the frame size: a short last frame
        int32_t *ids = random_ids(n, vocabs[v], 7 + v);
        char *path = tmp_path("rt.tok.zst");
        write_shard(path, ids, n, vocabs[v], 1000);
        Shard *s = shard_open(path);
        EXPECT(s->n_tokens == n && s->n_docs == 2 && s->n_frames == 11, "counts %llu %llu %llu",
               (unsigned long long)s->n_tokens, (unsigned long long)s->n_docs, (unsigned long long)s->n_frames);
        EXPECT(s->token_bytes == (v ? 4 : 2), "token_bytes %d", s->token_bytes);
        EXPECT(s->vocab_size == vocabs[v], "vocab %d", s->vocab_size);
        int32_t *back = xmalloc(n * sizeof(int32_t));
        shard_read(s, 0, n, back);
        EXPECT(memcmp(back, ids, n * sizeof(int32_t)) == 0, "full read differs (vocab %d)", vocabs[v]);
        Rng r;
        rng_seed(&r, 99);
        int bad = 0;
        for (int k = 0; k < 200; k++) { // random ranges, across frame boundaries
            uint64_t start = rng_u64(&r) % n, count = rng_u64(&r) % (n - start) % 2500;
            shard_read(s, start, count, back);
            bad += memcmp(back, ids + start, count * sizeof(int32_t)) != 0;
        }
        EXPECT(bad == 0, "%d random range reads differ", bad);
        shard_close(s);
        free(back);
        free(ids);
        free(path);
    }
}

static void test_loader_windows(void) {
    size_t n = 5000;
    int32_t *ids = random_ids(n, 258, 3);
    char *a = tmp_path("a.tok.zst"), *b = tmp_path("b.tok.zst");
    write_shard(a, ids, 3001, 258, 512); // the stream crosses a shard boundary at 3001
    write_shard(b, ids + 3001, n - 3001, 258, 512);
    char *files[] = {a, b};
    int B = 3, T = 64;
    Loader *one = loader_open(files, 2, 2 * B, T, 0, 1);
    Loader *r0 = loader_open(files, 2, B, T, 0, 2), *r1 = loader_open(files, 2, B, T, 1, 2);
    int *in1 = xmalloc(2 * B * T * sizeof(int)), *tg1 = xmalloc(2 * B * T * sizeof(int));
    int *in2 = xmalloc(B * T * sizeof(int)), *tg2 = xmalloc(B * T * sizeof(int));
    uint64_t per_epoch = loader_batches_per_epoch(one);
    EXPECT(per_epoch == (n - 1) / (2 * B * T), "batches per epoch %llu", (unsigned long long)per_epoch);
    int bad = 0;
    for (uint64_t step = 0; step < per_epoch + 2; step++) { // past the end: wraps
        uint64_t cursor, epoch;
        loader_get_state(one, &cursor, &epoch);
        loader_next(one, in1, tg1);
        if (step < per_epoch) {
            for (int i = 0; i < 2 * B * T; i++) {
                int row = i / T, t = i % T;
                bad +=
                    in1[i] != ids[cursor + (uint64_t)row * T + t] || tg1[i] != ids[cursor + (uint64_t)row * T + t + 1];
            }
        }
        loader_next(r0, in2, tg2);
        bad += memcmp(in2, in1, B * T * sizeof(int)) != 0 || memcmp(tg2, tg1, B * T * sizeof(int)) != 0;
        loader_next(r1, in2, tg2);
        bad += memcmp(in2, in1 + B * T, B * T * sizeof(int)) != 0 || memcmp(tg2, tg1 + B * T, B * T * sizeof(int)) != 0;
    }
    EXPECT(bad == 0, "%d mismatches between windows, the stream and the rank split", bad);
    uint64_t cursor, epoch;
    loader_get_state(one, &cursor, &epoch);
    EXPECT(epoch == 1, "epoch after wrapping: %llu", (unsigned long long)epoch);
    // state set/get resumes identically
    Loader *again = loader_open(files, 2, 2 * B, T, 0, 1);
    loader_set_state(again, cursor, epoch);
    int *in3 = xmalloc(2 * B * T * sizeof(int)), *tg3 = xmalloc(2 * B * T * sizeof(int));
    loader_next(one, in1, tg1);
    loader_next(again, in3, tg3);
    EXPECT(memcmp(in1, in3, 2 * B * T * sizeof(int)) == 0, "resumed loader differs");
    loader_close(one), loader_close(r0), loader_close(r1), loader_close(again);
    free(in1), free(tg1), free(in2), free(tg2), free(in3), free(tg3), free(ids), free(a), free(b);
}

static void open_loader_big_batch(const char *path) {
    char *files[] = {(char *)path};
    loader_open(files, 1, 100, 64, 0, 1);
}
static void open_shard(const char *path) {
    Shard *s = shard_open(path);
    int32_t *buf = xmalloc((size_t)s->frame_tokens * sizeof(int32_t));
    for (uint64_t k = 0; k < s->n_frames; k++) shard_read_frame(s, k, buf);
}

static void corrupt_copy(const char *src, const char *dst, long offset, int truncate_to) {
    size_t n;
    char *data = read_file(src, &n);
    if (offset >= 0) data[offset] ^= 0x5a;
    FILE *f = fopen(dst, "wb");
    fwrite(data, 1, truncate_to >= 0 ? (size_t)truncate_to : n, f);
    fclose(f);
    free(data);
}

static void test_shard_bad_input(void) {
    int32_t *ids = random_ids(3000, 258, 5);
    char *good = tmp_path("good.tok.zst"), *bad = tmp_path("bad.tok.zst");
    write_shard(good, ids, 3000, 258, 1000);
    expect_failure(open_loader_big_batch, good, "one batch needs", "batch x seq larger than the data");
    corrupt_copy(good, bad, 0, -1);
    expect_failure(open_shard, bad, "not a strap token shard", "wrong magic");
    corrupt_copy(good, bad, 20, -1);
    expect_failure(open_shard, bad, "header checksum", "flipped header byte");
    corrupt_copy(good, bad, SHARD_HEADER_BYTES + 40, -1);
    expect_failure(open_shard, bad, "frame 0", "flipped byte in frame 0");
    corrupt_copy(good, bad, -1, 300);
    expect_failure(open_shard, bad, "truncated", "truncated shard");
    corrupt_copy(good, bad, -1, 10);
    expect_failure(open_shard, bad, "truncated", "shard shorter than its header");
    // random single-byte flips anywhere: never a crash, always a clean exit 1 or a valid read
    size_t n;
    char *data = read_file(good, &n);
    free(data);
    Rng r;
    rng_seed(&r, 11);
    int crashes = 0;
    for (int k = 0; k < 40; k++) {
        corrupt_copy(good, bad, (long)(rng_u64(&r) % n), -1);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            freopen("/dev/null", "w", stderr);
            open_shard(bad);
            _exit(0);
        }
        int status;
        waitpid(pid, &status, 0);
        crashes += !WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 1);
    }
    EXPECT(crashes == 0, "%d of 40 corrupted shards crashed the reader", crashes);
    free(ids), free(good), free(bad);
}

static void test_records(void) {
    char *txt = tmp_path("a.txt"), *jl = tmp_path("a.jsonl"), *zst = tmp_path("a.jsonl.zst");
    const char *text = "first paragraph\nstill first\n\n\nsecond one\n";
    write_file_atomic(txt, text, strlen(text));
    const char *lines =
        "{\"text\": \"alpha\"}\n\n{\"text\": \"b\\u00e9ta\", \"id\": 2}\n{\"body\": \"x\", \"text\": \"gamma\"}";
    write_file_atomic(jl, lines, strlen(lines));
    size_t cap = ZSTD_compressBound(strlen(lines));
    char *comp = xmalloc(cap);
    size_t csize = ZSTD_compress(comp, cap, lines, strlen(lines), 3);
    write_file_atomic(zst, comp, csize);
    free(comp);

    const char *doc;
    size_t len;
    RecordReader *r = records_open(txt, NULL, 0);
    EXPECT(records_next(r, &doc, &len) == 1 && len == strlen(text) && memcmp(doc, text, len) == 0, "whole .txt");
    EXPECT(records_next(r, &doc, &len) == 0, ".txt is one document");
    records_close(r);
    r = records_open(txt, NULL, 1);
    EXPECT(records_next(r, &doc, &len) == 1 && strcmp(doc, "first paragraph\nstill first") == 0, "paragraph 1: %s",
           doc);
    EXPECT(records_next(r, &doc, &len) == 1 && strcmp(doc, "second one") == 0, "paragraph 2: %s", doc);
    EXPECT(records_next(r, &doc, &len) == 0, "two paragraphs");
    records_close(r);
    const char *paths[2] = {jl, zst};
    for (int k = 0; k < 2; k++) {
        r = records_open(paths[k], "text", 0);
        EXPECT(records_next(r, &doc, &len) == 1 && strcmp(doc, "alpha") == 0, "%s record 1", paths[k]);
        EXPECT(records_next(r, &doc, &len) == 1 && strcmp(doc, "b\xc3\xa9ta") == 0, "%s record 2 (utf-8)", paths[k]);
        EXPECT(records_next(r, &doc, &len) == 1 && strcmp(doc, "gamma") == 0 && records_line(r) == 4,
               "%s record 3 at line 4", paths[k]);
        EXPECT(records_next(r, &doc, &len) == 0, "%s: three records", paths[k]);
        records_close(r);
    }
    free(txt), free(jl), free(zst);
}

static void read_all_records(const char *path) {
    RecordReader *r = records_open(path, "text", 0);
    const char *doc;
    size_t len;
    while (records_next(r, &doc, &len)) {}
}

static void test_records_bad_input(void) {
    char *p = tmp_path("bad.jsonl");
    const char *lines = "{\"text\": \"ok\"}\n{\"text\": 3}\n";
    write_file_atomic(p, lines, strlen(lines));
    expect_failure(read_all_records, p, "bad.jsonl:2: field 'text' missing or not a string", "non-string field");
    const char *broken = "{\"text\": \"ok\"}\n{\"text\": \"unterminated}\n";
    write_file_atomic(p, broken, strlen(broken));
    expect_failure(read_all_records, p, "bad.jsonl:2: invalid JSON", "invalid JSON line");
    char *z = tmp_path("trunc.jsonl.zst");
    char big[4000];
    for (int i = 0; i < 100; i++) snprintf(big + 40 * i, 41, "{\"text\": \"line %04d abcdefghijklmn\"}\n", i);
    size_t cap = ZSTD_compressBound(strlen(big));
    char *comp = xmalloc(cap);
    size_t csize = ZSTD_compress(comp, cap, big, strlen(big), 3);
    write_file_atomic(z, comp, csize / 2);
    expect_failure(read_all_records, z, "trunc.jsonl.zst", "truncated zstd stream");
    free(comp), free(p), free(z);
}

static void parse_ids_of(const char *text) {
    size_t n;
    free(token_ids_parse(text, strlen(text), "ids.txt", 700, "tok.json", &n));
}

// token ids written as text: spaces, commas, newlines, a JSON list; errors name line and byte
static void test_token_ids_text(void) {
    const char *text = "[1, 2,3]\n  4\t699\n";
    size_t n;
    int32_t *ids = token_ids_parse(text, strlen(text), "ids.txt", 700, "tok.json", &n);
    int32_t want[] = {1, 2, 3, 4, 699};
    EXPECT(n == 5 && memcmp(ids, want, sizeof want) == 0, "got %zu ids", n);
    free(ids);
    ids = token_ids_parse("", 0, "empty", 0, NULL, &n);
    EXPECT(n == 0, "an empty text holds %zu ids", n);
    free(ids);
    ids = token_ids_parse("2147483647", 10, "big", 0, NULL, &n); // no vocabulary: any int32 id
    EXPECT(n == 1 && ids[0] == 2147483647, "the largest id");
    free(ids);
    expect_failure_exit(parse_ids_of, "1 2\n3 x4", "ids.txt:2: 'x4' (byte 7) is not a token id", NULL, "a word");
    expect_failure_exit(parse_ids_of, "1 12x", "ids.txt:1: '12x' (byte 3) is not a token id", NULL,
                        "digits, then more");
    expect_failure_exit(parse_ids_of, "1 -2", "'-2' (byte 3) is not a token id", NULL, "a negative id");
    expect_failure_exit(parse_ids_of, "\n\n5 700",
                        "ids.txt:3: id 700 (id 2, byte 5) is outside the vocabulary of tok.json (ids 0..699)", NULL,
                        "an id past the vocabulary");
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/strap_formats_XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL, "mkdtemp");
    RUN(test_shard_round_trip);
    RUN(test_token_ids_text);
    RUN(test_loader_windows);
    RUN(test_shard_bad_input);
    RUN(test_records);
    RUN(test_records_bad_input);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_summary();
}
