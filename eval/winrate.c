// winrate.c: see winrate.h.
#include "winrate.h"

#include <math.h>

#include "../base/check.h"

// From the model's point of view: +1 model preferred, -1 baseline preferred, 0 tie, -2 none.
static int side(Verdict v, int model_first) {
    if (v == VERDICT_NONE) return -2;
    if (v == VERDICT_TIE) return 0;
    int first = v == VERDICT_FIRST;
    return first == model_first ? 1 : -1;
}

Outcome win_tally_add(WinTally *t, Verdict ab, Verdict ba) {
    int s_ab = side(ab, 1), s_ba = side(ba, 0);
    for (int k = 0; k < 2; k++) {
        Verdict v = k ? ba : ab;
        if (v == VERDICT_FIRST || v == VERDICT_SECOND) t->verdicts++, t->first_position += v == VERDICT_FIRST;
    }
    t->prompts++;
    Outcome o = OUTCOME_TIE;
    if (s_ab == -2 || s_ba == -2)
        t->unparseable++;
    else if (s_ab == 1 && s_ba == 1)
        o = OUTCOME_WIN;
    else if (s_ab == -1 && s_ba == -1)
        o = OUTCOME_LOSS;
    if (o == OUTCOME_WIN)
        t->wins++, t->consistent++;
    else if (o == OUTCOME_LOSS)
        t->losses++, t->consistent++;
    else
        t->ties++;
    return o;
}

Outcome win_tally_add_scores(WinTally *t, double model, double baseline) {
    t->pointwise = 1;
    t->prompts++;
    Outcome o = OUTCOME_TIE;
    if (isnan(model) || isnan(baseline))
        t->unparseable++;
    else if (model > baseline)
        o = OUTCOME_WIN;
    else if (model < baseline)
        o = OUTCOME_LOSS;
    if (o == OUTCOME_WIN)
        t->wins++;
    else if (o == OUTCOME_LOSS)
        t->losses++;
    else
        t->ties++;
    return o;
}

double win_tally_rate(const WinTally *t) { return t->prompts > 0 ? (t->wins + 0.5 * t->ties) / t->prompts : 0.0; }

void wilson_interval(double p, double n, double z, double *lo, double *hi) {
    if (n <= 0) {
        *lo = 0, *hi = 1;
        return;
    }
    double z2 = z * z, denom = 1 + z2 / n;
    double center = (p + z2 / (2 * n)) / denom;
    double half = z / denom * sqrt(p * (1 - p) / n + z2 / (4 * n * n));
    *lo = center - half < 0 ? 0 : center - half;
    *hi = center + half > 1 ? 1 : center + half;
}

const char *outcome_name(Outcome o) { return o == OUTCOME_WIN ? "win" : o == OUTCOME_LOSS ? "loss" : "tie"; }

const char *verdict_name(Verdict v) {
    return v == VERDICT_FIRST ? "first" : v == VERDICT_SECOND ? "second" : v == VERDICT_TIE ? "tie" : NULL;
}

json_t *win_tally_json(const WinTally *t) {
    double rate = win_tally_rate(t), lo, hi;
    wilson_interval(rate, t->prompts, WILSON_Z95, &lo, &hi);
    json_t *j = json_pack("{s:i, s:i, s:i, s:i, s:i, s:f, s:f, s:f, s:f}", "prompts", t->prompts, "wins", t->wins,
                          "ties", t->ties, "losses", t->losses, "unparseable", t->unparseable, "win_rate", rate,
                          "ci_low", lo, "ci_high", hi, "ties_count_as", 0.5);
    CHECK(j != NULL, "json_pack failed");
    json_object_set_new(j, "position_consistency",
                        t->prompts && !t->pointwise ? json_real((double)t->consistent / t->prompts) : json_null());
    json_object_set_new(j, "first_position_rate",
                        t->verdicts && !t->pointwise ? json_real((double)t->first_position / t->verdicts)
                                                     : json_null());
    return j;
}
