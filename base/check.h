// check.h: the one error-reporting convention of strap.
//
//   CHECK(cond, fmt, ...)  an internal invariant or a failed system call: prints the
//                          message with the source file and line, exits 1.
//   fail(fmt, ...)         bad user input: prints "strap: error: <message>" and exits 1.
//                          The message names the input file, the value and the fix.
//   xmalloc / xcalloc / xrealloc  allocation that never returns NULL.
#pragma once
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define STRAP_NORETURN     __attribute__((noreturn))
#define STRAP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define STRAP_NORETURN
#define STRAP_PRINTF(a, b)
#endif

#ifdef STRAP_FUZZ
// Fuzz builds (make fuzz): an orderly error on bad input returns to the fuzz harness
// (tests/fuzz/fuzz.h) instead of ending the process; CHECK, which marks an internal
// invariant, aborts: a finding.
STRAP_NORETURN void strap_fuzz_fail(void);
#define STRAP_FAIL_EXIT()  strap_fuzz_fail()
#define STRAP_CHECK_EXIT() abort()
#else
#define STRAP_FAIL_EXIT()  exit(1)
#define STRAP_CHECK_EXIT() exit(1)
#endif

STRAP_NORETURN STRAP_PRINTF(1, 2) static inline void fail(const char *fmt, ...) {
#ifdef STRAP_FUZZ
    (void)fmt;
    STRAP_FAIL_EXIT();
#endif
    fflush(stdout);
    fprintf(stderr, "strap: error: ");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    STRAP_FAIL_EXIT();
}

STRAP_NORETURN STRAP_PRINTF(3, 4) static inline void check_failed(const char *file, int line, const char *fmt, ...) {
    fflush(stdout);
    fprintf(stderr, "strap: error: ");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (%s:%d)\n", file, line);
    STRAP_CHECK_EXIT();
}

#define CHECK(cond, ...)                                            \
    do {                                                            \
        if (!(cond)) check_failed(__FILE__, __LINE__, __VA_ARGS__); \
    } while (0)

static inline void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    CHECK(p != NULL, "out of memory allocating %zu bytes", n);
    return p;
}

static inline void *xrealloc(void *old, size_t n) {
    void *p = realloc(old, n ? n : 1);
    CHECK(p != NULL, "out of memory growing a buffer to %zu bytes", n);
    return p;
}

static inline void *xcalloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    CHECK(p != NULL, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

static inline char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = (char *)xmalloc(n);
    memcpy(p, s, n);
    return p;
}
