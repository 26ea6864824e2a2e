// test_tokenizer.c: byte-level BPE against Hugging Face `tokenizers` (fixtures made by
// tests/ref/make_tokenizer_fixtures.py), round trips on random bytes, special-token rules.
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/rng.h"
#include "../data/bpe_train.h"
#include "../data/tokenizer.h"
#include "test.h"

static const char *STYLES[] = {"gpt2", "llama3", "smollm", "strap"};
#define N_STYLES 4

static Tokenizer *load_style(const char *style) {
    char path[256];
    snprintf(path, sizeof path, "tests/ref/fixtures/tok/%s.tokenizer.json", style);
    return tokenizer_load(path);
}

static void test_hf_parity(void) {
    json_error_t err;
    json_t *cases = json_load_file("tests/ref/fixtures/tok/cases.json", 0, &err);
    EXPECT(cases != NULL, "cases.json: %s", err.text);
    if (!cases) return;
    json_t *texts = json_object_get(cases, "texts");
    for (int s = 0; s < N_STYLES; s++) {
        Tokenizer *t = load_style(STYLES[s]);
        json_t *expected = json_object_get(cases, STYLES[s]);
        size_t i;
        json_t *text;
        int mismatches = 0;
        json_array_foreach(texts, i, text) {
            int32_t *ids = NULL;
            size_t n = 0, cap = 0;
            tokenizer_encode(t, json_string_value(text), json_string_length(text), 1, &ids, &n, &cap);
            json_t *want = json_array_get(expected, i);
            int same = n == json_array_size(want);
            for (size_t k = 0; same && k < n; k++) same = ids[k] == json_integer_value(json_array_get(want, k));
            if (!same && mismatches++ < 3) {
                fprintf(stderr, "    %s: text %zu '%.40s': got %zu ids [", STYLES[s], i, json_string_value(text), n);
                for (size_t k = 0; k < n && k < 12; k++) fprintf(stderr, " %d", ids[k]);
                fprintf(stderr, " ] want %zu [", json_array_size(want));
                for (size_t k = 0; k < json_array_size(want) && k < 12; k++)
                    fprintf(stderr, " %lld", (long long)json_integer_value(json_array_get(want, k)));
                fprintf(stderr, " ]\n");
            }
            char *out = NULL;
            size_t ocap = 0, olen = tokenizer_decode(t, ids, n, &out, &ocap);
            EXPECT(olen == json_string_length(text) && memcmp(out, json_string_value(text), olen) == 0,
                   "%s: decode(encode(text %zu)) differs", STYLES[s], i);
            free(out);
            free(ids);
        }
        EXPECT(mismatches == 0, "%s: %d of %zu texts encode differently from HF tokenizers", STYLES[s], mismatches,
               json_array_size(texts));
        tokenizer_free(t);
    }
    json_decref(cases);
}

static void test_random_bytes_round_trip(void) {
    Rng r;
    rng_seed(&r, 77);
    for (int s = 0; s < N_STYLES; s++) {
        Tokenizer *t = load_style(STYLES[s]);
        int bad = 0;
        for (int k = 0; k < 300; k++) {
            size_t len = rng_u64(&r) % 200;
            char *text = xmalloc(len + 1);
            for (size_t i = 0; i < len; i++) // random bytes, biased towards ASCII and UTF-8 lead bytes
                text[i] = (char)(k % 3 == 0 ? rng_u64(&r) % 256
                                            : (rng_u64(&r) % 4 ? 32 + rng_u64(&r) % 95 : 0xC0 + rng_u64(&r) % 64));
            int32_t *ids = NULL;
            size_t n = 0, cap = 0;
            tokenizer_encode(t, text, len, 0, &ids, &n, &cap);
            char *out = NULL;
            size_t ocap = 0, olen = tokenizer_decode(t, ids, n, &out, &ocap);
            bad += olen != len || memcmp(out, text, len) != 0;
            free(out), free(ids), free(text);
        }
        EXPECT(bad == 0, "%s: %d of 300 random byte strings did not round-trip", STYLES[s], bad);
        tokenizer_free(t);
    }
}

static void test_special_tokens_need_permission(void) {
    Tokenizer *t = load_style("llama3");
    const char *text = "<|im_start|>user\nhi<|im_end|>";
    int start = tokenizer_token_id(t, "<|im_start|>"), end = tokenizer_token_id(t, "<|im_end|>");
    EXPECT(start >= 0 && end >= 0, "special ids %d %d", start, end);
    for (int allow = 0; allow < 2; allow++) {
        int32_t *ids = NULL;
        size_t n = 0, cap = 0;
        tokenizer_encode(t, text, strlen(text), allow, &ids, &n, &cap);
        int found = 0;
        for (size_t i = 0; i < n; i++) found += ids[i] == start || ids[i] == end;
        EXPECT(found == (allow ? 2 : 0), "allow_special=%d: %d special ids", allow, found);
        char *out = NULL;
        size_t ocap = 0;
        tokenizer_decode(t, ids, n, &out, &ocap);
        EXPECT(strcmp(out, text) == 0, "allow_special=%d: decode gives '%s'", allow, out);
        free(out), free(ids);
    }
    tokenizer_free(t);
}

// Retraining on the committed corpus reproduces the committed tokenizer byte for byte
// (training is deterministic and its output format is stable).
static void test_train_deterministic(void) {
    char *specials[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>", NULL};
    char *inputs[] = {"tests/ref/fixtures/tok/strap_corpus.txt", NULL};
    BpeTrainOptions o = {inputs, 1, "text", 600, "llama3", specials, 3, "/tmp/strap_test_tok.json"};
    BpeTrainStats st = bpe_train(&o);
    EXPECT(st.vocab_size == 600, "vocabulary %d", st.vocab_size);
    size_t a_len, b_len;
    char *a = read_file("/tmp/strap_test_tok.json", &a_len),
         *b = read_file("tests/ref/fixtures/tok/strap.tokenizer.json", &b_len);
    EXPECT(a_len == b_len && memcmp(a, b, a_len) == 0, "retrained tokenizer.json differs from the committed one");
    free(a), free(b);
    remove("/tmp/strap_test_tok.json");
}

int main(void) {
    RUN(test_hf_parity);
    RUN(test_random_bytes_round_trip);
    RUN(test_special_tokens_need_permission);
    RUN(test_train_deterministic);
    return test_summary();
}
