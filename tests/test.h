// test.h: the test harness of strap's C tests. Each test binary:
//
//   static void test_something(void) { EXPECT(x == 1, "x was %d", x); }
//   int main(void) { RUN(test_something); return test_summary(); }
//
// A test passes when none of its EXPECTs failed. test_summary() prints
// "N passed, N failed" and returns non-zero if anything failed.
#pragma once
#include <math.h>
#include <stdio.h>

static int test_passed_count = 0, test_failed_count = 0, test_current_failed = 0;

#define EXPECT(cond, ...)                                                   \
    do {                                                                    \
        if (!(cond)) {                                                      \
            test_current_failed = 1;                                        \
            fprintf(stderr, "    %s:%d: expected %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                   \
            fprintf(stderr, "\n");                                          \
        }                                                                   \
    } while (0)

#define RUN(fn)                                                 \
    do {                                                        \
        test_current_failed = 0;                                \
        fn();                                                   \
        if (test_current_failed) {                              \
            test_failed_count++;                                \
            printf("FAIL %s\n", #fn);                          \
        } else {                                                \
            test_passed_count++;                                \
            printf("ok   %s\n", #fn);                          \
        }                                                       \
        fflush(stdout);                                         \
    } while (0)

static inline int test_summary(void) {
    printf("%d passed, %d failed\n", test_passed_count, test_failed_count);
    return test_failed_count ? 1 : 0;
}

// max |a-b| / max(|b|, floor) over n elements; floor keeps tiny references from dominating
static inline double max_rel_err(const float *a, const double *b, size_t n, double floor_) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        double s = fabs(b[i]) > floor_ ? fabs(b[i]) : floor_;
        if (d / s > worst || d != d) worst = (d != d) ? INFINITY : d / s;
    }
    return worst;
}
