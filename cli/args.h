// args.h: declarative flag parsing for strap subcommands. The flags of a command that the
// loop also starts are a library table over its options struct (base/flags.h):
//
//   SftOptions o;
//   sft_options_default(&o);
//   Command cmd = {"strap sft ...", "...", SFT_FLAGS, 0, NULL, 0, &o, NULL};
//
// the others bind each flag to a variable of their own:
//
//   int steps = 100; const char *out = NULL; int resume = 0;
//   Flag flags[] = {
//       {"--out", FLAG_STRING, &out, "DIR", "output directory (required)"},
//       {"--steps", FLAG_INT, &steps, "N", "total optimizer steps"},
//       {"--resume", FLAG_BOOL, &resume, NULL, "continue the run found in --out"},
//       {0},
//   };
//   Command cmd = {"strap train", "Train a model on token shards.", flags};
//   args_parse(&cmd, argc, argv);           // argv[0] is the subcommand name
//   args_require(&cmd, "--out", out != NULL);
//
// --help prints usage and exits 0; an unknown flag, a missing or malformed value prints
// the error and the usage, and exits 2.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "../base/flags.h"

typedef struct {
    const char *usage;       // "strap train --model DIR --data PATH --out DIR [options]"
    const char *description; // one paragraph
    const Flag *flags;       // terminated by {0}
    int max_positional;      // how many non-flag arguments are accepted
    const char **positional; // receives them (array of max_positional), may be NULL if 0
    int n_positional;        // set by args_parse
    void *options;           // the struct the flags without a `value` set (base/flags.h)
    const Flag *more;        // optional: more flags, terminated by {0} (the command's own, after a
                             // library table over `options`)
} Command;

// Parses argv[1..argc). Exits on --help (0) or error (2).
void args_parse(Command *cmd, int argc, char **argv);
// Prints the usage of cmd to stderr.
void args_usage(const Command *cmd);
// If !ok: "strap: error: <flag> is required", usage, exit 2.
void args_require(const Command *cmd, const char *flag, int ok);
// "strap: error: <message>", usage, exit 2.
void args_error(const Command *cmd, const char *fmt, ...);
