// dist_records.c: see dist_records.h.
#include "dist_records.h"

#include <stdlib.h>
#include <string.h>

#include "../base/check.h"

#define BCAST_CHUNK ((size_t)64 << 20) // ranks that only pass a part on hold this much of it

int dist_records_mine(int64_t index) { return index % comm_world() == comm_rank(); }

int64_t dist_records_share(int64_t n) {
    int64_t world = comm_world(), rank = comm_rank();
    return n > rank ? (n - rank + world - 1) / world : 0;
}

void dist_records_open(DistRecords *d, const char *path) {
    memset(d, 0, sizeof *d);
    d->rank = comm_rank();
    d->world = comm_world();
    d->host = comm_host();
    d->path = strdup(path);
    if (d->world == 1) {
        d->file = records_writer_open(path);
    } else if (d->rank == 0) {
        // the file is written only once every rank's records are in, so that a rank failing
        // on the way leaves nothing behind (not even a temp: the others are killed); a bad
        // name or an unwritable directory fails now, not after the work
        records_writer_abort(records_writer_open(path));
    }
}

void dist_records_put(DistRecords *d, const json_t *rec) {
    char *line = json_dumps(rec, JSON_COMPACT); // as records_writer_write
    CHECK(line != NULL, "cannot encode a record of %s as JSON (out of memory?)", d->path);
    size_t n = strlen(line);
    d->n_records++;
    if (d->world == 1) {
        records_writer_write_line(d->file, line, n);
        free(line);
        return;
    }
    CHECK(memchr(line, '\n', n) == NULL, "a record line holds a newline");
    if (d->len + n + 1 > d->cap) {
        d->cap = 2 * (d->len + n + 1) + 4096;
        d->buf = xrealloc(d->buf, d->cap);
        CHECK(d->buf != NULL, "out of memory keeping %zu bytes of records for %s", d->cap, d->path);
    }
    memcpy(d->buf + d->len, line, n);
    d->len += n;
    d->buf[d->len++] = '\n';
    free(line);
}

void dist_records_end_input(DistRecords *d) {
    if (d->world == 1) return; // records went straight to the file
    if (d->n_groups == d->groups_cap) {
        d->groups_cap = d->groups_cap ? 2 * d->groups_cap : 256;
        d->group_end = xrealloc(d->group_end, (size_t)d->groups_cap * sizeof(int64_t));
        CHECK(d->group_end != NULL, "out of memory (%lld inputs)", (long long)d->groups_cap);
    }
    d->group_end[d->n_groups++] = d->n_records;
}

// Rank `root`'s bytes[n] to rank 0 (into `dst`, n bytes, on rank 0 only), in chunks: the other
// ranks take part in each broadcast with a chunk-sized scratch.
static void pass_to_rank0(DistRecords *d, int root, void *src, void *dst, size_t n, char *scratch, const char *what) {
    for (size_t at = 0; at < n; at += BCAST_CHUNK) {
        size_t m = n - at < BCAST_CHUNK ? n - at : BCAST_CHUNK;
        char *p = d->rank == root ? (char *)src + at : d->rank == 0 ? (char *)dst + at : scratch;
        d->host->broadcast(p, m, root, what);
    }
}

// One rank's part as rank 0 holds it: its lines and where each input's group ends.
typedef struct {
    char *buf;
    size_t len, at;          // at: the next unread byte
    int64_t *group_end;      // [n_groups] record counts
    int64_t n_groups, group; // group: the next unread input
    int64_t records;         // records read so far
} Part;

int64_t dist_records_close(DistRecords *d) {
    if (d->world == 1) {
        int64_t n = d->n_records;
        records_writer_close(d->file);
        free(d->path);
        memset(d, 0, sizeof *d);
        return n;
    }
    Part *parts = xcalloc((size_t)d->world, sizeof(Part));
    char *scratch = d->rank == 0 ? NULL : xmalloc(BCAST_CHUNK);
    for (int r = 0; r < d->world; r++) {
        int64_t head[2] = {d->n_groups, (int64_t)d->len}; // this rank's, or rank r's once received
        d->host->broadcast(head, sizeof head, r, "record counts");
        Part *p = &parts[r];
        p->n_groups = head[0], p->len = (size_t)head[1];
        if (r == d->rank) {
            p->buf = d->buf, p->group_end = d->group_end;
        } else if (d->rank == 0) {
            p->buf = xmalloc(p->len + 1);
            p->group_end = xmalloc((size_t)(p->n_groups + 1) * sizeof(int64_t));
        }
        if (r == 0) continue; // rank 0's part is on rank 0 already
        pass_to_rank0(d, r, d->group_end, p->group_end, (size_t)p->n_groups * sizeof(int64_t), scratch,
                      "record groups");
        pass_to_rank0(d, r, d->buf, p->buf, p->len, scratch, "records");
    }
    int64_t written = 0;
    if (d->rank == 0) {
        d->file = records_writer_open(d->path);
        // input i is the work of rank i % world: each rank's next group in turn until the
        // rank whose turn it is has none left
        for (int64_t i = 0;; i++) {
            Part *p = &parts[i % d->world];
            if (p->group == p->n_groups) break;
            for (int64_t end = p->group_end[p->group++]; p->records < end; p->records++) {
                char *nl = memchr(p->buf + p->at, '\n', p->len - p->at);
                CHECK(nl != NULL, "rank %d's records for %s end early", (int)(i % d->world), d->path);
                records_writer_write_line(d->file, p->buf + p->at, (size_t)(nl - (p->buf + p->at)));
                p->at = (size_t)(nl - p->buf) + 1;
                written++;
            }
        }
        for (int r = 0; r < d->world; r++)
            CHECK(parts[r].group == parts[r].n_groups && parts[r].at == parts[r].len,
                  "rank %d put %lld inputs' records for %s, not its share (record i is rank i %% %d's)", r,
                  (long long)parts[r].n_groups, d->path, d->world);
        records_writer_close(d->file);
        for (int r = 1; r < d->world; r++) free(parts[r].buf), free(parts[r].group_end);
    }
    d->host->broadcast(&written, sizeof written, 0, "record total");
    free(parts), free(scratch), free(d->buf), free(d->group_end), free(d->path);
    memset(d, 0, sizeof *d);
    return written;
}
