// test_formats.c: token shards, the loader, text records, safetensors and config.json:
// round trips, exact 16-bit float conversions, and bad input (each must end the process
// with status 1 and a message naming the file, checked in a forked child).
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "../data/io.h"
#include "../data/loader.h"
#include "../data/records.h"
#include "../data/shard.h"
#include "../kernels/check.h"
#include "../model/config.h"
#include "../model/rng.h"
#include "../model/safetensors.h"
#include "test.h"

static char tmpdir[64];

static char *tmp_path(const char *name) { return path_join(tmpdir, name); }

// Runs fn(arg) in a child; expects exit status 1 and `needle` in its stderr.
static void expect_failure(void (*fn)(const char *), const char *arg, const char *needle, const char *what) {
    char *err_path = tmp_path("stderr.txt");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 2);
        fn(arg);
        _exit(0); // fn returned: no error was raised
    }
    int status = 0;
    waitpid(pid, &status, 0);
    size_t n;
    char *text = read_file(err_path, &n);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    EXPECT(code == 1, "%s: exit status %d, expected 1 (stderr: %s)", what, code, text);
    EXPECT(strstr(text, needle) != NULL, "%s: stderr lacks '%s': %s", what, needle, text);
    EXPECT(strstr(text, "strap: error:") != NULL, "%s: no 'strap: error:' prefix: %s", what, text);
    free(text);
    free(err_path);
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
                bad += in1[i] != ids[cursor + (uint64_t)row * T + t] || tg1[i] != ids[cursor + (uint64_t)row * T + t + 1];
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
    const char *lines = "{\"text\": \"alpha\"}\n\n{\"text\": \"b\\u00e9ta\", \"id\": 2}\n{\"body\": \"x\", \"text\": \"gamma\"}";
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
    EXPECT(records_next(r, &doc, &len) == 1 && strcmp(doc, "first paragraph\nstill first") == 0, "paragraph 1: %s", doc);
    EXPECT(records_next(r, &doc, &len) == 1 && strcmp(doc, "second one") == 0, "paragraph 2: %s", doc);
    EXPECT(records_next(r, &doc, &len) == 0, "two paragraphs");
    records_close(r);
    const char *paths[2] = {jl, zst};
    for (int k = 0; k < 2; k++) {
        r = records_open(paths[k], "text", 0);
        EXPECT(records_next(r, &doc, &len) == 1 && strcmp(doc, "alpha") == 0, "%s record 1", paths[k]);
        EXPECT(records_next(r, &doc, &len) == 1 && strcmp(doc, "b\xc3\xa9ta") == 0, "%s record 2 (utf-8)", paths[k]);
        EXPECT(records_next(r, &doc, &len) == 1 && strcmp(doc, "gamma") == 0 && records_line(r) == 4, "%s record 3 at line 4", paths[k]);
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

static void test_f16_bf16_exact(void) {
    // every bit pattern against a float64 formula
    int bad_h = 0, bad_b = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
        double ref;
        if (e == 0) ref = ldexp(m, -24);
        else if (e == 31) ref = m ? NAN : INFINITY;
        else ref = ldexp(1024 + m, e - 25);
        if (sign) ref = -ref;
        float got = f16_to_f32((uint16_t)h);
        bad_h += isnan(ref) ? !isnan(got) : (double)got != ref;
        int be = (h >> 7) & 255, bm = h & 127;
        double bref;
        if (be == 0) bref = ldexp(bm, -133);
        else if (be == 255) bref = bm ? NAN : INFINITY;
        else bref = ldexp(128 + bm, be - 134);
        if (sign) bref = -bref;
        float bgot = bf16_to_f32((uint16_t)h);
        bad_b += isnan(bref) ? !isnan(bgot) : (double)bgot != bref;
    }
    EXPECT(bad_h == 0, "%d f16 patterns decoded wrongly", bad_h);
    EXPECT(bad_b == 0, "%d bf16 patterns decoded wrongly", bad_b);
    // f32 -> bf16: nearest, ties to even, NaN stays NaN
    EXPECT(f32_to_bf16(1.0f) == 0x3f80, "1.0");
    float tie_down, tie_up;
    uint32_t bits = 0x3f808000u; // exactly between 0x3f80 and 0x3f81: even is 0x3f80
    memcpy(&tie_down, &bits, 4);
    bits = 0x3f818000u; // between 0x3f81 and 0x3f82: even is 0x3f82
    memcpy(&tie_up, &bits, 4);
    EXPECT(f32_to_bf16(tie_down) == 0x3f80, "tie to even (down): %04x", f32_to_bf16(tie_down));
    EXPECT(f32_to_bf16(tie_up) == 0x3f82, "tie to even (up): %04x", f32_to_bf16(tie_up));
    EXPECT(isnan(bf16_to_f32(f32_to_bf16(NAN))), "NaN preserved");
    Rng r;
    rng_seed(&r, 1);
    int worse = 0;
    for (int i = 0; i < 100000; i++) { // the rounding is the nearest representable value
        float x = (float)(rng_normal(&r) * 100);
        uint16_t h = f32_to_bf16(x);
        double d = fabs((double)bf16_to_f32(h) - x);
        worse += d > fabs((double)bf16_to_f32(h + 1) - x) || d > fabs((double)bf16_to_f32(h - 1) - x);
    }
    EXPECT(worse == 0, "%d values not rounded to the nearest bf16", worse);
}

