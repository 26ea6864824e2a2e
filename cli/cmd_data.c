// cmd_data.c: strap data pack | inspect.
#include <stdio.h>
#include <string.h>

#include "../data/inspect.h"
#include "../data/pack_run.h"
#include "args.h"
#include "cmd_clean.h"
#include "commands.h"

static int data_pack(int argc, char **argv) {
    PackRunOptions o;
    pack_run_options_default(&o);
    Command cmd = {"strap data pack --tokenizer (tokenizer.json | bytes) --input FILES --out DIR [options]",
                   "Tokenize documents and write token shards (.tok.zst). Every document becomes "
                   "BOS, its tokens, EOS.",
                   PACK_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--tokenizer", o.tokenizer != NULL);
    args_require(&cmd, "--input", o.input != NULL);
    args_require(&cmd, "--out", o.out != NULL);
    if (o.shard_tokens < 1 || o.frame_tokens < 1 || o.frame_tokens > (1 << 24))
        args_error(&cmd, "--shard-tokens and --frame-tokens must be positive (frame at most 16M tokens)");
    if (o.val_fraction < 0 || o.val_fraction > 0.5f) args_error(&cmd, "--val-fraction must lie in [0, 0.5]");
    return pack_run(&o);
}

static int data_inspect(int argc, char **argv) {
    InspectOptions o;
    inspect_options_default(&o);
    Command cmd = {"strap data inspect (FILE.tok.zst [--tokens N] [--tokenizer T] | FILE.jsonl[.zst])",
                   "Print a shard's header, counts, compression and first tokens (reading every frame, "
                   "so it also verifies the checksums), or a record file's count, fields, text lengths "
                   "and first records.",
                   INSPECT_FLAGS,
                   .max_positional = 1,
                   .positional = &o.path,
                   .options = &o};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "FILE", cmd.n_positional == 1);
    if (o.tokens < 0 || o.records < 0) args_error(&cmd, "--tokens and --records must not be negative");
    return inspect_run(&o);
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
