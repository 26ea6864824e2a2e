// tok_run.c: see tok_run.h.
#include "tok_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "bpe_train.h"
#include "token_ids.h"
#include "tokenizer.h"

void tok_train_options_default(TokTrainOptions *o) {
    memset(o, 0, sizeof *o);
    o->field = "text";
    o->pattern = "llama3";
    o->special = "<|endoftext|>";
}

void tok_encode_options_default(TokEncodeOptions *o) { memset(o, 0, sizeof *o); }

void tok_decode_options_default(TokDecodeOptions *o) { memset(o, 0, sizeof *o); }

// The whole of stdin, NUL-terminated (len excludes the NUL).
static char *read_stdin(size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *buf = xmalloc(cap + 1);
    for (size_t got; (got = fread(buf + n, 1, cap - n, stdin)) > 0;) {
        n += got;
        if (n == cap) buf = xrealloc(buf, (cap *= 2) + 1);
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

// Splits a comma-separated list into a NULL-terminated array (expanding globs for inputs).
static char **split_list(const char *list, int glob_inputs, int *count) {
    int n = 0, cap = 8;
    char **out = xcalloc((size_t)cap + 1, sizeof(char *));
    char *copy = strdup(list), *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char **matched = NULL;
        int k = 1;
        if (glob_inputs && !path_exists(item) && strpbrk(item, "*?["))
            matched = expand_inputs(item, "", &k);
        else if (glob_inputs && !path_exists(item))
            fail("the input %s does not exist", item);
        for (int i = 0; i < k; i++) {
            if (n + 1 >= cap) out = xrealloc(out, (size_t)(cap *= 2) * sizeof(char *) + sizeof(char *));
            out[n++] = strdup(matched ? matched[i] : item);
        }
        free_string_list(matched);
    }
    out[n] = NULL;
    free(copy);
    *count = n;
    return out;
}

int tok_train_run(const TokTrainOptions *o) {
    BpeTrainOptions b = {0};
    b.inputs = split_list(o->input, 1, &b.n_inputs);
    b.special = split_list(o->special, 0, &b.n_special);
    b.field = o->field, b.vocab_size = o->vocab, b.pattern = o->pattern, b.out = o->out;
    BpeTrainStats st = bpe_train(&b);
    printf("trained %s: vocabulary %d (%d merges, %d special) from %lld documents, %lld bytes, %lld unique pieces\n",
           o->out, st.vocab_size, st.merges, b.n_special, st.documents, st.bytes, st.unique_pieces);
    free_string_list(b.inputs);
    free_string_list(b.special);
    return 0;
}

int tok_encode_run(const TokEncodeOptions *o) {
    Tokenizer *t = tokenizer_load(o->tokenizer);
    const char *text = o->text;
    size_t len;
    char *owned = NULL;
    if (text)
        len = strlen(text);
    else
        text = owned = read_stdin(&len);
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    tokenizer_encode(t, text, len, o->allow_special, &ids, &n, &cap);
    printf("%s", o->json ? "[" : "");
    for (size_t i = 0; i < n; i++) printf("%s%d", i ? (o->json ? ", " : " ") : "", ids[i]);
    printf("%s\n", o->json ? "]" : "");
    free(ids), free(owned);
    tokenizer_free(t);
    return 0;
}

int tok_decode_run(const TokDecodeOptions *o) {
    Tokenizer *t = tokenizer_load(o->tokenizer);
    const char *ids_text = o->ids;
    size_t len;
    char *owned = NULL;
    if (ids_text)
        len = strlen(ids_text);
    else
        ids_text = owned = read_stdin(&len);
    size_t n;
    int32_t *ids = token_ids_parse(ids_text, len, owned ? "standard input" : "the ids given", tokenizer_vocab_size(t),
                                   o->tokenizer, &n);
    char *out = NULL;
    size_t ocap = 0, olen = tokenizer_decode(t, ids, n, &out, &ocap);
    fwrite(out, 1, olen, stdout);
    free(out), free(ids), free(owned);
    tokenizer_free(t);
    return 0;
}