static void test_safetensors_round_trip(void) {
    char *p = tmp_path("t.safetensors");
    float a[6] = {1, -2.5f, 3.25f, 1e-3f, 65504, -0.0f};
    int32_t ids[3] = {7, -1, 1 << 30};
    StWrite w[3] = {
        {"a.weight", ST_F32, 2, {2, 3}, a, NULL},
        {"b", ST_BF16, 1, {6}, a, NULL},
        {"ids", ST_I32, 1, {3}, NULL, ids},
    };
    const char *meta[] = {"step", "12", NULL};
    st_write(p, w, 3, meta);
    SafeTensors st;
    st_open(&st, p);
    EXPECT(st.n_tensors == 3, "%d tensors", st.n_tensors);
    const StTensor *ta = st_find(&st, "a.weight"), *tb = st_find(&st, "b"), *ti = st_find(&st, "ids");
    EXPECT(ta && ta->ndim == 2 && ta->shape[0] == 2 && ta->shape[1] == 3 && ta->dtype == ST_F32, "a.weight header");
    EXPECT(tb && tb->dtype == ST_BF16 && tb->numel == 6, "b header");
    float back[6];
    if (ta) st_read_f32(&st, ta, back);
    EXPECT(memcmp(back, a, sizeof a) == 0, "F32 values");
    if (tb) st_read_f32(&st, tb, back);
    int bad = 0;
    for (int i = 0; i < 6; i++) bad += back[i] != bf16_to_f32(f32_to_bf16(a[i]));
    EXPECT(bad == 0, "BF16 values");
    int32_t ids_back[3];
    if (ti) st_read_i32(&st, ti, ids_back);
    EXPECT(memcmp(ids_back, ids, sizeof ids) == 0, "I32 values");
    char *step = st_metadata(&st, "step");
    EXPECT(step && strcmp(step, "12") == 0, "metadata");
    free(step);
    // header length is a multiple of 8 (data aligned)
    uint64_t hl = 0;
    memcpy(&hl, st.map, 8);
    EXPECT(hl % 8 == 0, "header length %llu not 8-aligned", (unsigned long long)hl);
    st_close(&st);
    free(p);
}

static void open_st_read_all(const char *path) {
    SafeTensors st;
    st_open(&st, path);
    for (int i = 0; i < st.n_tensors; i++) {
        float *buf = xmalloc((size_t)st.tensors[i].numel * sizeof(float) + 4);
        st_read_f32(&st, &st.tensors[i], buf);
        free(buf);
    }
}

