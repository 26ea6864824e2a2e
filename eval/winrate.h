// winrate.h: the bookkeeping of a pairwise comparison judged in both answer orders, and
// its confidence interval.
//
// Each prompt is judged twice: once with the model's answer in the first position ("ab")
// and once with the baseline's answer first ("ba"), so a judge that prefers whatever comes
// first (position bias) cancels out. Per prompt:
//   win   the model's answer is preferred in both orders
//   loss  the baseline's answer is preferred in both orders
//   tie   anything else: the orders disagree, a tie verdict, or an unparseable verdict in
//         either order (those are also counted in `unparseable`)
// Pointwise judging (win_tally_add_scores) instead scores each answer on its own (the
// 5-point rubric): a win when the model's answer scores higher, a loss when lower, a tie
// when equal or when a score is missing (counted in `unparseable`); the position
// statistics do not apply.
// The win rate counts a tie as half a win: (wins + ties / 2) / prompts, with a 95% Wilson
// score interval on that proportion over `prompts` trials.
#pragma once
#include <jansson.h>

#include "../selfplay/judge_pairwise.h" // Verdict

typedef enum { OUTCOME_WIN = 0, OUTCOME_TIE = 1, OUTCOME_LOSS = 2 } Outcome;

typedef struct {
    int prompts;
    int wins, ties, losses; // ties include the unparseable prompts
    int unparseable;        // prompts with an unparseable verdict in at least one order
    int verdicts;           // parseable verdicts that pick a side (2 per prompt at most)
    int first_position;     // ... of which picked the answer shown first (0.5 x verdicts: no position bias)
    int consistent;         // prompts where both orders pick the same answer (wins + losses)
    int pointwise;          // the tally holds scores (win_tally_add_scores), not verdicts
} WinTally;

// Adds one prompt: `ab` is the verdict with the model's answer first, `ba` with the
// baseline's answer first (positions, not models). Returns the prompt's outcome.
Outcome win_tally_add(WinTally *t, Verdict ab, Verdict ba);
// Adds one prompt judged pointwise: the scores of the model's and the baseline's answers
// (NAN: missing). Returns the prompt's outcome.
Outcome win_tally_add_scores(WinTally *t, double model, double baseline);
// (wins + ties / 2) / prompts; 0 when there are no prompts.
double win_tally_rate(const WinTally *t);
// The Wilson score interval of a proportion p observed over n trials at normal quantile z
// (1.959963984540054 for 95%). n <= 0 gives [0, 1].
void wilson_interval(double p, double n, double z, double *lo, double *hi);
#define WILSON_Z95 1.959963984540054

const char *outcome_name(Outcome o);
// "first", "second", "tie" or NULL (unparseable)
const char *verdict_name(Verdict v);

// {"prompts", "wins", "ties", "losses", "unparseable", "win_rate", "ci_low", "ci_high",
//  "ties_count_as": 0.5, "position_consistency", "first_position_rate"} (new reference;
// the last two null when pointwise).
json_t *win_tally_json(const WinTally *t);
