// cmd_gen.c: strap gen: continue a prompt with a model (KV cache, sampling), streaming
// the text as it is produced.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/check.h"
#include "../base/io.h"
#include "../base/progress.h"
#include "../data/jsonl.h"
#include "../data/records_writer.h"
#include "../data/text_utf8.h"
#include "../dist/dist.h"
#include "../dist/dist_records.h"
#include "../model/chat_io.h"
#include "../model/generate.h"
#include "../selfplay/answer_file.h"
#include "args.h"
#include "commands.h"

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

int cmd_gen(int argc, char **argv) {
    const char *model_dir = NULL, *prompt = NULL, *system = NULL, *template_name = NULL, *device = "auto";
    const char *prompts_path = NULL, *out_path = NULL, *field = "prompt", *stop_text = NULL;
    int max_new = 128, seed = 0, threads = 0, raw = 0, n_samples = 1, batch = 8, json_out = 0;
    GenerateOptions o = {0};
    sample_options_default(&o.sample);
    Flag flags[] = {
        {"--model", FLAG_STRING, &model_dir, "DIR", "checkpoint directory (with tokenizer.json) (required)", NULL},
        {"--prompt", FLAG_STRING, &prompt, "S", "the user's message", NULL},
        {"--prompts", FLAG_STRING, &prompts_path, "F",
         "or a .jsonl(.zst) of prompts (field --field, optional id, system)", NULL},
        {"--out", FLAG_STRING, &out_path, "F", "with --prompts: the .jsonl(.zst) of answers to write", NULL},
        {"--field", FLAG_STRING, &field, "NAME", "with --prompts: the field holding the prompt", NULL},
        {"--batch", FLAG_INT, &batch, "B", "with --prompts: sequences generated together", NULL},
        {"--system", FLAG_STRING, &system, "S", "a system message", NULL},
        {"--chat-template", FLAG_STRING, &template_name, "NAME",
         "chatml, llama3 or plain (default: from the model's files)", NULL},
        {"--raw", FLAG_BOOL, &raw, NULL, "no chat template: continue the prompt text as is", NULL},
        {"--max-new", FLAG_INT, &max_new, "N", "new tokens at most", NULL},
        {"--temperature", FLAG_FLOAT, &o.sample.temperature, "T", "0 = greedy", NULL},
        {"--top-k", FLAG_INT, &o.sample.top_k, "K", "keep the K most likely tokens (0: off)", NULL},
        {"--top-p", FLAG_FLOAT, &o.sample.top_p, "P", "nucleus sampling mass (1: off)", NULL},
        {"--min-p", FLAG_FLOAT, &o.sample.min_p, "P", "drop tokens below P x the top probability (0: off)", NULL},
        {"--repetition-penalty", FLAG_FLOAT, &o.sample.repetition_penalty, "R",
         "penalise tokens already present (1: off)", NULL},
        {"--no-repeat-ngram", FLAG_INT, &o.sample.no_repeat_ngram, "N",
         "never repeat an N-gram of the answer's tokens (0: off)", NULL},
        {"--seed", FLAG_INT, &seed, "S", "random seed", NULL},
        {"-n", FLAG_INT, &n_samples, "K", "answers to sample (printed one after another)", NULL},
        {"--stop", FLAG_STRING, &stop_text, "S", "end an answer when its text contains S (S is not kept)", NULL},
        {"--json", FLAG_BOOL, &json_out, NULL,
         "with --prompt: print one JSON object per answer (text, ids, prompt_ids, finish)", NULL},
        {"--threads", FLAG_INT, &threads, "N", "CPU threads (0: all cores)", NULL},
        {"--device", FLAG_STRING, &device, "D", "auto, cpu or cuda", NULL},
        {0},
    };
    Command cmd = {"strap gen --model DIR (--prompt S | --prompts F.jsonl.zst --out F.jsonl.zst) [options]",
                   "Generate with a KV cache. With --prompt the answer streams to standard output (timing "
                   "to standard error); with --prompts every prompt gets -n answers, written as records "
                   "(prompt_id, sample, prompt, text, token counts, finish reason, model, seed).",
                   flags,
                   0,
                   NULL,
                   0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", model_dir != NULL);
    if (!prompt == !prompts_path) args_error(&cmd, "give exactly one of --prompt and --prompts");
    if (prompts_path && !out_path) args_error(&cmd, "--prompts needs --out");
    if (max_new < 1 || n_samples < 1 || batch < 1) args_error(&cmd, "--max-new, -n and --batch must be positive");
    if (prompt && comm_world() > 1)
        args_error(&cmd, "--prompt runs on one process; under mpirun give --prompts F --out F (split over the ranks)");
    Model m;
    model_load(&m, model_dir, dist_backend_select(device, threads)); // a rank's share of the cores, its own GPU
    ChatIO io;
    chat_io_open(&io, model_dir, &m.config, raw ? "plain" : template_name, "strap gen");
    Stream s = {0};
    s.tok = io.tok; // NULL: byte-level ids
    size_t n = 0;
    int32_t *ids = prompt ? chat_io_encode(&io, system, prompt, &n) : NULL;
    o.eos_ids = io.stop, o.n_eos = io.n_stop, o.max_new = max_new;
    s.stop_ids = io.stop, s.n_stop = io.n_stop, s.stop_text = stop_text;
    if (prompts_path) {
        if (stop_text) args_error(&cmd, "--stop works with --prompt only (for now)");
        AnswerFileOptions af = {model_dir, prompts_path, out_path, field, system, n_samples, batch, seed};
        answer_file(&m, &io, &af, &o);
        free(ids);
        chat_io_close(&io);
        model_free(&m);
        return 0;
    }
    int capacity = (int)n + max_new < m.config.max_seq ? (int)n + max_new : m.config.max_seq;
    Generator g;
    generator_build(&g, &m, 1, capacity);
    int *out = xmalloc((size_t)max_new * sizeof(int)), n_out = 0;
    s.ids = xmalloc((size_t)max_new * sizeof(int));
    FinishReason fin;
    const int *prompts[1] = {(const int *)ids};
    int lens[1] = {(int)n};
    for (int k = 0; k < n_samples; k++) {
        o.seed = (uint64_t)seed + (uint64_t)k;
        s.n = 0, s.printed = 0;
        double t0 = now_seconds();
        s.print = !json_out;
        generate(&g, prompts, lens, 1, &o, &out, &n_out, &fin, on_token, &s);
        double dt = now_seconds() - t0;
        if (json_out) {
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

// strap chat: an interactive conversation. Each turn re-reads the whole conversation
// (prefill), then streams the answer.
int cmd_chat(int argc, char **argv) {
    const char *model_dir = NULL, *system = NULL, *template_name = NULL, *device = "auto";
    int max_new = 256, seed = 0, threads = 0;
    GenerateOptions o = {0};
    sample_options_default(&o.sample);
    Flag flags[] = {
        {"--model", FLAG_STRING, &model_dir, "DIR", "checkpoint directory with tokenizer.json (required)", NULL},
        {"--system", FLAG_STRING, &system, "S", "a system message", NULL},
        {"--chat-template", FLAG_STRING, &template_name, "NAME",
         "chatml, llama3 or plain (default: from the model's files)", NULL},
        {"--max-new", FLAG_INT, &max_new, "N", "new tokens per answer at most", NULL},
        {"--temperature", FLAG_FLOAT, &o.sample.temperature, "T", "0 = greedy", NULL},
        {"--top-p", FLAG_FLOAT, &o.sample.top_p, "P", "nucleus sampling mass (1: off)", NULL},
        {"--repetition-penalty", FLAG_FLOAT, &o.sample.repetition_penalty, "R",
         "penalise tokens already present (1: off)", NULL},
        {"--no-repeat-ngram", FLAG_INT, &o.sample.no_repeat_ngram, "N",
         "never repeat an N-gram of the answer's tokens (0: off)", NULL},
        {"--seed", FLAG_INT, &seed, "S", "random seed", NULL},
        {"--threads", FLAG_INT, &threads, "N", "CPU threads (0: all cores)", NULL},
        {"--device", FLAG_STRING, &device, "D", "auto, cpu or cuda", NULL},
        {0},
    };
    Command cmd = {"strap chat --model DIR [options]",
                   "Chat with a model on the terminal. Empty line or end of input: quit; /reset: start over.",
                   flags,
                   0,
                   NULL,
                   0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", model_dir != NULL);
    if (max_new < 1) args_error(&cmd, "--max-new must be positive");
    Model m;
    model_load(&m, model_dir, backend_select(device, threads));
    ChatIO io;
    chat_io_open(&io, model_dir, &m.config, template_name, "strap chat");
    if (!io.tok) fail("%s has no tokenizer.json: strap chat needs a model with a chat tokenizer", model_dir);
    if (!system) system = io.default_system;
    Stream s = {0};
    s.tok = io.tok;
    o.eos_ids = io.stop, o.n_eos = io.n_stop, o.max_new = max_new;
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
        o.max_new = max_new < g.capacity - (int)n ? max_new : g.capacity - (int)n;
        o.seed = (uint64_t)seed + (uint64_t)turn;
        s.n = 0, s.printed = 0;
        const int *prompts[1] = {(const int *)ids};
        int lens[1] = {(int)n};
        FinishReason fin;
        generate(&g, prompts, lens, 1, &o, &out, &n_out, &fin, on_token, &s);
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
