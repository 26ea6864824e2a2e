// cmd_data.c: strap data pack | inspect.
#include <inttypes.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../data/jsonl.h"
#include "../data/pack.h"
#include "../data/shard.h"
#include "args.h"
#include "cmd_clean.h"
#include "commands.h"

static int omp_threads(void) {
#ifdef _OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
}

static int data_pack(int argc, char **argv) {
    const char *tokenizer = NULL, *input = NULL, *out = NULL, *field = "text", *bos_text = NULL, *eos_text = NULL;
    int split = 0, frame_tokens = 65536, level = 3, threads = 0;
    int64_t shard_tokens = 10000000;
    float val_fraction = 0;
    Flag flags[] = {
        {"--tokenizer", FLAG_STRING, &tokenizer, "T",
         "a tokenizer.json (or its directory), or 'bytes' (ids 0-255 bytes, 256 BOS, 257 EOS) (required)", NULL},
        {"--bos", FLAG_STRING, &bos_text, "TOKEN",
         "token opening each document (default: <|begin_of_text|> or <s> if the tokenizer has one; 'none')", NULL},
        {"--eos", FLAG_STRING, &eos_text, "TOKEN",
         "token closing each document (default: <|endoftext|>, <|end_of_text|> or </s>; 'none')", NULL},
        {"--input", FLAG_STRING, &input, "FILES",
         ".txt, .jsonl or .jsonl.zst; a comma-separated list or a quoted glob (required)", NULL},
        {"--out", FLAG_STRING, &out, "DIR",
         "output directory for train_NNNNNN.tok.zst (and val/val_NNNNNN.tok.zst) (required)", NULL},
        {"--field", FLAG_STRING, &field, "NAME", "JSON field holding the text", NULL},
        {"--split-paragraphs", FLAG_BOOL, &split, NULL, ".txt: one document per blank-line-separated paragraph", NULL},
        {"--val-fraction", FLAG_FLOAT, &val_fraction, "F", "send every round(1/F)-th document to DIR/val/ (held out)",
         NULL},
        {"--shard-tokens", FLAG_INT64, &shard_tokens, "N", "tokens per shard file", NULL},
        {"--frame-tokens", FLAG_INT, &frame_tokens, "N", "tokens per zstd frame (the unit of random access)", NULL},
        {"--level", FLAG_INT, &level, "L", "zstd compression level", NULL},
        {"--threads", FLAG_INT, &threads, "N", "tokenizer threads (0: all cores); the output does not depend on it",
         NULL},
        {0},
    };
    Command cmd = {"strap data pack --tokenizer (tokenizer.json | bytes) --input FILES --out DIR [options]",
                   "Tokenize documents and write token shards (.tok.zst). Every document becomes "
                   "BOS, its tokens, EOS.",
                   flags,
                   0,
                   NULL,
                   0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--tokenizer", tokenizer != NULL);
    args_require(&cmd, "--input", input != NULL);
    args_require(&cmd, "--out", out != NULL);
    Tokenizer *tok = NULL;
    int bos = BYTES_BOS, eos = BYTES_EOS;
    if (strcmp(tokenizer, "bytes") != 0) {
        tok = tokenizer_load(tokenizer);
        bos = eos = -1;
        const char *bos_names[] = {"<|begin_of_text|>", "<s>", NULL},
                   *eos_names[] = {"<|endoftext|>", "<|end_of_text|>", "</s>", NULL};
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
            if (n == cap) inputs = xrealloc(inputs, (size_t)(cap *= 2) * sizeof(char *));
            inputs[n++] = strdup(matched[i]);
        }
        free_string_list(matched);
    }
    free(list);
    if (threads <= 0) threads = omp_threads();
    Tokenizer **toks = NULL;
    if (tok) { // one tokenizer per thread (each keeps its own scratch)
        toks = xcalloc((size_t)threads, sizeof(Tokenizer *));
        toks[0] = tok;
        for (int i = 1; i < threads; i++) toks[i] = tokenizer_load(tokenizer);
    }
    PackOptions o = {inputs,       n,     out,  field,   split, val_fraction, (uint64_t)shard_tokens,
                     frame_tokens, level, toks, threads, bos,   eos};
    PackStats st = pack_documents(&o);
    for (int i = 1; toks && i < threads; i++) tokenizer_free(toks[i]);
    free(toks);
    uint64_t tokens = st.tokens + st.val_tokens;
    printf("packed %d file(s): %" PRIu64 " documents (%" PRIu64 " validation), %" PRIu64 " tokens (%" PRIu64
           " validation) into %d shard(s) in %s; %" PRIu64 " bytes on disk, %.2f bytes/token, "
           "text/disk ratio %.2f (%" PRIu64 " bytes of text)\n",
           n, st.docs + st.val_docs, st.val_docs, tokens, st.val_tokens, st.shards, out, st.bytes_on_disk,
           tokens ? (double)st.bytes_on_disk / tokens : 0.0,
           st.bytes_on_disk ? (double)st.text_bytes / st.bytes_on_disk : 0.0, st.text_bytes);
    for (int i = 0; i < n; i++) free(inputs[i]);
    free(inputs);
    tokenizer_free(tok);
    return 0;
}

