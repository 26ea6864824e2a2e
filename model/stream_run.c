// stream_run.c: see stream_run.h.
#include "stream_run.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/check.h"
#include "../base/progress.h"
#include "../data/text_utf8.h"
#include "chat_io.h"
#include "generate.h"

typedef struct {
    Tokenizer *tok; // NULL: byte-level ids
    int *ids;
    int n;
    size_t printed;
    char *text;
    size_t text_cap;
    const int *stop_ids; // end-of-turn tokens: not printed
    int n_stop;
    const char *stop_text; // --stop: generation ends once the text contains it (not printed)
    int print;             // stream to stdout
} Stream;

static size_t decode_all(Stream *s) {
    if (s->tok) return tokenizer_decode(s->tok, (const int32_t *)s->ids, (size_t)s->n, &s->text, &s->text_cap);
    if ((size_t)s->n + 1 > s->text_cap) {
        s->text_cap = 2 * (size_t)s->n + 16;
        s->text = xrealloc(s->text, s->text_cap);
    }
    size_t len = 0;
    for (int i = 0; i < s->n; i++)
        if (s->ids[i] < 256) s->text[len++] = (char)s->ids[i];
    return len;
}

// prints the bytes the new token adds (decoding the whole answer keeps multi-token
// characters intact)
static int on_token(void *ctx, int b, int token) {
    (void)b;
    Stream *s = ctx;
    for (int i = 0; i < s->n_stop; i++)
        if (token == s->stop_ids[i]) return 0;
    s->ids[s->n++] = token;
    size_t len = decode_all(s);
    int stop = 0;
    if (s->stop_text && *s->stop_text) {
        const char *hit = memmem(s->text, len, s->stop_text, strlen(s->stop_text));
        if (hit) len = (size_t)(hit - s->text), stop = 1; // the text ends before the stop string
    }
    if (len > s->printed) {
        if (s->print) {
            fwrite(s->text + s->printed, 1, len - s->printed, stdout);
            fflush(stdout);
        }
        s->printed = len;
    }
    return stop;
}

int stream_run(const StreamOptions *o) {
    Model m;
    model_load(&m, o->model_dir, backend_select(o->device, o->threads)); // one process (cli refuses mpirun)
    ChatIO io;
    chat_io_open(&io, o->model_dir, &m.config, o->chat_template, "strap gen");
    Stream s = {0};
    s.tok = io.tok; // NULL: byte-level ids
    size_t n = 0;
    int32_t *ids = chat_io_encode(&io, o->system, o->prompt, &n);
    int max_new = o->max_new;
    GenerateOptions gen = {.sample = o->sample, .max_new = max_new, .eos_ids = io.stop, .n_eos = io.n_stop};
    s.stop_ids = io.stop, s.n_stop = io.n_stop, s.stop_text = o->stop;
    int capacity = (int)n + max_new < m.config.max_seq ? (int)n + max_new : m.config.max_seq;
    Generator g;
    generator_build(&g, &m, 1, capacity);
    int *out = xmalloc((size_t)max_new * sizeof(int)), n_out = 0;
    s.ids = xmalloc((size_t)max_new * sizeof(int));
    FinishReason fin;
    const int *prompts[1] = {(const int *)ids};
    int lens[1] = {(int)n};
    for (int k = 0; k < o->samples; k++) {
        gen.seed = (uint64_t)o->seed + (uint64_t)k;
        s.n = 0, s.printed = 0;
        double t0 = now_seconds();
        s.print = !o->json;
        generate(&g, prompts, lens, 1, &gen, &out, &n_out, &fin, on_token, &s);
        double dt = now_seconds() - t0;
        if (o->json) {
            size_t tlen = s.printed, vlen; // the text up to any stop string
            char *valid = utf8_valid_copy(s.text ? s.text : "", tlen, &vlen);
            json_t *rec = json_object(), *a = json_array(), *p = json_array();
            for (int i = 0; i < n_out; i++) json_array_append_new(a, json_integer(out[i]));
            for (size_t i = 0; i < n; i++) json_array_append_new(p, json_integer(ids[i]));
            json_object_set_new(rec, "text", json_stringn(valid, vlen));
            json_object_set_new(rec, "ids", a);
            json_object_set_new(rec, "prompt_ids", p);
            json_object_set_new(rec, "finish", json_string(finish_reason_name(fin)));
            char *line = json_dumps(rec, JSON_COMPACT);
            printf("%s", line);
            free(line), free(valid);
            json_decref(rec);
        }
        printf("\n");
        fflush(stdout);
        fprintf(stderr, "[%d prompt tokens, %d new tokens in %.2fs (%.1f tokens/s), finish: %s]\n", (int)n, n_out, dt,
                n_out / dt, finish_reason_name(fin));
    }
    free(out), free(s.ids), free(s.text), free(ids);
    generator_free(&g);
    chat_io_close(&io);
    model_free(&m);
    return 0;
}