static void write_raw_st(const char *path, const char *header, size_t data_bytes) {
    size_t hl = strlen(header);
    char *buf = xcalloc(8 + hl + data_bytes, 1);
    for (int i = 0; i < 8; i++) buf[i] = (char)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, header, hl);
    write_file_atomic(path, buf, 8 + hl + data_bytes);
    free(buf);
}

static void test_safetensors_bad_input(void) {
    char *p = tmp_path("bad.safetensors");
    write_raw_st(p, "{\"x\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 8);
    expect_failure(open_st_read_all, p, "run past the data section", "offsets past the end");
    write_raw_st(p, "{\"x\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 12]}}", 16);
    expect_failure(open_st_read_all, p, "hold 12 bytes but dtype F32", "nbytes mismatch");
    write_raw_st(p, "{\"x\": {\"dtype\": \"F8_E4M3\", \"shape\": [4], \"data_offsets\": [0, 4]}}", 4);
    expect_failure(open_st_read_all, p, "F8_E4M3", "unsupported dtype read as f32");
    write_raw_st(p, "{\"x\": {\"dtype\": \"Q9\", \"shape\": [4], \"data_offsets\": [0, 4]}}", 4);
    expect_failure(open_st_read_all, p, "unknown dtype", "unknown dtype");
    write_raw_st(p, "{not json", 0);
    expect_failure(open_st_read_all, p, "not a JSON object", "invalid JSON header");
    write_file_atomic(p, "\xff\xff\x00\x00\x00\x00\x00\x00{}", 10);
    expect_failure(open_st_read_all, p, "runs past the end of the file", "header length past EOF");
    write_file_atomic(p, "abc", 3);
    expect_failure(open_st_read_all, p, "truncated", "3-byte file");
    free(p);
}

static void read_config(const char *path) {
    LlamaConfig c;
    config_read(&c, path);
}

static void test_config(void) {
    LlamaConfig c;
    config_read(&c, "tests/ref/fixtures/gqa_tied");
    EXPECT(c.vocab_size == 67 && c.hidden_size == 48 && c.n_layers == 3 && c.n_heads == 3 && c.n_kv_heads == 1 &&
               c.head_dim == 16 && c.intermediate_size == 80 && c.tie_embeddings == 1 && c.rope_theta == 500000.0f &&
               fabsf(c.rms_norm_eps - 1e-6f) < 1e-12f,
           "gqa_tied config values");
    char *p = tmp_path("config.json");
    c.n_eos = 2, c.eos_token_ids[0] = 2, c.eos_token_ids[1] = 5;
    config_write(&c, p, "float32");
    LlamaConfig d;
    config_read(&d, p);
    EXPECT(memcmp(&c, &d, sizeof c) == 0, "config_write -> config_read round trip");
    struct {
        const char *json, *needle;
    } bad[] = {
        {"{\"model_type\": \"llama\", \"vocab_size\": 10}", "missing key \"hidden_size\""},
        {"{\"model_type\": \"mistral\"}", "model_type \"mistral\""},
        {"{\"model_type\": \"llama\", \"vocab_size\": 10, \"hidden_size\": 8, \"intermediate_size\": 8, "
         "\"num_hidden_layers\": 1, \"num_attention_heads\": 4, \"num_key_value_heads\": 3}",
         "multiple of num_key_value_heads"},
        {"{\"model_type\": \"llama\", \"rope_scaling\": {\"rope_type\": \"llama3\"}}", "rope_scaling \"llama3\""},
        {"{\"model_type\": \"llama\", \"vocab_size\": 10", "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file_atomic(p, bad[i].json, strlen(bad[i].json));
        expect_failure(read_config, p, bad[i].needle, bad[i].needle);
    }
    free(p);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/strap_formats_XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL, "mkdtemp");
    RUN(test_shard_round_trip);
    RUN(test_loader_windows);
    RUN(test_shard_bad_input);
    RUN(test_records);
    RUN(test_records_bad_input);
    RUN(test_f16_bf16_exact);
    RUN(test_safetensors_round_trip);
    RUN(test_safetensors_bad_input);
    RUN(test_config);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_summary();
}
