// flags.h: a command's flags as a table over its options struct, read in both directions:
// cli/args.c parses a command line into the struct, and flags_to_args() writes the struct
// back as a command line (the loop starts its stages that way, loop/loop.c).
//
//   typedef struct { const char *out; int steps; float lr; } TrainOptions;
//   const Flag TRAIN_FLAGS[] = {
//       FLAG(TrainOptions, out, FLAG_STRING, "--out", "DIR", "output directory (required)"),
//       FLAG(TrainOptions, steps, FLAG_INT, "--steps", "N", "total optimizer steps"),
//       {0},
//   };
//
// A flag names the field it sets by its offset in the struct. A command line parser may
// also bind a flag to a variable of its own (`value`, for flags no options struct holds).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "arg_list.h"

typedef enum {
    FLAG_END = 0,
    FLAG_BOOL,   // int, set to 1 by the flag alone
    FLAG_OFF,    // int, set to 0 by the flag alone ("--no-exact-dedup" of a field on by default)
    FLAG_INT,    // int
    FLAG_INT64,  // int64_t
    FLAG_FLOAT,  // float
    FLAG_DOUBLE, // double
    FLAG_STRING, // const char *
    FLAG_CHOICE, // int: the index of the value's name in `choices`
} FlagType;

typedef struct {
    const char *name; // "--steps"
    FlagType type;
    void *value;      // the variable it sets; NULL: the field at `offset` of the command's options
    const char *meta; // placeholder shown in usage ("N", "DIR"); NULL for BOOL
    const char *help;
    const char *alias;          // optional second spelling, e.g. "-n"
    size_t offset;              // offsetof(Options, field) when value is NULL
    const char *const *choices; // FLAG_CHOICE: the names, NULL-terminated, indexed by the field's value
} Flag;

// A flag over field `field` of options struct S.
#define FLAG(S, field, type, name, meta, help) \
    { (name), (type), NULL, (meta), (help), NULL, offsetof(S, field), NULL }
#define FLAG_ALIAS(S, field, type, name, alias, meta, help) \
    { (name), (type), NULL, (meta), (help), (alias), offsetof(S, field), NULL }
#define FLAG_CHOICES(S, field, name, choices, help) \
    { (name), FLAG_CHOICE, NULL, NULL, (help), NULL, offsetof(S, field), (choices) }

// The two flags most commands share, over fields named `threads` (int) and `device` (string).
#define FLAG_THREADS(S) FLAG(S, threads, FLAG_INT, "--threads", "N", "CPU threads (0: all cores)")
#define FLAG_DEVICE(S)  FLAG(S, device, FLAG_STRING, "--device", "D", "auto, cpu or cuda")

// The variable flag f sets: its own `value`, or the field of `options`.
void *flag_target(const Flag *f, const void *options);
// "sigmoid" -> its index in f->choices; -1 if not one of them.
int flag_choice_index(const Flag *f, const char *name);
// "sigmoid, ipo or robust"
void flag_choices_text(const Flag *f, char *out, size_t size);

// Appends "--name value" (or "--name" for a set FLAG_BOOL) to `a` for every flag of `flags`
// whose field in `options` differs from the same field in `defaults`, in table order. Flags
// bound to their own variable (`value`) are not written. Numbers are written so that they
// parse back to the same bits.
void flags_to_args(const Flag *flags, const void *options, const void *defaults, ArgList *a);
