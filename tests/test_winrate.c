// test_winrate.c: the win-rate bookkeeping of a comparison judged in both answer orders
// (eval/winrate.h) and the pairwise judge's prompt and verdict parser
// (selfplay/judge_pairwise.h).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../eval/winrate.h"
#include "../selfplay/judge_pairwise.h"
#include "test.h"

// Wilson score interval bounds: the roots q of (p - q)^2 = z^2 q (1 - q) / n, solved in
// 40-digit decimal arithmetic (Python's decimal module, quadratic formula) for these cases.
static void test_wilson_against_reference(void) {
    static const struct {
        double x, n, lo, hi;
    } cases[] = {
        {7, 10, 0.396778147461145, 0.892208732593699},
        {0, 10, 0.0, 0.277532799862889},
        {10, 10, 0.722467200137111, 1.0},
        {12.5, 20, 0.409489566151427, 0.800229144335369},
        {50, 100, 0.403831530365996, 0.596168469634004},
        {1, 3, 0.061491944720396, 0.792340399197952},
        {3.5, 8, 0.174498631238343, 0.741052314372142},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double lo, hi;
        wilson_interval(cases[i].x / cases[i].n, cases[i].n, WILSON_Z95, &lo, &hi);
        EXPECT(fabs(lo - cases[i].lo) < 1e-12 && fabs(hi - cases[i].hi) < 1e-12,
               "%g/%g: [%.15f, %.15f] vs [%.15f, %.15f]", cases[i].x, cases[i].n, lo, hi, cases[i].lo, cases[i].hi);
    }
    double lo, hi;
    wilson_interval(0, 0, WILSON_Z95, &lo, &hi);
    EXPECT(lo == 0 && hi == 1, "no trials: [%g, %g]", lo, hi);
}

// The bounds are where the score statistic |p - q| / sqrt(q (1 - q) / n) equals z: found
// here by bisection, for every x of several n.
static double score_stat(double p, double q, double n) { return fabs(p - q) / sqrt(q * (1 - q) / n); }

static void test_wilson_against_bisection(void) {
    int ns[] = {5, 17, 64, 1000};
    double worst = 0;
    for (int k = 0; k < 4; k++) {
        double n = ns[k];
        for (int x2 = 1; x2 < 2 * ns[k]; x2++) { // halves: ties count as half a win
            double p = x2 / (2.0 * n), lo, hi;
            wilson_interval(p, n, WILSON_Z95, &lo, &hi);
            double a = 1e-15, b = p; // the statistic falls from +inf at 0 to 0 at p
            for (int it = 0; it < 200; it++) {
                double mid = 0.5 * (a + b);
                if (score_stat(p, mid, n) > WILSON_Z95)
                    a = mid;
                else
                    b = mid;
            }
            worst = fmax(worst, fabs(lo - 0.5 * (a + b)));
            a = p, b = 1 - 1e-15;
            for (int it = 0; it < 200; it++) {
                double mid = 0.5 * (a + b);
                if (score_stat(p, mid, n) > WILSON_Z95)
                    b = mid;
                else
                    a = mid;
            }
            worst = fmax(worst, fabs(hi - 0.5 * (a + b)));
            EXPECT(lo <= p && p <= hi, "n %g p %g outside [%g, %g]", n, p, lo, hi);
        }
    }
    EXPECT(worst < 1e-10, "largest difference from the bisection %g", worst);
}

