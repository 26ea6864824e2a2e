// pairs.h: judged answers -> preference pairs (strap pairs). Per prompt, the best answer
// is chosen and the worst rejected; prompts whose best and worst are equal, or whose judge
// scores are closer than min_margin, give no pair. What "best" means is the reward:
//   judge   the judge's score (strap judge)
//   verify  the share of the prompt's constraints the answer passes (strap verify)
//   mix     verify first; between answers that pass equally the judge's score decides
// Whatever the reward, an answer that loops (cut off and repetitive, data/text_loops.h) ranks
// below every answer that does not: it is never chosen, and rejected first.
#pragma once

#include "../base/flags.h"

typedef enum { REWARD_JUDGE, REWARD_VERIFY, REWARD_MIX } Reward;
extern const char *const REWARD_NAMES[]; // "judge", "verify", "mix", NULL: indexed by Reward

typedef struct {
    const char *in;          // judged answers .jsonl(.zst): prompt_id, prompt, text, score / verify_score
    const char *out;         // pairs .jsonl(.zst)
    const char *report;      // the counts as JSON too (NULL: printed only)
    const char *score_field; // the judge's score ("score")
    Reward reward;
    float min_margin; // drop pairs whose judge scores differ by less
} PairsOptions;

// "judge", "verify", "mix" -> *r; 0 for anything else.
void pairs_options_default(PairsOptions *o);
extern const Flag PAIRS_FLAGS[]; // strap pairs (selfplay/selfplay_flags.c)
// Writes the pairs and prints the counts (JSON) that `report` gets. Returns 0.
int pairs_run(const PairsOptions *o);
