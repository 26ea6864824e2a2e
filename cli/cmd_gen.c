// cmd_gen.c: strap gen: continue a prompt with a model (KV cache, sampling), streaming
// the text as it is produced.
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "../data/io.h"
#include "../data/tokenizer.h"
#include "../kernels/check.h"
#include "../model/chat.h"
#include "../model/generate.h"
#include "../train/progress.h"
#include "args.h"
#include "commands.h"

#define BYTES_VOCAB 258
#define BYTES_BOS 256
#define BYTES_EOS 257

typedef struct {
    Tokenizer *tok; // NULL: byte-level ids
    int *ids;
    int n;
    size_t printed;
    char *text;
    size_t text_cap;
} Stream;

static size_t decode_all(Stream *s) {
    if (s->tok) return tokenizer_decode(s->tok, (const int32_t *)s->ids, (size_t)s->n, &s->text, &s->text_cap);
    if ((size_t)s->n + 1 > s->text_cap) {
        s->text_cap = 2 * (size_t)s->n + 16;
        s->text = realloc(s->text, s->text_cap);
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
    s->ids[s->n++] = token;
    size_t len = decode_all(s);
    if (len > s->printed) {
        fwrite(s->text + s->printed, 1, len - s->printed, stdout);
        fflush(stdout);
        s->printed = len;
    }
    return 0;
}

int cmd_gen(int argc, char **argv) {
    const char *model_dir = NULL, *prompt = NULL, *system = NULL, *template_name = NULL, *device = "auto";
    int max_new = 128, seed = 0, threads = 0, raw = 0, n_samples = 1;
    GenerateOptions o = {0};
    sample_options_default(&o.sample);
    Flag flags[] = {
        {"--model", FLAG_STRING, &model_dir, "DIR", "checkpoint directory (with tokenizer.json) (required)", NULL},
        {"--prompt", FLAG_STRING, &prompt, "S", "the user's message (required)", NULL},
        {"--system", FLAG_STRING, &system, "S", "a system message", NULL},
        {"--chat-template", FLAG_STRING, &template_name, "NAME", "chatml, llama3 or plain (default: from the model's files)", NULL},
        {"--raw", FLAG_BOOL, &raw, NULL, "no chat template: continue the prompt text as is", NULL},
        {"--max-new", FLAG_INT, &max_new, "N", "new tokens at most", NULL},
        {"--temperature", FLAG_FLOAT, &o.sample.temperature, "T", "0 = greedy", NULL},
        {"--top-k", FLAG_INT, &o.sample.top_k, "K", "keep the K most likely tokens (0: off)", NULL},
        {"--top-p", FLAG_FLOAT, &o.sample.top_p, "P", "nucleus sampling mass (1: off)", NULL},
        {"--min-p", FLAG_FLOAT, &o.sample.min_p, "P", "drop tokens below P x the top probability (0: off)", NULL},
        {"--repetition-penalty", FLAG_FLOAT, &o.sample.repetition_penalty, "R", "penalise tokens already present (1: off)", NULL},
        {"--seed", FLAG_INT, &seed, "S", "random seed", NULL},
        {"-n", FLAG_INT, &n_samples, "K", "answers to sample (printed one after another)", NULL},
        {"--threads", FLAG_INT, &threads, "N", "CPU threads (0: all cores)", NULL},
        {"--device", FLAG_STRING, &device, "D", "auto, cpu or cuda", NULL},
        {0},
    };
    Command cmd = {"strap gen --model DIR --prompt S [options]",
                   "Generate an answer with a KV cache, streaming it to standard output. Timing goes to "
                   "standard error.",
                   flags, 0, NULL, 0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", model_dir != NULL);
    args_require(&cmd, "--prompt", prompt != NULL);
    if (max_new < 1 || n_samples < 1) args_error(&cmd, "--max-new and -n must be positive");
    Model m;
    model_load(&m, model_dir, backend_select(device, threads));
    char *tok_path = path_join(model_dir, "tokenizer.json");
    Stream s = {0};
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    int eos[8], n_eos = 0;
    if (path_exists(tok_path)) {
        s.tok = tokenizer_load(tok_path);
        if (tokenizer_vocab_size(s.tok) > m.config.vocab_size)
            fail("%s has %d tokens but the model's vocab_size is %d", tok_path, tokenizer_vocab_size(s.tok),
                 m.config.vocab_size);
        ChatFormat f = raw ? CHAT_PLAIN : template_name ? chat_format_from_name(template_name) : chat_format_detect(model_dir);
        if (m.config.bos_token_id >= 0 && f == CHAT_PLAIN) {
            ids = xmalloc(sizeof(int32_t));
            ids[n++] = m.config.bos_token_id, cap = 1;
        }
        chat_encode(s.tok, f, system, prompt, &ids, &n, &cap);
        n_eos = chat_stop_ids(s.tok, f, eos);
    } else if (m.config.vocab_size == BYTES_VOCAB) { // a model trained on byte-level shards
        cap = strlen(prompt) + 1;
        ids = xmalloc(cap * sizeof(int32_t));
        ids[n++] = BYTES_BOS;
        for (const char *p = prompt; *p; p++) ids[n++] = (unsigned char)*p;
        eos[n_eos++] = BYTES_EOS;
    } else {
        fail("%s not found: strap needs the model's tokenizer to turn the prompt into tokens", tok_path);
    }
    for (int i = 0; i < m.config.n_eos && n_eos < 8; i++) eos[n_eos++] = m.config.eos_token_ids[i];
    o.eos_ids = eos, o.n_eos = n_eos, o.max_new = max_new;
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
        generate(&g, prompts, lens, 1, &o, &out, &n_out, &fin, on_token, &s);
        double dt = now_seconds() - t0;
        printf("\n");
        fflush(stdout);
        fprintf(stderr, "[%d prompt tokens, %d new tokens in %.2fs (%.1f tokens/s), finish: %s]\n", (int)n, n_out, dt,
                n_out / dt, finish_reason_name(fin));
    }
    free(out), free(s.ids), free(s.text), free(ids), free(tok_path);
    generator_free(&g);
    tokenizer_free(s.tok);
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
        {"--chat-template", FLAG_STRING, &template_name, "NAME", "chatml, llama3 or plain (default: from the model's files)", NULL},
        {"--max-new", FLAG_INT, &max_new, "N", "new tokens per answer at most", NULL},
        {"--temperature", FLAG_FLOAT, &o.sample.temperature, "T", "0 = greedy", NULL},
        {"--top-p", FLAG_FLOAT, &o.sample.top_p, "P", "nucleus sampling mass (1: off)", NULL},
        {"--repetition-penalty", FLAG_FLOAT, &o.sample.repetition_penalty, "R", "penalise tokens already present (1: off)", NULL},
        {"--seed", FLAG_INT, &seed, "S", "random seed", NULL},
        {"--threads", FLAG_INT, &threads, "N", "CPU threads (0: all cores)", NULL},
        {"--device", FLAG_STRING, &device, "D", "auto, cpu or cuda", NULL},
        {0},
    };
    Command cmd = {"strap chat --model DIR [options]",
                   "Chat with a model on the terminal. Empty line or end of input: quit; /reset: start over.",
                   flags, 0, NULL, 0};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", model_dir != NULL);
    if (max_new < 1) args_error(&cmd, "--max-new must be positive");
    Model m;
    model_load(&m, model_dir, backend_select(device, threads));
    char *tok_path = path_join(model_dir, "tokenizer.json");
    if (!path_exists(tok_path)) fail("%s not found: strap chat needs the model's tokenizer", tok_path);
    Stream s = {0};
    s.tok = tokenizer_load(tok_path);
    ChatFormat f = template_name ? chat_format_from_name(template_name) : chat_format_detect(model_dir);
    int eos[8], n_eos = chat_stop_ids(s.tok, f, eos);
    for (int i = 0; i < m.config.n_eos && n_eos < 8; i++) eos[n_eos++] = m.config.eos_token_ids[i];
    o.eos_ids = eos, o.n_eos = n_eos, o.max_new = max_new;
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
        if (n_msgs + 2 > cap_msgs) msgs = realloc(msgs, (size_t)(cap_msgs *= 2) * sizeof(ChatMessage));
        msgs[n_msgs++] = (ChatMessage){"user", strdup(line)};
        int32_t *ids = NULL;
        size_t n = 0, cap = 0;
        chat_encode_messages(s.tok, f, msgs, n_msgs, 1, &ids, &n, &cap);
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
        int keep = n_out;
        if (fin == FINISH_EOS) keep--;
        char *text = NULL;
        size_t tcap = 0;
        tokenizer_decode(s.tok, (const int32_t *)out, (size_t)keep, &text, &tcap);
        msgs[n_msgs++] = (ChatMessage){"assistant", text};
        free(ids);
    }
    for (int i = 0; i < n_msgs; i++) free((char *)msgs[i].content);
    free(msgs), free(out), free(s.ids), free(s.text), free(tok_path);
    generator_free(&g);
    tokenizer_free(s.tok);
    model_free(&m);
    return 0;
}
