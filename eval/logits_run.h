// logits_run.h: strap eval logits: the largest next-token logits after a token sequence, as
// JSON {"top": [[id, logit], ...]} on standard output (for parity checks against other
// implementations).
#pragma once
#include "../base/flags.h"

typedef struct {
    const char *model_dir;
    const char *tokens_file; // whitespace-separated token ids (ppl_run.h: tokens_file_read)
    int top;                 // how many of the largest logits
    const char *device;
    int threads;
} LogitsOptions;

void logits_options_default(LogitsOptions *o);
extern const Flag LOGITS_FLAGS[]; // eval/eval_flags.c
int logits_run(const LogitsOptions *o);
