// synth.h: the pieces of prompt synthesis (strap synth) that do not need a model: the
// catalogue shipped in data/synth/ (roles, task types, attributes, seed prompts), the
// instructions the model is given, and what is done with what it writes (extraction,
// filters, near-duplicate check).
//
//   catalogue   roles.txt       one role per line ("a nurse on night shift")
//               tasks.txt       "name | description" per line
//               attributes.json {"difficulty": [...], "length": [...], ...}: one value of
//                               every list is drawn per prompt (keys starting with _ skipped)
//               seed_prompts.jsonl  human-written examples {"id", "prompt", "role", "task"}
//   modes       self-instruct   role x task x attributes + few-shot examples drawn from the
//                               seeds and the prompts accepted so far -> one prompt
//               brainstorm      step 1: the model lists task ideas for a role as a JSON list
//                               of strings (output that is not such a list is dropped);
//                               step 2: a prompt for one listed task with drawn attributes
//   filters     cut off at the token limit, length in words, repeated 3-grams, blacklisted words (things a text model cannot do: images,
//               audio, links...), refusal / meta-text ("As an AI", "Here is a request"),
//               exact and near duplicates (MinHash, data/minhash.h) of earlier prompts.
#pragma once
#include <jansson.h>
#include <stdint.h>

#include "../base/rng.h"
#include "../data/minhash.h"

typedef struct {
    char **roles;
    int n_roles;
    char **task_names, **task_descriptions;
    int n_tasks;
    int n_attributes;
    char **attribute_names;   // [n_attributes]
    char ***attribute_values; // [n_attributes][attribute_counts[i]]
    int *attribute_counts;
} SynthCatalog;

// Reads DIR/roles.txt, DIR/tasks.txt and DIR/attributes.json; errors name the file and line.
void synth_catalog_load(SynthCatalog *c, const char *dir);
void synth_catalog_free(SynthCatalog *c);

// What one prompt is made from.
typedef struct {
    const char *role;
    const char *task;                 // the task type's name, or a brainstormed task
    const char *description;          // the task type's description (NULL for a brainstormed task)
    const char *attribute_values[16]; // one per catalogue attribute
} SynthSpec;

// Draws a role, a task type and one value of every attribute.
void synth_draw(const SynthCatalog *c, Rng *rng, SynthSpec *spec);
// The attributes of a spec as a JSON object {"difficulty": "easy", ...} (new reference).
json_t *synth_spec_attributes(const SynthCatalog *c, const SynthSpec *spec);

// The user message asking for one new prompt. examples[0..n_examples) are earlier prompts
// shown as "Request k:" (may be 0). malloc'd.
char *synth_instruction(const SynthCatalog *c, const SynthSpec *spec, const char *const *examples, int n_examples);
// The user message of brainstorm step 1: list n_ideas tasks for a role as a JSON list.
char *synth_brainstorm_instruction(const char *role, int n_ideas);
// Parses brainstorm output: the first '[' to the last ']' must be a JSON array of non-empty
// strings. Returns the array (new reference) or NULL when it is not.
json_t *synth_parse_idea_list(const char *text);

// The request inside the model's output: whitespace trimmed, a leading label line or
// prefix ("Request:", "Request 4:", "New request:", "Here is a request:") and surrounding
// quotes removed, and a trailing answer cut off (a line starting "Answer:" / "Response:").
// malloc'd (may be empty).
char *synth_extract_prompt(const char *text);

// A generation cut off at the token limit: its first paragraph, if the text has more than one
// and that paragraph ends a sentence (the model wrote the request, then went on); else NULL.
// malloc'd.
char *synth_complete_head(const char *text);

typedef enum {
    SYNTH_KEEP = 0,
    SYNTH_EMPTY, // nothing left after extraction
    SYNTH_INVALID_UTF8,
    SYNTH_TOO_SHORT,      // fewer than min_words words
    SYNTH_TOO_LONG,       // more than max_words words
    SYNTH_BLACKLISTED,    // names something a text model cannot do or see
    SYNTH_META,           // a refusal, or text about the request instead of the request
    SYNTH_DUPLICATE,      // the same text (after normalisation) as an earlier prompt
    SYNTH_NEAR_DUPLICATE, // MinHash similarity to an earlier prompt >= threshold
    SYNTH_REPETITIVE,     // too many repeated word 3-grams (a model stuck in a loop)
    SYNTH_TRUNCATED,      // cut off at --max-new, and no complete first paragraph to keep
    SYNTH_INVALID_JSON,   // brainstorm step 1 output that is not a JSON list of strings
    SYNTH_N_REASONS
} SynthReason;
const char *synth_reason_name(SynthReason r);

// The blacklist and refusal checks (pure functions of the text; case-insensitive, whole
// words for the blacklist).
int synth_is_blacklisted(const char *text);
int synth_is_meta(const char *text);

// Filters and deduplicates prompts against everything added before (existing corpus,
// seeds, accepted prompts).
typedef struct {
    int min_words, max_words;
    double threshold; // near-duplicate Jaccard threshold
    int use_blacklist;
    MinHash mh;
    int bands, rows;
    struct NearDupIndex *index;
    uint64_t *exact; // hashes of normalised texts (sorted on insert)
    int64_t n_exact, cap_exact;
} SynthFilter;

void synth_filter_build(SynthFilter *f, int min_words, int max_words, double threshold, int use_blacklist);
void synth_filter_free(SynthFilter *f);
// Checks a candidate and remembers it (a dropped near-duplicate joins its kept twin's
// cluster); returns SYNTH_KEEP or the reason it is dropped. *clean receives the normalised
// text (malloc'd) when kept, else NULL.
SynthReason synth_filter_check(SynthFilter *f, const char *text, char **clean);
