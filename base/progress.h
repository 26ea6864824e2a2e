// progress.h: progress reporting for long work. On a terminal, one line redrawn in place
// (a bar, count, rate, ETA); otherwise plain lines at most every few seconds.
#pragma once
#include <stdint.h>

typedef struct {
    const char *label;
    int64_t total;
    double start; // seconds (monotonic)
    double last_print;
    int tty;
    int finished;
} Progress;

double now_seconds(void); // monotonic clock
void progress_start(Progress *p, const char *label, int64_t total);
// `extra` (may be NULL) is appended, e.g. "loss 2.31".
void progress_update(Progress *p, int64_t done, const char *extra);
void progress_finish(Progress *p, const char *extra);
// "1h02m", "3m05s", "12s"
void format_duration(double seconds, char *out, int n);
