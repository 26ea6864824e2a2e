// cmd_data.c: strap data pack | inspect.
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../data/io.h"
#include "../data/pack.h"
#include "../data/shard.h"
#include "../kernels/check.h"
#include "args.h"
#include "cmd_clean.h"
#include "commands.h"

static int data_pack(int argc, char **argv) {
    const char *tokenizer = NULL, *input = NULL, *out = NULL, *field = "text", *bos_text = NULL, *eos_text = NULL;
    int split = 0, frame_tokens = 65536, level = 3;
    int64_t shard_tokens = 10000000;
    float val_fraction = 0;
    Flag flags[] = {
        {"--tokenizer", FLAG_STRING, &tokenizer, "T", "a tokenizer.json (or its directory), or 'bytes' (ids 0-255 bytes, 256 BOS, 257 EOS) (required)", NULL},
        {"--bos", FLAG_STRING, &bos_text, "TOKEN", "token opening each document (default: <|begin_of_text|> or <s> if the tokenizer has one; 'none')", NULL},
        {"--eos", FLAG_STRING, &eos_text, "TOKEN", "token closing each document (default: <|endoftext|>, <|end_of_text|> or </s>; 'none')", NULL},
        {"--input", FLAG_STRING, &input, "FILES", ".txt, .jsonl or .jsonl.zst; a comma-separated list or a quoted glob (required)", NULL},
        {"--out", FLAG_STRING, &out, "DIR", "output directory for train_NNNNNN.tok.zst (and val/val_NNNNNN.tok.zst) (required)", NULL},
        {"--field", FLAG_STRING, &field, "NAME", "JSON field holding the text", NULL},
        {"--split-paragraphs", FLAG_BOOL, &split, NULL, ".txt: one document per blank-line-separated paragraph", NULL},
        {"--val-fraction", FLAG_FLOAT, &val_fraction, "F", "send every round(1/F)-th document to DIR/val/ (held out)", NULL},
        {"--shard-tokens", FLAG_INT64, &shard_tokens, "N", "tokens per shard file", NULL},
        {"--frame-tokens", FLAG_INT, &frame_tokens, "N", "tokens per zstd frame (the unit of random access)", NULL},
        {"--level", FLAG_INT, &level, "L", "zstd compression level", NULL},
        {0},
    };
    Command cmd = {"strap data pack --tokenizer (tokenizer.json | bytes) --input FILES --out DIR [options]",
                   "Tokenize documents and write token shards (.tok.zst). Every document becomes "
                   "BOS, its tokens, EOS.",
                   flags, 0, NULL, 0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--tokenizer", tokenizer != NULL);
    args_require(&cmd, "--input", input != NULL);
    args_require(&cmd, "--out", out != NULL);
    Tokenizer *tok = NULL;
    int bos = BYTES_BOS, eos = BYTES_EOS;
    if (strcmp(tokenizer, "bytes") != 0) {
        tok = tokenizer_load(tokenizer);
        bos = eos = -1;
        const char *bos_names[] = {"<|begin_of_text|>", "<s>", NULL}, *eos_names[] = {"<|endoftext|>", "<|end_of_text|>", "</s>", NULL};
        for (int i = 0; bos_names[i] && bos < 0; i++) bos = tokenizer_token_id(tok, bos_names[i]);
        for (int i = 0; eos_names[i] && eos < 0; i++) eos = tokenizer_token_id(tok, eos_names[i]);
    }
    if (bos_text) {
        bos = strcmp(bos_text, "none") == 0 ? -1 : tok ? tokenizer_token_id(tok, bos_text) : -2;
        if (bos == -2 || (bos < 0 && strcmp(bos_text, "none") != 0))
            fail("--bos '%s' is not an added token of %s", bos_text, tokenizer);
    }
    if (eos_text) {
        eos = strcmp(eos_text, "none") == 0 ? -1 : tok ? tokenizer_token_id(tok, eos_text) : -2;
        if (eos == -2 || (eos < 0 && strcmp(eos_text, "none") != 0))
            fail("--eos '%s' is not an added token of %s", eos_text, tokenizer);
    }
    if (shard_tokens < 1 || frame_tokens < 1 || frame_tokens > (1 << 24))
        args_error(&cmd, "--shard-tokens and --frame-tokens must be positive (frame at most 16M tokens)");
    if (val_fraction < 0 || val_fraction > 0.5f) args_error(&cmd, "--val-fraction must lie in [0, 0.5]");

    // inputs: comma-separated; each item a file or a glob
    int n = 0, cap = 16;
    char **inputs = xmalloc((size_t)cap * sizeof(char *));
    char *list = strdup(input);
    for (char *item = strtok(list, ","); item; item = strtok(NULL, ",")) {
        int count = 0;
        char **matched = NULL;
        if (path_exists(item)) {
            matched = xcalloc(2, sizeof(char *));
            matched[0] = strdup(item);
            count = 1;
        } else if (strpbrk(item, "*?[")) {
            matched = expand_inputs(item, "", &count);
        } else {
            fail("--input: %s does not exist", item);
        }
        for (int i = 0; i < count; i++) {
            if (n == cap) inputs = realloc(inputs, (size_t)(cap *= 2) * sizeof(char *));
            inputs[n++] = strdup(matched[i]);
        }
        free_string_list(matched);
    }
    free(list);
    PackOptions o = {inputs, n, out, field, split, val_fraction, (uint64_t)shard_tokens, frame_tokens, level, tok, bos, eos};
    PackStats st = pack_documents(&o);
    uint64_t tokens = st.tokens + st.val_tokens;
    printf("packed %d file(s): %" PRIu64 " documents (%" PRIu64 " validation), %" PRIu64 " tokens (%" PRIu64
           " validation) into %d shard(s) in %s; %" PRIu64 " bytes on disk, %.2f bytes/token\n",
           n, st.docs + st.val_docs, st.val_docs, tokens, st.val_tokens, st.shards, out, st.bytes_on_disk,
           tokens ? (double)st.bytes_on_disk / tokens : 0.0);
    for (int i = 0; i < n; i++) free(inputs[i]);
    free(inputs);
    tokenizer_free(tok);
    return 0;
}

static void print_token(int id, int vocab) {
    if (vocab == BYTES_VOCAB && id == BYTES_BOS) printf("<bos>");
    else if (vocab == BYTES_VOCAB && id == BYTES_EOS) printf("<eos>");
    else if (vocab == BYTES_VOCAB && id >= 32 && id < 127 && id != '\\') putchar(id);
    else if (vocab == BYTES_VOCAB && id == '\n') printf("\\n");
    else if (vocab == BYTES_VOCAB) printf("\\x%02x", id);
}

static int data_inspect(int argc, char **argv) {
    int n_show = 32;
    const char *path = NULL, *tokenizer = NULL;
    Flag flags[] = {
        {"--tokens", FLAG_INT, &n_show, "N", "how many leading tokens to print", NULL},
        {"--tokenizer", FLAG_STRING, &tokenizer, "T", "tokenizer.json to show the tokens as text", NULL},
        {0},
    };
    Command cmd = {"strap data inspect FILE.tok.zst [--tokens N] [--tokenizer T]",
                   "Print a shard's header, counts, compression and first tokens. Reads every frame, "
                   "so it also verifies the checksums.",
                   flags, 1, &path, 0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "FILE", cmd.n_positional == 1);
    Tokenizer *tok = tokenizer ? tokenizer_load(tokenizer) : NULL;
    Shard *s = shard_open(path);
    printf("file           %s\n", path);
    printf("format         strap token shard v%d\n", SHARD_VERSION);
    printf("vocab_size     %d%s\n", s->vocab_size, s->vocab_size == BYTES_VOCAB ? " (byte-level tokenizer)" : "");
    printf("token_bytes    %d\n", s->token_bytes);
    printf("tokens         %" PRIu64 "\n", s->n_tokens);
    printf("documents      %" PRIu64 "\n", s->n_docs);
    printf("frames         %" PRIu64 " of up to %d tokens\n", s->n_frames, s->frame_tokens);
    printf("bytes          %" PRIu64 " (%.3f bytes/token, %.2fx smaller than raw ids)\n", s->file_size,
           s->n_tokens ? (double)s->file_size / s->n_tokens : 0.0,
           s->file_size ? (double)s->n_tokens * s->token_bytes / s->file_size : 0.0);
    int32_t *frame = xmalloc((size_t)s->frame_tokens * sizeof(int32_t));
    for (uint64_t k = 0; k < s->n_frames; k++) shard_read_frame(s, k, frame); // verifies every frame
    printf("checksums      ok (%" PRIu64 " frames)\n", s->n_frames);
    uint64_t show = (uint64_t)n_show < s->n_tokens ? (uint64_t)n_show : s->n_tokens;
    int32_t *ids = xmalloc((show + 1) * sizeof(int32_t));
    shard_read(s, 0, show, ids);
    printf("first %-8" PRIu64 " ", show);
    for (uint64_t i = 0; i < show; i++) printf("%s%d", i ? " " : "", ids[i]);
    printf("\n");
    if (tok) {
        printf("as text        ");
        for (uint64_t i = 0; i < show; i++) { // each token's bytes, escaped
            char *text = NULL;
            size_t cap = 0, len = tokenizer_decode(tok, &ids[i], 1, &text, &cap);
            printf("%s", i ? "|" : "");
            for (size_t k = 0; k < len; k++) print_token((unsigned char)text[k], BYTES_VOCAB);
            free(text);
        }
        printf("\n");
        tokenizer_free(tok);
    } else if (s->vocab_size == BYTES_VOCAB) {
        printf("as text        ");
        for (uint64_t i = 0; i < show; i++) print_token(ids[i], s->vocab_size);
        printf("\n");
    }
    free(ids);
    free(frame);
    shard_close(s);
    return 0;
}

int cmd_data(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "pack") == 0) return data_pack(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "inspect") == 0) return data_inspect(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "clean") == 0) return cmd_data_clean(argc - 1, argv + 1);
    int help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    FILE *f = help ? stdout : stderr;
    if (!help && argc >= 2) fprintf(stderr, "strap: error: unknown data command '%s'\n\n", argv[1]);
    fprintf(f, "usage: strap data <command> [options]\n\ncommands:\n"
               "  pack      tokenize text (.txt, .jsonl, .jsonl.zst) into token shards\n"
               "  inspect   print a shard's header, counts and first tokens\n"
               "  clean     normalise, repair, filter and deduplicate a record file\n");
    return help ? 0 : 2;
}
