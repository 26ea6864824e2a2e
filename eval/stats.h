// stats.h: the significance tests behind the evaluations' claims.
#pragma once

// Exact (binomial) two-sided McNemar test of paired pass/fail outcomes: b pairs where only
// the model passed, c where only the baseline did (pairs where both or neither passed carry
// no information). Under "no difference" each discordant pair goes either way with p = 1/2:
// p = min(1, 2 * P[X <= min(b, c)]) with X ~ Binomial(b + c, 1/2); 1 when b + c = 0.
double mcnemar_exact_p(int b, int c);

// Share of the word n-grams of `text` that repeat an earlier n-gram of it (0: none repeats;
// words are maximal runs of non-space bytes); 0 for texts of fewer than n words.
double text_repeated_ngram_share(const char *text, int n);

// An answer that loops: it never ended (finish is not "eos" or "stop": cut off at the token
// limit or the context) and at least 25% of its word 4-grams repeat earlier ones. Such
// answers are never chosen as a preference pair's better answer, whatever their scores.
int answer_loops(const char *text, const char *finish);
