// cmd_tok.c: strap tok train | encode | decode.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../data/bpe_train.h"
#include "../data/tokenizer.h"
#include "args.h"
#include "commands.h"

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
            fail("--input: %s does not exist", item);
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

static int tok_train(int argc, char **argv) {
    const char *input = NULL, *out = NULL, *field = "text", *pattern = "llama3", *special = "<|endoftext|>";
    int vocab = 0;
    Flag flags[] = {
        {"--input", FLAG_STRING, &input, "FILES",
         ".txt, .jsonl or .jsonl.zst; comma-separated or a quoted glob (required)", NULL},
        {"--vocab", FLAG_INT, &vocab, "N", "vocabulary size including the special tokens (required)", NULL},
        {"--out", FLAG_STRING, &out, "FILE", "tokenizer.json to write (required)", NULL},
        {"--pattern", FLAG_STRING, &pattern, "P", "pre-tokenizer regex: gpt2 or llama3", NULL},
        {"--special", FLAG_STRING, &special, "LIST", "comma-separated special tokens (ids 0, 1, ...); '' for none",
         NULL},
        {"--field", FLAG_STRING, &field, "NAME", "JSON field holding the text", NULL},
        {0},
    };
    Command cmd = {"strap tok train --input FILES --vocab N --out tokenizer.json [options]",
                   "Train a byte-level BPE tokenizer; Hugging Face `tokenizers` loads the result and "
                   "encodes identically.",
                   flags,
                   0,
                   NULL,
                   0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--input", input != NULL);
    args_require(&cmd, "--vocab", vocab > 0);
    args_require(&cmd, "--out", out != NULL);
    BpeTrainOptions o = {0};
    o.inputs = split_list(input, 1, &o.n_inputs);
    o.special = split_list(special, 0, &o.n_special);
    o.field = field, o.vocab_size = vocab, o.pattern = pattern, o.out = out;
    BpeTrainStats st = bpe_train(&o);
    printf("trained %s: vocabulary %d (%d merges, %d special) from %lld documents, %lld bytes, %lld unique pieces\n",
           out, st.vocab_size, st.merges, o.n_special, st.documents, st.bytes, st.unique_pieces);
    free_string_list(o.inputs);
    free_string_list(o.special);
    return 0;
}

static int tok_encode(int argc, char **argv) {
    const char *tokenizer = NULL, *text = NULL;
    int json = 0, allow_special = 0;
    Flag flags[] = {
        {"--tokenizer", FLAG_STRING, &tokenizer, "T", "tokenizer.json or a model directory (required)", NULL},
        {"--text", FLAG_STRING, &text, "S", "text to encode (default: standard input)", NULL},
        {"--json", FLAG_BOOL, &json, NULL, "print a JSON array", NULL},
        {"--allow-special", FLAG_BOOL, &allow_special, NULL, "turn special-token text such as <|im_end|> into its id",
         NULL},
        {0},
    };
    Command cmd = {"strap tok encode --tokenizer T [--text S | < stdin] [--json] [--allow-special]",
                   "Print the token ids of a text, space-separated.",
                   flags,
                   0,
                   NULL,
                   0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--tokenizer", tokenizer != NULL);
    Tokenizer *t = tokenizer_load(tokenizer);
    size_t len;
    char *owned = NULL;
    if (text)
        len = strlen(text);
    else
        text = owned = read_stdin(&len);
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    tokenizer_encode(t, text, len, allow_special, &ids, &n, &cap);
    printf("%s", json ? "[" : "");
    for (size_t i = 0; i < n; i++) printf("%s%d", i ? (json ? ", " : " ") : "", ids[i]);
    printf("%s\n", json ? "]" : "");
    free(ids), free(owned);
    tokenizer_free(t);
    return 0;
}

static int tok_decode(int argc, char **argv) {
    const char *tokenizer = NULL, *ids_text = NULL;
    Flag flags[] = {
        {"--tokenizer", FLAG_STRING, &tokenizer, "T", "tokenizer.json or a model directory (required)", NULL},
        {"--ids", FLAG_STRING, &ids_text, "IDS", "ids separated by spaces or commas (default: standard input)", NULL},
        {0},
    };
    Command cmd = {"strap tok decode --tokenizer T [--ids '1 2 3' | < stdin]",
                   "Print the text of token ids (raw bytes, exactly as encoded).",
                   flags,
                   0,
                   NULL,
                   0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--tokenizer", tokenizer != NULL);
    Tokenizer *t = tokenizer_load(tokenizer);
    size_t len;
    char *owned = NULL;
    if (ids_text)
        len = strlen(ids_text);
    else
        ids_text = owned = read_stdin(&len);
    size_t n = 0, cap = 64;
    int32_t *ids = xmalloc(cap * sizeof(int32_t));
    const char *source = owned ? "standard input" : "--ids";
    int vocab = tokenizer_vocab_size(t);
    for (const char *p = ids_text; p < ids_text + len && *p;) {
        if (strchr(" ,\t\n\r[]", *p)) {
            p++;
            continue;
        }
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 0)
            fail("%s: '%.*s' (byte %td) is not a token id: give non-negative integers separated by spaces or commas",
                 source, (int)(strcspn(p, " ,\t\n\r[]") < 20 ? strcspn(p, " ,\t\n\r[]") : 20), p, p - ids_text + 1);
        if (errno == ERANGE || v >= vocab)
            fail("%s: id %.*s (id %zu, byte %td) is outside the vocabulary of %s (ids 0..%d)", source, (int)(end - p),
                 p, n + 1, p - ids_text + 1, tokenizer, vocab - 1);
        if (n == cap) ids = xrealloc(ids, (cap *= 2) * sizeof(int32_t));
        ids[n++] = (int32_t)v;
        p = end;
    }
    char *out = NULL;
    size_t ocap = 0, olen = tokenizer_decode(t, ids, n, &out, &ocap);
    fwrite(out, 1, olen, stdout);
    free(out), free(ids), free(owned);
    tokenizer_free(t);
    return 0;
}

int cmd_tok(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "train") == 0) return tok_train(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "encode") == 0) return tok_encode(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "decode") == 0) return tok_decode(argc - 1, argv + 1);
    int help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    FILE *f = help ? stdout : stderr;
    if (!help && argc >= 2) fprintf(stderr, "strap: error: unknown tok command '%s'\n\n", argv[1]);
    fprintf(f, "usage: strap tok <command> [options]\n\ncommands:\n"
               "  train     train a byte-level BPE tokenizer (writes tokenizer.json)\n"
               "  encode    text -> token ids\n"
               "  decode    token ids -> text\n");
    return help ? 0 : 2;
}
