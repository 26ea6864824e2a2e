// backend.c: choosing a backend at run time.
#include "backend.h"

#include <stdio.h>
#include <string.h>

#include "../base/check.h"
#include "cpu/gemm.h"

#ifndef STRAP_CUDA
Backend *backend_cuda(int device, const char **why_not) {
    (void)device;
    if (why_not) *why_not = "this strap was built without CUDA (nvcc not found at build time)";
    return NULL;
}
#endif

Backend *backend_select(const char *device, int threads) {
    if (!device) device = "auto";
    if (strcmp(device, "cpu") == 0) return backend_cpu(threads);
    const char *why = "unknown reason";
    if (strcmp(device, "cuda") == 0) {
        Backend *b = backend_cuda(0, &why);
        if (!b) fail("no CUDA device: %s (the cpu or auto device runs without one)", why);
        return b;
    }
    if (strcmp(device, "auto") == 0) {
        Backend *b = backend_cuda(0, &why);
        return b ? b : backend_cpu(threads);
    }
    fail("'%s' is not a device (choose auto, cpu or cuda)", device);
}

const char *backend_compiled_list(void) {
    static char list[128];
    snprintf(list, sizeof list, "cpu (%s%s)%s", gemm_impl_name(),
#ifdef _OPENMP
             ", OpenMP",
#else
             "",
#endif
#ifdef STRAP_CUDA
             ", cuda"
#else
             ""
#endif
    );
    return list;
}
