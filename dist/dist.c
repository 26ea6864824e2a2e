// dist.c: see dist.h.
#include "dist.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/check.h"

// ---- device selection ----

Backend *dist_backend_select(const char *device, int threads) {
    int world = comm_world();
    if (world == 1) return backend_select(device, threads);
    if (threads == 0) { // share the node's cores among its ranks
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = (int)(cores / comm_local_world());
        if (threads < 1) threads = 1;
    }
    if (!device) device = "auto";
    Backend *b = NULL;
    const char *why = "unknown reason";
    if (strcmp(device, "cpu") == 0) {
        b = backend_cpu(threads);
    } else if (strcmp(device, "cuda") == 0 || strcmp(device, "auto") == 0) {
        b = backend_cuda(comm_local_rank(), &why);
        if (!b && comm_local_rank() > 0) b = backend_cuda(0, &why); // one GPU visible per rank (srun --gpu-bind)
        if (!b && strcmp(device, "cuda") == 0)
            fail("rank %d (local rank %d): no CUDA device: %s (the cpu or auto device runs without one)", comm_rank(),
                 comm_local_rank(), why);
        if (!b) b = backend_cpu(threads);
    } else {
        fail("'%s' is not a device (choose auto, cpu or cuda)", device);
    }
    double on_cuda[2] = {strcmp(b->name, "cuda") == 0, 0};
    on_cuda[1] = 1 - on_cuda[0];
    dist_sum(on_cuda, 2);
    if (on_cuda[0] > 0 && on_cuda[1] > 0)
        fail(
            "rank %d: %.0f rank(s) found a GPU and %.0f did not: give every rank a GPU or run every rank on the cpu device",
            comm_rank(), on_cuda[0], on_cuda[1]);
    return b;
}

// ---- host helpers ----

void dist_sum(double *values, int n) {
    Comm *c = comm_host();
    if (c) c->all_reduce(values, (size_t)n, COMM_F64, COMM_SUM, "step statistics");
}

int dist_any(int flag) {
    Comm *c = comm_host();
    if (!c) return flag;
    int v = flag;
    c->all_reduce(&v, 1, COMM_I32, COMM_MAX, "stop flag");
    return v;
}
