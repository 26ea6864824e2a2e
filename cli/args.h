// args.h: declarative flag parsing for strap subcommands.
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

typedef enum { FLAG_END = 0, FLAG_BOOL, FLAG_INT, FLAG_INT64, FLAG_FLOAT, FLAG_STRING } FlagType;

typedef struct {
    const char *name; // "--steps" (a "-n" short name may be given in `alias`)
    FlagType type;
    void *value;      // int* for BOOL/INT, int64_t* for INT64, float* for FLOAT, const char** for STRING
    const char *meta; // placeholder shown in usage ("N", "DIR"); NULL for BOOL
    const char *help;
    const char *alias; // optional second spelling, e.g. "-n"
} Flag;

typedef struct {
    const char *usage;       // "strap train --model DIR --data PATH --out DIR [options]"
    const char *description; // one paragraph
    Flag *flags;             // terminated by {0}
    int max_positional;      // how many non-flag arguments are accepted
    const char **positional; // receives them (array of max_positional), may be NULL if 0
    int n_positional;        // set by args_parse
} Command;

// Parses argv[1..argc). Exits on --help (0) or error (2).
void args_parse(Command *cmd, int argc, char **argv);
// Prints the usage of cmd to stderr.
void args_usage(const Command *cmd);
// If !ok: "strap: error: <flag> is required", usage, exit 2.
void args_require(const Command *cmd, const char *flag, int ok);
// "strap: error: <message>", usage, exit 2.
void args_error(const Command *cmd, const char *fmt, ...);
