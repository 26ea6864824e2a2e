// progress.c: see progress.h.
#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void format_duration(double s, char *out, int n) {
    if (s < 0 || s != s) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else if (t >= 60)
        snprintf(out, n, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(out, n, "%lds", t);
}

void progress_start(Progress *p, const char *label, int64_t total) {
    memset(p, 0, sizeof *p);
    p->label = label;
    p->total = total;
    p->start = now_seconds();
    p->last_print = p->start; // the first line after `every` seconds: short work prints only its summary
    p->tty = isatty(fileno(stderr));
}

static void render(Progress *p, int64_t done, const char *extra, int final) {
    double elapsed = now_seconds() - p->start;
    double rate = elapsed > 0 ? done / elapsed : 0;
    char eta[32] = "?", spent[32];
    if (rate > 0 && p->total > 0) format_duration((p->total - done) / rate, eta, sizeof eta);
    format_duration(elapsed, spent, sizeof spent);
    if (p->tty) {
        char bar[31];
        int filled = p->total > 0 ? (int)(30.0 * done / p->total) : 0;
        if (filled > 30) filled = 30;
        for (int i = 0; i < 30; i++) bar[i] = i < filled ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r\033[K%s [%s] %lld/%lld %.1f/s %s %s%s%s", p->label, bar, (long long)done,
                (long long)p->total, rate, final ? "in" : "ETA", final ? spent : eta, extra ? " | " : "",
                extra ? extra : "");
        if (final) fprintf(stderr, "\n");
    } else {
        fprintf(stderr, "%s: %lld/%lld (%.1f/s, %s %s)%s%s\n", p->label, (long long)done, (long long)p->total, rate,
                final ? "took" : "ETA", final ? spent : eta, extra ? " " : "", extra ? extra : "");
    }
    fflush(stderr);
}

void progress_update(Progress *p, int64_t done, const char *extra) {
    double t = now_seconds();
    double every = p->tty ? 0.1 : 5.0;
    if (t - p->last_print < every) return;
    p->last_print = t;
    render(p, done, extra, 0);
}

void progress_finish(Progress *p, const char *extra) {
    if (p->finished) return;
    p->finished = 1;
    render(p, p->total, extra, 1);
}
