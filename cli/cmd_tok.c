// cmd_tok.c: strap tok train | encode | decode: the flags of data/tok_run.h.
#include <stdio.h>
#include <string.h>

#include "../data/tok_run.h"
#include "args.h"
#include "commands.h"

static int tok_train(int argc, char **argv) {
    TokTrainOptions o;
    tok_train_options_default(&o);
    Command cmd = {"strap tok train --input FILES --vocab N --out tokenizer.json [options]",
                   "Train a byte-level BPE tokenizer; Hugging Face `tokenizers` loads the result and "
                   "encodes identically.",
                   TOK_TRAIN_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--input", o.input != NULL);
    args_require(&cmd, "--vocab", o.vocab > 0);
    args_require(&cmd, "--out", o.out != NULL);
    return tok_train_run(&o);
}

static int tok_encode(int argc, char **argv) {
    TokEncodeOptions o;
    tok_encode_options_default(&o);
    Command cmd = {"strap tok encode --tokenizer T [--text S | < stdin] [--json] [--allow-special]",
                   "Print the token ids of a text, space-separated.", TOK_ENCODE_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--tokenizer", o.tokenizer != NULL);
    return tok_encode_run(&o);
}

static int tok_decode(int argc, char **argv) {
    TokDecodeOptions o;
    tok_decode_options_default(&o);
    Command cmd = {"strap tok decode --tokenizer T [--ids '1 2 3' | < stdin]",
                   "Print the text of token ids (raw bytes, exactly as encoded).", TOK_DECODE_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--tokenizer", o.tokenizer != NULL);
    return tok_decode_run(&o);
}

int cmd_tok(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "train") == 0) return tok_train(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "encode") == 0) return tok_encode(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "decode") == 0) return tok_decode(argc - 1, argv + 1);
    int help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    FILE *f = help ? stdout : stderr;
    if (!help && argc >= 2) fprintf(stderr, "strap: error: unknown tok command '%s'\n\n", argv[1]);
    fprintf(f, "usage: strap tok <command> [options]\n\ncommands:\n"
               "  train     train a byte-level BPE tokenizer (writes tokenizer.json)\n"
               "  encode    text -> token ids\n"
               "  decode    token ids -> text\n");
    return help ? 0 : 2;
}
