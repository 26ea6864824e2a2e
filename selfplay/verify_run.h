// verify_run.h: strap verify: checks answers against the verifiable constraints of their
// prompts (constraints.h), optionally repairing them (constraint_repair.h), or makes prompts
// with constraints from plain requests.
#pragma once
#include "../base/flags.h"

typedef struct {
    const char *in;           // answers whose records carry "constraints"
    const char *out;          // the checked records, or the prompts made
    const char *text_field;   // the answer's field ("text")
    const char *report;       // prompt- and instruction-level accuracy, per family, as JSON (NULL: none)
    int repair;               // edit failing answers whose failed constraints have an edit
    const char *prompts_from; // instead of in: requests to make prompts from
    int constraints;          // prompts_from: 1..constraints per prompt
    int count;                // prompts_from: prompts to make, cycling the requests (0: one each)
    int seed;                 // prompts_from: the draws' seed
    const char *catalog;      // the constraint families (NULL: data/synth/constraints.json)
    const char *families;     // prompts_from: "a,b": draw only these families (NULL: all)
} VerifyOptions;

void verify_options_default(VerifyOptions *o);
extern const Flag VERIFY_FLAGS[]; // strap verify (selfplay/selfplay_flags.c)
int verify_run(const VerifyOptions *o);
