// stats.h: the significance tests behind the evaluations' claims.
#pragma once

// Exact (binomial) two-sided McNemar test of paired pass/fail outcomes: b pairs where only
// the model passed, c where only the baseline did (pairs where both or neither passed carry
// no information). Under "no difference" each discordant pair goes either way with p = 1/2:
// p = min(1, 2 * P[X <= min(b, c)]) with X ~ Binomial(b + c, 1/2); 1 when b + c = 0.
double mcnemar_exact_p(int b, int c);
