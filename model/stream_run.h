// stream_run.h: generation on the terminal. stream_run: one prompt answered `samples` times,
// each answer streamed to standard output as it is produced (strap gen --prompt);
// chat_run: a conversation read from standard input, each turn re-reading the whole
// conversation (prefill) and streaming the answer (strap chat).
#pragma once
#include "../base/flags.h"
#include "sample.h"

typedef struct {
    const char *model_dir;
    const char *prompt;        // the user's message
    const char *system;        // a system message (NULL: the template's default)
    const char *chat_template; // NULL: from the model's files; "plain": none
    const char *stop;          // an answer ends once its text contains it (not printed; NULL: none)
    const char *device;
    int samples, max_new, seed, threads;
    int json; // print one JSON object per answer (text, ids, prompt_ids, finish) instead of the text
    SampleOptions sample;
} StreamOptions;

int stream_run(const StreamOptions *o);

typedef struct {
    const char *model_dir, *system, *chat_template, *device;
    int max_new, seed, threads;
    SampleOptions sample;
} ChatOptions;

void chat_options_default(ChatOptions *o);
extern const Flag CHAT_FLAGS[]; // strap chat (model/model_flags.c)
// Empty line or end of input: quit; /reset: start over. Returns the exit status.
int chat_run(const ChatOptions *o);