// Every pair of verdicts (with the model's answer first, with the baseline's answer first)
// against the outcome written out by hand.
static void test_outcome_table(void) {
    static const struct {
        Verdict ab, ba;
        Outcome want;
    } table[] = {
        {VERDICT_FIRST, VERDICT_SECOND, OUTCOME_WIN},  // the model's answer, wherever it stands
        {VERDICT_SECOND, VERDICT_FIRST, OUTCOME_LOSS}, // the baseline's answer in both orders
        {VERDICT_FIRST, VERDICT_FIRST, OUTCOME_TIE},   // position bias: the first answer twice
        {VERDICT_SECOND, VERDICT_SECOND, OUTCOME_TIE}, // the second answer twice
        {VERDICT_TIE, VERDICT_SECOND, OUTCOME_TIE},    {VERDICT_FIRST, VERDICT_TIE, OUTCOME_TIE},
        {VERDICT_TIE, VERDICT_TIE, OUTCOME_TIE},       {VERDICT_NONE, VERDICT_SECOND, OUTCOME_TIE},
        {VERDICT_FIRST, VERDICT_NONE, OUTCOME_TIE},    {VERDICT_NONE, VERDICT_NONE, OUTCOME_TIE},
        {VERDICT_SECOND, VERDICT_TIE, OUTCOME_TIE},    {VERDICT_NONE, VERDICT_FIRST, OUTCOME_TIE},
    };
    WinTally t = {0};
    int n = (int)(sizeof table / sizeof table[0]), unparseable = 0, verdicts = 0, first = 0;
    for (int i = 0; i < n; i++) {
        Outcome o = win_tally_add(&t, table[i].ab, table[i].ba);
        EXPECT(o == table[i].want, "row %d: outcome %s, expected %s", i, outcome_name(o), outcome_name(table[i].want));
        unparseable += table[i].ab == VERDICT_NONE || table[i].ba == VERDICT_NONE;
        Verdict v[2] = {table[i].ab, table[i].ba};
        for (int k = 0; k < 2; k++)
            verdicts += v[k] == VERDICT_FIRST || v[k] == VERDICT_SECOND, first += v[k] == VERDICT_FIRST;
    }
    EXPECT(t.prompts == n && t.wins == 1 && t.losses == 1 && t.ties == n - 2, "%d %d %d %d", t.prompts, t.wins, t.ties,
           t.losses);
    EXPECT(t.unparseable == unparseable && unparseable == 4, "unparseable %d vs %d", t.unparseable, unparseable);
    EXPECT(t.verdicts == verdicts && t.first_position == first, "verdicts %d/%d first %d/%d", t.verdicts, verdicts,
           t.first_position, first);
    EXPECT(t.consistent == 2, "consistent %d", t.consistent);
    EXPECT(fabs(win_tally_rate(&t) - (1 + 0.5 * (n - 2)) / n) < 1e-15, "rate %g", win_tally_rate(&t));
}

// Simulated judges over 400 prompts where the model's answer is truly better on 300: one that
// always picks the first answer (pure position bias) gives all ties (0.5); one that is right
// 90% of the time in each order, independently, gives wins ~ 300 x 0.81.
static void test_simulated_judges(void) {
    WinTally biased = {0}, noisy = {0};
    unsigned s = 12345;
    int expect_wins = 0, expect_losses = 0;
    for (int i = 0; i < 400; i++) {
        int model_better = i % 4 != 0;
        win_tally_add(&biased, VERDICT_FIRST, VERDICT_FIRST);
        int right[2];
        for (int k = 0; k < 2; k++) {
            s = s * 1103515245u + 12345u;
            right[k] = (s >> 16) % 10 != 0;
        }
        // the judge picks the better answer when right: in order ab the model is first
        int pick_model_ab = right[0] ? model_better : !model_better,
            pick_model_ba = right[1] ? model_better : !model_better;
        Verdict ab = pick_model_ab ? VERDICT_FIRST : VERDICT_SECOND,
                ba = pick_model_ba ? VERDICT_SECOND : VERDICT_FIRST;
        expect_wins += pick_model_ab && pick_model_ba, expect_losses += !pick_model_ab && !pick_model_ba;
        win_tally_add(&noisy, ab, ba);
    }
    EXPECT(biased.wins == 0 && biased.losses == 0 && biased.ties == 400 && win_tally_rate(&biased) == 0.5,
           "a position-biased judge: %d wins %d losses", biased.wins, biased.losses);
    EXPECT(biased.first_position == 800 && biased.verdicts == 800, "first-position verdicts %d", biased.first_position);
    EXPECT(noisy.wins == expect_wins && noisy.losses == expect_losses, "%d/%d wins, %d/%d losses", noisy.wins,
           expect_wins, noisy.losses, expect_losses);
    EXPECT(noisy.wins > 200 && noisy.wins < 290, "wins %d (expected about 243)", noisy.wins);
    json_t *j = win_tally_json(&noisy);
    double lo, hi, rate = (noisy.wins + 0.5 * noisy.ties) / 400.0;
    wilson_interval(rate, 400, WILSON_Z95, &lo, &hi);
    EXPECT(json_real_value(json_object_get(j, "win_rate")) == rate, "json win_rate");
    EXPECT(json_real_value(json_object_get(j, "ci_low")) == lo && json_real_value(json_object_get(j, "ci_high")) == hi,
           "json interval");
    EXPECT(json_integer_value(json_object_get(j, "ties")) == noisy.ties, "json ties");
    json_decref(j);
}

