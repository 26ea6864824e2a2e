// inspect.c: see inspect.h.
#include "inspect.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "../base/check.h"
#include "jsonl.h"
#include "pack.h"
#include "shard.h"
#include "tokenizer.h"

void inspect_options_default(InspectOptions *o) {
    memset(o, 0, sizeof *o);
    o->tokens = 32;
    o->records = 3;
    o->field = "text";
}

// One token of a byte-level vocabulary as text: BOS, EOS, printable ASCII, \\, \n, \xHH.
// Prints nothing for other vocabularies.
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

// A token shard: header, counts, compression, every frame read (checksums), the first
// n_show tokens, and as text where a tokenizer or the byte-level vocabulary gives one.
static int inspect_shard(const char *path, const char *tokenizer, int n_show) {
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

int inspect_run(const InspectOptions *o) {
    if (jsonl_is_jsonl_path(o->path)) return inspect_records(o->path, o->field, o->records);
    return inspect_shard(o->path, o->tokenizer, o->tokens);
}
