// synth_run.h: the synth stage (strap synth): the model writes prompts for itself
// (self-instruct from the catalogue in data/synth, or the two-step brainstorm recipe),
// filtered and deduplicated (synth.h), written as records with their provenance, optionally
// each with verifiable constraints (constraints.h).
#pragma once
#include "../base/flags.h"
#include "../model/sample.h"

typedef struct {
    const char *model_dir;    // the model that writes the prompts
    const char *out;          // prompts (.jsonl or .jsonl.zst)
    int count;                // prompts to accept
    const char *mode;         // "self-instruct" or "brainstorm"
    const char *catalog_dir;  // roles.txt, tasks.txt, attributes.json (NULL: data/synth next to the binary)
    const char *seed_prompts; // human-written examples (NULL: CATALOG/seed_prompts.jsonl)
    const char *existing;     // F[,F]: earlier prompts: examples and dedup against them
    const char *avoid;        // F[,F]: dedup against them, never shown (held-out prompts)
    int examples;             // few-shot examples per instruction (self-instruct; at most 8)
    int ideas;                // tasks asked for per brainstorm list
    int batch, max_new;       // instructions generated together, new tokens per generation
    SampleOptions sample;
    int seed;
    int min_words, max_words;        // prompts with fewer / more words are dropped
    float dedup_threshold;           // near-duplicate MinHash Jaccard threshold
    int no_blacklist;                // keep prompts that mention images, audio, links...
    int keep_truncated;              // keep requests cut off at max_new
    int max_attempts;                // generations at most (<= 0: 4 x count + 16)
    const char *id_prefix;           // ids are P-00000, P-00001, ...
    int iteration;                   // recorded with each prompt (< 0: not recorded)
    int constraints;                 // attach 1..K verifiable constraints (0: none)
    int constraint_draws;            // records per accepted prompt, each with its own constraints
    const char *constraints_catalog; // NULL: CATALOG/constraints.json
    const char *report, *rejects;    // counts as JSON; the dropped generations (.jsonl(.zst))
    const char *chat_template;       // NULL: from the model's files
    const char *device;
    int threads;
} SynthOptions;

// Writes o->out (and o->report, o->rejects) and prints a summary. Fails when no prompt passed.
void synth_options_default(SynthOptions *o);
extern const Flag SYNTH_FLAGS[]; // strap synth (selfplay/selfplay_flags.c)
int synth_run(const SynthOptions *o);
