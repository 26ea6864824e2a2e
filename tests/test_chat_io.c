// test_chat_io.c: model/chat_io.h, how prompts go into a model and answers come out:
// against chat_encode / chat_stop_ids / the tokenizer used directly (the default system
// message, BOS in the plain format, the model's EOS ids after the format's stop ids), the
// end-of-turn token left out of a decoded answer, byte-level models, and a model without
// a tokenizer that is not byte-level.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../data/pack.h"
#include "../model/chat_io.h"
#include "test.h"

static char dir[] = "/tmp/strap_chat_io_XXXXXX";

static LlamaConfig config(int vocab, int bos, int eos) {
    LlamaConfig c;
    memset(&c, 0, sizeof c);
    c.vocab_size = vocab, c.bos_token_id = bos;
    if (eos >= 0) c.eos_token_ids[c.n_eos++] = eos;
    return c;
}

static int same_ids(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof(int32_t)) == 0);
}

static void write_text(const char *name, const char *text) {
    char *path = path_join(dir, name);
    write_file_atomic(path, text, strlen(text));
    free(path);
}

static void test_chatml(void) {
    size_t n;
    char *tok_json = read_file("tests/ref/fixtures/tok/llama3.tokenizer.json", &n);
    write_text("tokenizer.json", tok_json);
    free(tok_json);
    write_text("tokenizer_config.json",
               "{\"chat_template\": \"{% if messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a "
               "test assistant.<|im_end|>\\n' }}{% endif %}{% for m in messages %}<|im_start|>{{ m.role }}\\n{{ "
               "m.content }}<|im_end|>\\n{% endfor %}\"}");
    LlamaConfig c = config(200000, 1, 2);
    ChatIO io;
    chat_io_open(&io, dir, &c, NULL, "test_chat_io");
    EXPECT(io.tok && io.format == CHAT_CHATML, "chatml not detected");
    EXPECT(io.default_system && strcmp(io.default_system, "You are a test assistant.") == 0, "default system '%s'",
           io.default_system ? io.default_system : "(none)");
    int stop[8], n_stop = chat_stop_ids(io.tok, CHAT_CHATML, stop);
    EXPECT(io.n_stop == n_stop + 1 && memcmp(io.stop, stop, (size_t)n_stop * sizeof(int)) == 0 && io.stop[n_stop] == 2,
           "stop ids: %d of them, want the format's %d then the model's EOS", io.n_stop, n_stop);

    // system NULL: the default; a given system replaces it; no BOS outside the plain format
    const char *systems[2] = {NULL, "Be brief."};
    for (int k = 0; k < 2; k++) {
        size_t got_n, want_n = 0, cap = 0;
        int32_t *got = chat_io_encode(&io, systems[k], "Hello there", &got_n), *want = NULL;
        chat_encode(io.tok, CHAT_CHATML, systems[k] ? systems[k] : "You are a test assistant.", "Hello there", &want,
                    &want_n, &cap);
        EXPECT(same_ids(got, got_n, want, want_n), "chatml encode, system %s: %zu ids, want %zu",
               systems[k] ? "given" : "default", got_n, want_n);
        free(got), free(want);
    }

    // an answer that ends with the end-of-turn token, and one cut at the length limit
    int32_t *ids = NULL;
    size_t n_ids = 0, cap = 0;
    tokenizer_encode(io.tok, "Fine, thanks.", strlen("Fine, thanks."), 0, &ids, &n_ids, &cap);
    int *answer = xmalloc((n_ids + 1) * sizeof(int));
    for (size_t i = 0; i < n_ids; i++) answer[i] = ids[i];
    answer[n_ids] = io.stop[0];
    size_t len;
    char *text = chat_io_decode(&io, answer, (int)n_ids + 1, FINISH_EOS, &len);
    EXPECT(len == strlen("Fine, thanks.") && strcmp(text, "Fine, thanks.") == 0, "decoded '%s'", text);
    free(text);
    text = chat_io_decode(&io, answer, (int)n_ids, FINISH_LENGTH, &len);
    EXPECT(strcmp(text, "Fine, thanks.") == 0, "decoded (length) '%s'", text);
    free(text);
    text = chat_io_decode(&io, answer, 0, FINISH_LENGTH, &len);
    EXPECT(len == 0 && text && text[0] == 0, "an empty answer is an empty string");
    free(text), free(answer), free(ids);
    chat_io_close(&io);

    // the plain format (by name): BOS first, no default system message
    chat_io_open(&io, dir, &c, "plain", "test_chat_io");
    EXPECT(io.format == CHAT_PLAIN && io.default_system == NULL, "plain: format %d, default system %s", io.format,
           io.default_system ? io.default_system : "(none)");
    size_t got_n, want_n = 0;
    cap = 0;
    int32_t *got = chat_io_encode(&io, NULL, "Hello there", &got_n), *want = NULL;
    chat_encode(io.tok, CHAT_PLAIN, NULL, "Hello there", &want, &want_n, &cap);
    EXPECT(got_n == want_n + 1 && got[0] == 1 && same_ids(got + 1, got_n - 1, want, want_n),
           "plain encode: %zu ids (first %d), want BOS 1 then %zu", got_n, got_n ? got[0] : -1, want_n);
    free(got), free(want);
    chat_io_close(&io);
    char *p = path_join(dir, "tokenizer.json");
    remove(p);
    free(p);
    p = path_join(dir, "tokenizer_config.json");
    remove(p);
    free(p);
}

static void test_bytes(void) {
    LlamaConfig c = config(BYTES_VOCAB, -1, -1);
    ChatIO io;
    chat_io_open(&io, dir, &c, NULL, "test_chat_io");
    EXPECT(io.tok == NULL && io.n_stop == 1 && io.stop[0] == BYTES_EOS, "byte-level: stop %d of %d", io.stop[0],
           io.n_stop);
    size_t n;
    int32_t *ids = chat_io_encode(&io, "ignored", "ab\xc3\xa9", &n);
    const int32_t want[5] = {BYTES_BOS, 'a', 'b', 0xc3, 0xa9};
    EXPECT(same_ids(ids, n, want, 5), "byte-level encode: %zu ids", n);
    free(ids);
    const int out[5] = {'h', 'i', BYTES_BOS, '!', BYTES_EOS};
    size_t len;
    char *text = chat_io_decode(&io, out, 5, FINISH_EOS, &len);
    EXPECT(len == 3 && strcmp(text, "hi!") == 0, "byte-level decode '%s'", text);
    free(text);
    chat_io_close(&io);
}

static void open_without_tokenizer(const char *unused) {
    (void)unused;
    LlamaConfig c = config(1000, 1, 2);
    ChatIO io;
    chat_io_open(&io, dir, &c, NULL, "the test");
}

static void test_missing_tokenizer(void) {
    expect_failure_exit(open_without_tokenizer, NULL, "the test needs the model's tokenizer", "tokenizer.json",
                        "a model without tokenizer.json that is not byte-level");
}

int main(void) {
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_chatml);
    RUN(test_bytes);
    RUN(test_missing_tokenizer);
    rmdir(dir);
    return test_summary();
}
