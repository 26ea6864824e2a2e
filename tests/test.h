// test.h: the test harness of strap's C tests. Each test binary:
//
//   static void test_something(void) { EXPECT(x == 1, "x was %d", x); }
//   int main(void) { RUN(test_something); return test_summary(); }
//
// A test passes when none of its EXPECTs failed. test_summary() prints
// "N passed, N failed" and returns non-zero if anything failed.
#pragma once
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static int test_passed_count = 0, test_failed_count = 0, test_current_failed = 0;

#define EXPECT(cond, ...)                                                           \
    do {                                                                            \
        if (!(cond)) {                                                              \
            test_current_failed = 1;                                                \
            fprintf(stderr, "    %s:%d: expected %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                           \
            fprintf(stderr, "\n");                                                  \
        }                                                                           \
    } while (0)

#define RUN(fn)                       \
    do {                              \
        test_current_failed = 0;      \
        fn();                         \
        if (test_current_failed) {    \
            test_failed_count++;      \
            printf("FAIL %s\n", #fn); \
        } else {                      \
            test_passed_count++;      \
            printf("ok   %s\n", #fn); \
        }                             \
        fflush(stdout);               \
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

// max |a-b| / max|b| over n elements (INFINITY on NaN): the worst error relative to the
// reference's largest magnitude, for a float reference (scaled_err, floor 1e-12) or a
// float64 one (scaled_err_f64, floor 1e-30)
#define TEST_SCALED_ERR(name, T, floor_)                                \
    static inline double name(const float *a, const T *b, size_t n) {   \
        double worst = 0, scale = floor_;                               \
        for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(b[i])); \
        for (size_t i = 0; i < n; i++) {                                \
            double d = fabs((double)a[i] - b[i]);                       \
            if (d != d) return INFINITY;                                \
            worst = fmax(worst, d);                                     \
        }                                                               \
        return worst / scale;                                           \
    }
TEST_SCALED_ERR(scaled_err, float, 1e-12)
TEST_SCALED_ERR(scaled_err_f64, double, 1e-30)

// Bad-input tests: runs fn(arg) in a forked child and expects it to end the process the way
// strap's fail() does: exit status 1 and stderr holding "strap: error:", `needle` and, when
// given, `needle2` (e.g. the file name). `what` names the case in failure messages.
static inline void expect_failure_exit(void (*fn)(const char *), const char *arg, const char *needle,
                                       const char *needle2, const char *what) {
    char err_path[] = "/tmp/strap_test_stderr_XXXXXX";
    int fd = mkstemp(err_path);
    if (fd < 0) {
        EXPECT(0, "%s: mkstemp failed", what);
        return;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        alarm(20); // a hang fails the case instead of stalling the suite
#ifdef _OPENMP
        omp_set_num_threads(1); // the parent's OpenMP thread pool does not survive fork()
#endif
        fn(arg);
        _exit(0); // fn returned: no error was raised
    }
    int status = 0;
    waitpid(pid, &status, 0);
    close(fd);
    char text[4096] = "";
    FILE *f = fopen(err_path, "rb");
    if (f) {
        size_t n = fread(text, 1, sizeof text - 1, f);
        text[n] = 0;
        fclose(f);
    }
    remove(err_path);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    EXPECT(code == 1, "%s: exit status %d, expected 1 (stderr: %s)", what, code, text);
    EXPECT(strstr(text, "strap: error:") != NULL, "%s: no 'strap: error:' prefix: %s", what, text);
    EXPECT(strstr(text, needle) != NULL, "%s: stderr lacks '%s': %s", what, needle, text);
    EXPECT(!needle2 || strstr(text, needle2) != NULL, "%s: stderr lacks '%s': %s", what, needle2, text);
}