static void print_token(int id, int vocab) {
    if (vocab == BYTES_VOCAB && id == BYTES_BOS)
        printf("<bos>");
    else if (vocab == BYTES_VOCAB && id == BYTES_EOS)
        printf("<eos>");
    else if (vocab == BYTES_VOCAB && id == '\\')
        printf("\\\\");
    else if (vocab == BYTES_VOCAB && id >= 32 && id < 127)
        putchar(id);
    else if (vocab == BYTES_VOCAB && id == '\n')
        printf("\\n");
    else if (vocab == BYTES_VOCAB)
        printf("\\x%02x", id);
}

// A record file: count, fields (how many records carry each), the text field's length
// histogram, and the first records.
static int inspect_records(const char *path, const char *field, int n_show) {
    JsonlReader *r = jsonl_open(path);
    json_t *fields = json_object(), *obj;
    long long records = 0, with_text = 0, total_chars = 0, bucket[6] = {0};
    const long long limits[5] = {64, 256, 1024, 4096, 16384};
    const char *names[6] = {"< 64", "< 256", "< 1k", "< 4k", "< 16k", ">= 16k"};
    while (jsonl_next(r, &obj)) {
        records++;
        const char *key;
        json_t *value;
        json_object_foreach(obj, key, value) {
            json_t *count = json_object_get(fields, key);
            json_object_set_new(fields, key, json_integer(count ? json_integer_value(count) + 1 : 1));
        }
        json_t *text = json_object_get(obj, field);
        if (json_is_string(text)) {
            long long len = (long long)utf8proc_decompose((const utf8proc_uint8_t *)json_string_value(text),
                                                          (utf8proc_ssize_t)json_string_length(text), NULL, 0, 0);
            if (len < 0) len = (long long)json_string_length(text);
            with_text++;
            total_chars += len;
            int b = 0;
            while (b < 5 && len >= limits[b]) b++;
            bucket[b]++;
        }
        if (records <= n_show) {
            char *line = json_dumps(obj, JSON_COMPACT);
            printf("record %-6lld %.300s%s\n", records, line, strlen(line) > 300 ? " ..." : "");
            free(line);
        }
        json_decref(obj);
    }
    jsonl_close(r);
    printf("file           %s\nrecords        %lld\n", path, records);
    printf("fields        ");
    const char *key;
    json_t *value;
    json_object_foreach(fields, key, value) printf(" %s (%lld)", key, (long long)json_integer_value(value));
    printf("\n'%s' lengths  %lld strings, %.1f characters on average\n", field, with_text,
           with_text ? (double)total_chars / with_text : 0.0);
    for (int b = 0; b < 6; b++)
        if (with_text) printf("  %-8s %8lld  %5.1f%%\n", names[b], bucket[b], 100.0 * bucket[b] / with_text);
    json_decref(fields);
    return 0;
}

static int data_inspect(int argc, char **argv) {
    int n_show = 32;
    const char *path = NULL, *tokenizer = NULL, *field = "text";
    int n_records = 3;
    Flag flags[] = {
        {"--tokens", FLAG_INT, &n_show, "N", "how many leading tokens to print", NULL},
        {"--records", FLAG_INT, &n_records, "N", "record files: how many records to print", NULL},
        {"--field", FLAG_STRING, &field, "NAME", "record files: the text field", NULL},
        {"--tokenizer", FLAG_STRING, &tokenizer, "T", "tokenizer.json to show the tokens as text", NULL},
        {0},
    };
    Command cmd = {"strap data inspect (FILE.tok.zst [--tokens N] [--tokenizer T] | FILE.jsonl[.zst])",
                   "Print a shard's header, counts, compression and first tokens (reading every frame, "
                   "so it also verifies the checksums), or a record file's count, fields, text lengths "
                   "and first records.",
                   flags,
                   1,
                   &path,
                   0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "FILE", cmd.n_positional == 1);
    if (n_show < 0 || n_records < 0) args_error(&cmd, "--tokens and --records must not be negative");
    if (jsonl_is_jsonl_path(path)) return inspect_records(path, field, n_records);
    Tokenizer *tok = tokenizer ? tokenizer_load(tokenizer) : NULL;
    Shard *s = shard_open(path);
    printf("file           %s\n", path);
    printf("format         strap token shard v%d\n", SHARD_VERSION);
    printf("vocab_size     %d%s\n", s->vocab_size, s->vocab_size == BYTES_VOCAB ? " (byte-level tokenizer)" : "");
    printf("token_bytes    %d\n", s->token_bytes);
    printf("tokens         %" PRIu64 "\n", s->n_tokens);
    printf("documents      %" PRIu64 "\n", s->n_docs);
    printf("frames         %" PRIu64 " of up to %d tokens (index at byte %" PRIu64 ")\n", s->n_frames, s->frame_tokens,
           s->index_offset);
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
