// fuzz_tokenizer.c: tokenizer_load (tokenizer.json: vocab, merges, added tokens, pre-
// tokenizer) and an encode / decode round of a fixed text with special tokens.
#include "../../data/tokenizer.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write(data, size, "tokenizer.json");
    FUZZ_RUN({
        Tokenizer *t = tokenizer_load(path);
        static const char text[] = "Hello, wörld! <|im_start|>user\n 12345 \xe2\x80\x94 tabs\tand  spaces<|endoftext|>";
        int32_t *ids = NULL;
        size_t n = 0, cap = 0, ocap = 0;
        tokenizer_encode(t, text, sizeof text - 1, 1, &ids, &n, &cap);
        char *out = NULL;
        tokenizer_decode(t, ids, n, &out, &ocap);
        free(ids), free(out);
        tokenizer_free(t);
    });
    return 0;
}
