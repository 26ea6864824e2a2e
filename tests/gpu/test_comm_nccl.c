// test_comm_nccl.c: the NCCL collectives (kernels/cuda/comm_nccl.cu) on GPU buffers, checked
// against sums computed here (tests/comm_check.h) in f32, bf16, f64 and i32: all-reduce
// (SUM, AVG, MAX), reduce-scatter, all-gather, broadcast, and the started all-reduces and
// reduces of the gradient buckets with a blocking collective called while they run (the
// stream and event ordering of comm_nccl.cu).
//
// On its own (make test-gpu, one GPU) it makes a communicator of one rank itself, since
// strap makes none for one rank: every result is the rank's own input, which still runs
// each NCCL call, its types and its stream ordering. Under mpirun on a machine with several
// GPUs (mpirun -np 2 build/tests/gpu/test_comm_nccl) each rank takes its local GPU and the
// communicator strap's training uses (comm_for_backend), and the sums are real.
#include <stdio.h>

#include "../../dist/comm.h"
#include "../../dist/dist.h"
#include "../../kernels/backend.h"
#ifdef STRAP_NCCL
#include "../comm_check.h"
#else
#include "../test.h"
#endif

int main(int argc, char **argv) {
    comm_init(&argc, &argv);
#ifndef STRAP_NCCL
    printf("test_comm_nccl: this build has no NCCL (make NCCL=0, or nccl.h not found: set NCCL_HOME)\n");
    printf("0 passed, 1 failed\n");
    return 1;
#else
    const char *why = NULL;
    if (!backend_cuda(0, &why)) {
        printf("test_comm_nccl: the CUDA backend is not available: %s\n", why ? why : "(no reason given)");
        printf("0 passed, 1 failed\n");
        return 1;
    }
    Backend *gpu = dist_backend_select("cuda", 0); // under mpirun: the rank's local GPU
    Comm *c;
    if (comm_world() > 1) {
        c = comm_for_backend(gpu);
    } else {
        char id[COMM_NCCL_ID_BYTES];
        comm_nccl_unique_id(id);
        c = comm_nccl_create(id, 0, 1);
    }
    if (comm_rank() != 0 && !freopen("/dev/null", "w", stdout)) return 1; // rank 0 speaks for the job
    printf("NCCL on %d rank%s\n", c->world, c->world == 1 ? "" : "s");
    CommCheck k = {c, comm_host(), gpu};
    const CommType types[4] = {COMM_F32, COMM_BF16, COMM_F64, COMM_I32};
    comm_check_all(&k, types, 4);
    int rc = test_summary();
    comm_finalize();
    return rc;
#endif
}
