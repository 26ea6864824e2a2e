// fuzz.h: the harness shared by the libFuzzer targets in tests/fuzz/ (make fuzz). Each
// target writes the input to a file (strap's readers take paths), runs a reader on it, and
// comes back here when the reader rejects the input: the fuzz build (-DSTRAP_FUZZ) makes
// fail() call strap_fuzz_fail(), which long-jumps to the target. A rejected input is fine; a
// crash, a sanitizer report, a CHECK (abort) or a hang is a finding.
//
// What the jump skips is reclaimed as far as a harness can: file descriptors the reader
// opened are closed (fuzz_end); memory it had allocated leaks, so runs use -detect_leaks=0.
#pragma once
#include <fcntl.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static jmp_buf fuzz_jump;
static int fuzz_fd_floor = -1;

void strap_fuzz_fail(void) { longjmp(fuzz_jump, 1); }

// The fuzz directory of this process, made once.
static const char *fuzz_dir(void) {
    static char dir[64];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/strap-fuzz-%d", (int)getpid());
        mkdir(dir, 0700);
    }
    return dir;
}

// Writes data to fuzz_dir()/name; returns the path (static storage per name slot).
static const char *fuzz_write(const uint8_t *data, size_t size, const char *name) {
    static char path[8][256];
    static int slot = 0;
    char *p = path[slot++ % 8];
    snprintf(p, sizeof path[0], "%s/%s", fuzz_dir(), name);
    FILE *f = fopen(p, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    return p;
}

// Call before the reader: notes the lowest free descriptor.
static void fuzz_begin(void) {
    int fd = dup(0);
    if (fd < 0) abort();
    close(fd);
    fuzz_fd_floor = fd;
}

// Call after the reader returned or jumped back: closes what it left open.
static void fuzz_end(void) {
    for (int fd = fuzz_fd_floor; fd < fuzz_fd_floor + 64; fd++) close(fd);
}

// FUZZ_RUN(reader code): runs it, catching fail().
#define FUZZ_RUN(...)                 \
    do {                              \
        fuzz_begin();                 \
        if (setjmp(fuzz_jump) == 0) { \
            __VA_ARGS__;              \
        }                             \
        fuzz_end();                   \
    } while (0)
