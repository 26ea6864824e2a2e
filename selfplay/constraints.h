// constraints.h: verifiable instructions: constraints on an answer that a program checks
// (IFEval-style), used as a reward beside the rubric judge and as an evaluation that can fail.
//
//   catalogue   data/synth/constraints.json: per family the wordings of its instruction
//               (with {placeholders}) and the pools its parameters are drawn from; the
//               check of every family is code (constraints.c), so the catalogue can reword
//               an instruction but cannot invent a family
//   a constraint  a JSON object {"kind": "lowercase", ...parameters..., "instruction": "..."}
//               stored in the prompt record's "constraints" list; checking needs only the
//               object (never the catalogue), so `strap verify` runs on any record file
//
// Counting rules (the same for every family; docs/formats.md "Verifiable instructions"):
//   word       a maximal run of letters, digits, apostrophes and hyphens (any script,
//              utf8proc categories L* and N*), so "don't" and "well-known" are one word
//   sentence   text up to '.', '!' or '?' followed by whitespace or the end (a run of them
//              counts once); a last piece without a terminator counts when it holds a word
//   paragraph  blocks separated by one or more blank lines (lines of only whitespace)
//   bullet     a line starting (after spaces) with "* ", "- " or "+ "
//   Trailing whitespace of the answer is ignored everywhere; letter case checks ignore
//   characters without case. An answer without a word fails every constraint (saying
//   nothing must not earn "no commas" or "at most 3 sentences").
#pragma once
#include <jansson.h>

#include "../base/rng.h"

typedef struct ConstraintCatalog ConstraintCatalog;

// Reads the catalogue; errors name the file, the family and what is wrong (an unknown
// family, a wording without a placeholder its parameters need, an empty pool) and exit.
ConstraintCatalog *constraints_load(const char *path);
void constraints_free(ConstraintCatalog *c);
int constraints_family_count(const ConstraintCatalog *c);
const char *constraints_family_name(const ConstraintCatalog *c, int i);
// The families the checker knows (NULL-terminated), whether or not a catalogue uses them.
const char *const *constraints_known_kinds(void);

// Draws k (1..3) mutually compatible constraints (no two of one family, none that
// contradict each other: lowercase with uppercase, JSON with bullets, ...). Only families
// in `families` are used when it is non-NULL (n_families names). Deterministic in rng.
// Returns a new JSON array of constraint objects, each with its "instruction" rendered.
json_t *constraints_draw(const ConstraintCatalog *c, int k, Rng *rng, const char *const *families, int n_families);

// The prompt a model is given: base, a blank line, then the instructions one per line.
char *constraints_prompt(const char *base, const json_t *constraints);

// Checks `answer` against every constraint of the array. `prompt` is the base request
// (needed by "repeat the request first"; may be NULL when no constraint needs it).
// Returns a new JSON array, one object per constraint: {"kind", "pass": true|false,
// "detail": "what was counted / what failed"}; *n_pass (may be NULL) gets the passes.
// A constraint object that is malformed (unknown kind, missing or mistyped parameter)
// gets "pass": false and "error": "..." instead of stopping the run.
json_t *constraints_check(const json_t *constraints, const char *prompt, const char *answer, int *n_pass);

// Checks one constraint; returns 1 pass, 0 fail, -1 malformed. detail (may be NULL) gets a
// short explanation (at most detail_size bytes, NUL-terminated).
int constraint_check_one(const json_t *constraint, const char *prompt, const char *answer, char *detail,
                         size_t detail_size);