void chat_options_default(ChatOptions *o) {
    memset(o, 0, sizeof *o);
    o->device = "auto";
    o->max_new = 256;
    sample_options_default(&o->sample);
}

int chat_run(const ChatOptions *o) {
    Model m;
    model_load(&m, o->model_dir, backend_select(o->device, o->threads));
    ChatIO io;
    chat_io_open(&io, o->model_dir, &m.config, o->chat_template, "strap chat");
    if (!io.tok) fail("%s has no tokenizer.json: a chat needs a model with a chat tokenizer", o->model_dir);
    const char *system = o->system ? o->system : io.default_system;
    int max_new = o->max_new;
    GenerateOptions gen = {.sample = o->sample};
    Stream s = {0};
    s.tok = io.tok;
    gen.eos_ids = io.stop, gen.n_eos = io.n_stop, gen.max_new = max_new;
    s.stop_ids = io.stop, s.n_stop = io.n_stop, s.print = 1;
    Generator g;
    generator_build(&g, &m, 1, m.config.max_seq);
    int *out = xmalloc((size_t)max_new * sizeof(int)), n_out = 0;
    s.ids = xmalloc((size_t)max_new * sizeof(int));
    int n_msgs = 0, cap_msgs = 16;
    ChatMessage *msgs = xmalloc((size_t)cap_msgs * sizeof(ChatMessage));
    if (system) msgs[n_msgs++] = (ChatMessage){"system", strdup(system)};
    int first_user = n_msgs, interactive = isatty(fileno(stdin));
    char line[8192];
    for (int turn = 0;; turn++) {
        if (interactive) {
            printf("> ");
            fflush(stdout);
        }
        if (!fgets(line, sizeof line, stdin)) break;
        line[strcspn(line, "\n")] = 0;
        if (!line[0]) break;
        if (strcmp(line, "/reset") == 0) {
            for (int i = first_user; i < n_msgs; i++) free((char *)msgs[i].content);
            n_msgs = first_user;
            continue;
        }
        if (n_msgs + 2 > cap_msgs) msgs = xrealloc(msgs, (size_t)(cap_msgs *= 2) * sizeof(ChatMessage));
        msgs[n_msgs++] = (ChatMessage){"user", strdup(line)};
        int32_t *ids = NULL;
        size_t n = 0, cap = 0;
        chat_encode_messages(io.tok, io.format, msgs, n_msgs, 1, &ids, &n, &cap);
        if ((int)n + 1 >= g.capacity) {
            fprintf(stderr, "[the conversation fills the context (%d tokens); /reset to start over]\n", g.capacity);
            free((char *)msgs[--n_msgs].content);
            free(ids);
            continue;
        }
        gen.max_new = max_new < g.capacity - (int)n ? max_new : g.capacity - (int)n;
        gen.seed = (uint64_t)o->seed + (uint64_t)turn;
        s.n = 0, s.printed = 0;
        const int *prompts[1] = {(const int *)ids};
        int lens[1] = {(int)n};
        FinishReason fin;
        generate(&g, prompts, lens, 1, &gen, &out, &n_out, &fin, on_token, &s);
        printf("\n");
        fflush(stdout);
        // the answer without its end-of-turn token joins the conversation
        size_t len;
        msgs[n_msgs++] = (ChatMessage){"assistant", chat_io_decode(&io, out, n_out, fin, &len)};
        free(ids);
    }
    for (int i = 0; i < n_msgs; i++) free((char *)msgs[i].content);
    free(msgs), free(out), free(s.ids), free(s.text);
    generator_free(&g);
    chat_io_close(&io);
    model_free(&m);
    return 0;
}
