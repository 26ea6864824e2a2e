// stats.c: see stats.h.
#include "stats.h"

#include <math.h>

double mcnemar_exact_p(int b, int c) {
    int n = b + c, k = b < c ? b : c;
    if (n <= 0) return 1.0;
    // P[X <= k] summed in log space: C(n, i) / 2^n for n in the thousands underflows otherwise
    double log_half_n = n * log(0.5), tail = 0;
    for (int i = 0; i <= k; i++) tail += exp(lgamma(n + 1.0) - lgamma(i + 1.0) - lgamma(n - i + 1.0) + log_half_n);
    double p = 2 * tail;
    return p < 1 ? p : 1.0;
}