static void test_parse_verdict(void) {
    static const struct {
        const char *text;
        Verdict want;
    } cases[] = {
        {"A is more complete.\nVerdict: Assistant A", VERDICT_FIRST},
        {"verdict: assistant b", VERDICT_SECOND},
        {"**Verdict:** Assistant B", VERDICT_SECOND},
        {"Verdict: Tie", VERDICT_TIE},
        {"Verdict - A", VERDICT_FIRST},
        {"[[B]]", VERDICT_SECOND},
        {"[[C]]", VERDICT_TIE},
        {"Verdict: Assistant A ... on reflection, Verdict: Assistant B", VERDICT_SECOND}, // the last one counts
        {"Verdict: Absolutely the first", VERDICT_NONE},
        {"Both are fine.", VERDICT_NONE},
        {"Verdict: Assistant", VERDICT_NONE},
        {"", VERDICT_NONE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Verdict v = pairwise_parse_verdict(cases[i].text);
        EXPECT(v == cases[i].want, "'%s': %d, expected %d", cases[i].text, v, cases[i].want);
    }
}

static void test_build_prompt(void) {
    char *p = pairwise_build_prompt("Q={prompt} A={answer_a} B={answer_b} again {answer_a}", "why?", "one", "two");
    EXPECT(strcmp(p, "Q=why? A=one B=two again one") == 0, "'%s'", p);
    free(p);
    p = pairwise_build_prompt(NULL, "PROMPT", "FIRST", "SECOND");
    const char *q = strstr(p, "PROMPT"), *a = strstr(p, "FIRST"), *b = strstr(p, "SECOND");
    EXPECT(q && a && b && q < a && a < b, "the default template shows the prompt, then A, then B");
    EXPECT(strstr(p, "{") == NULL || strstr(p, "{prompt}") == NULL, "placeholders left");
    free(p);
}

// Pointwise scores: the higher score wins, equal scores and missing ones tie (missing ones
// also count as unparseable), and the position statistics are reported as null.
static void test_scores(void) {
    WinTally t = {0};
    const struct {
        double model, baseline;
        Outcome want;
    } table[] = {{3.2, 3.1, OUTCOME_WIN}, {1.0, 4.5, OUTCOME_LOSS}, {2.5, 2.5, OUTCOME_TIE},
                 {NAN, 2.0, OUTCOME_TIE}, {4.0, NAN, OUTCOME_TIE},  {0.0, -0.0, OUTCOME_TIE}};
    int n = (int)(sizeof table / sizeof table[0]);
    for (int i = 0; i < n; i++) {
        Outcome o = win_tally_add_scores(&t, table[i].model, table[i].baseline);
        EXPECT(o == table[i].want, "row %d: outcome %s, want %s", i, outcome_name(o), outcome_name(table[i].want));
    }
    EXPECT(t.prompts == 6 && t.wins == 1 && t.losses == 1 && t.ties == 4 && t.unparseable == 2,
           "%d prompts, %d wins, %d losses, %d ties, %d unparseable", t.prompts, t.wins, t.losses, t.ties,
           t.unparseable);
    EXPECT(fabs(win_tally_rate(&t) - 0.5) < 1e-15, "rate %g", win_tally_rate(&t));
    json_t *j = win_tally_json(&t);
    EXPECT(json_is_null(json_object_get(j, "position_consistency")) &&
               json_is_null(json_object_get(j, "first_position_rate")),
           "pointwise: the position statistics should be null");
    json_decref(j);
}

int main(void) {
    RUN(test_wilson_against_reference);
    RUN(test_wilson_against_bisection);
    RUN(test_outcome_table);
    RUN(test_simulated_judges);
    RUN(test_scores);
    RUN(test_parse_verdict);
    RUN(test_build_prompt);
    return test_summary();
}
