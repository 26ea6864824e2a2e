// cmd_gen.c: strap gen (a prompt streamed, or a file of prompts answered) and strap chat.
#include "../dist/dist.h"
#include "../model/stream_run.h"
#include "../selfplay/answer_file.h"
#include "args.h"
#include "commands.h"

int cmd_gen(int argc, char **argv) {
    AnswerFileOptions o; // the flags both modes share, and --prompts' (selfplay/answer_file.h)
    answer_file_options_default(&o);
    const char *prompt = NULL, *stop_text = NULL;
    int raw = 0, json_out = 0;
    Flag more[] = {
        {"--prompt", FLAG_STRING, &prompt, "S", "the user's message (instead of --prompts)", NULL},
        {"--raw", FLAG_BOOL, &raw, NULL, "no chat template: continue the prompt text as is", NULL},
        {"--stop", FLAG_STRING, &stop_text, "S",
         "with --prompt: end an answer when its text contains S (S is not kept)", NULL},
        {"--json", FLAG_BOOL, &json_out, NULL,
         "with --prompt: print one JSON object per answer (text, ids, prompt_ids, finish)", NULL},
        {0},
    };
    Command cmd = {"strap gen --model DIR (--prompt S | --prompts F.jsonl.zst --out F.jsonl.zst) [options]",
                   "Generate with a KV cache. With --prompt the answer streams to standard output (timing "
                   "to standard error); with --prompts every prompt gets -n answers, written as records "
                   "(prompt_id, sample, prompt, text, token counts, finish reason, model, seed).",
                   GEN_FLAGS, .options = &o, .more = more};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", o.model_dir != NULL);
    if (!prompt == !o.in) args_error(&cmd, "give exactly one of --prompt and --prompts");
    if (o.in && !o.out) args_error(&cmd, "--prompts needs --out");
    if (o.max_new < 1 || o.samples < 1 || o.batch < 1) args_error(&cmd, "--max-new, -n and --batch must be positive");
    if (prompt && comm_world() > 1)
        args_error(&cmd, "--prompt runs on one process; under mpirun give --prompts F --out F (split over the ranks)");
    if (raw) o.chat_template = "plain";
    if (o.in) {
        if (stop_text) args_error(&cmd, "--stop works with --prompt only (for now)");
        return answer_file_run(&o);
    }
    StreamOptions so = {o.model_dir, prompt,    o.system, o.chat_template, stop_text, o.device,
                        o.samples,   o.max_new, o.seed,   o.threads,       json_out,  o.sample};
    return stream_run(&so);
}

// strap chat: an interactive conversation (model/stream_run.h).
int cmd_chat(int argc, char **argv) {
    ChatOptions o;
    chat_options_default(&o);
    Command cmd = {"strap chat --model DIR [options]",
                   "Chat with a model on the terminal. Empty line or end of input: quit; /reset: start over.",
                   CHAT_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--model", o.model_dir != NULL);
    if (o.max_new < 1) args_error(&cmd, "--max-new must be positive");
    return chat_run(&o);
}
