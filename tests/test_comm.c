// test_comm.c: the process group and the MPI collectives (dist/comm.h).
//
// Run on its own (tests/run.sh) it is rank 0 of 1: no MPI, no Comm, and the host helpers of
// dist.h are no-ops. Run under mpirun (tests/cli/mpi_comm.sh, 2 and 3 ranks) it checks every
// collective of the host Comm and of the CPU backend's Comm (the same MPI table) against
// sums computed here (tests/comm_check.h), for f32, f64 and i32. Only rank 0 prints; a check
// that fails on any rank fails on all, so its summary line is the job's.
#include <stdio.h>

#include "../dist/comm.h"
#include "../dist/dist.h"
#include "../kernels/backend.h"
#include "comm_check.h"

static void test_one_rank(void) {
    EXPECT(comm_rank() == 0 && comm_world() == 1, "rank %d of %d", comm_rank(), comm_world());
    EXPECT(comm_host() == NULL, "one rank has a host Comm");
    EXPECT(comm_for_backend(backend_select("cpu", 1)) == NULL, "one rank has a backend Comm");
    double v[2] = {1.5, -2};
    dist_sum(v, 2);
    EXPECT(v[0] == 1.5 && v[1] == -2, "dist_sum on one rank changed the values: %g %g", v[0], v[1]);
    EXPECT(dist_any(0) == 0 && dist_any(1) == 1, "dist_any on one rank");
}

static void test_ranks(void) {
    int world = comm_world(), rank = comm_rank();
    EXPECT(comm_local_rank() >= 0 && comm_local_rank() < comm_local_world() && comm_local_world() <= world,
           "local rank %d of %d on a world of %d", comm_local_rank(), comm_local_world(), world);
    Comm *host = comm_host();
    EXPECT(host && host->rank == rank && host->world == world, "the host Comm does not know rank %d of %d", rank,
           world);
    EXPECT(comm_for_backend(backend_select("cpu", 1)) == host, "the CPU backend's Comm is not the host one");
    double v[2] = {(double)rank, 1};
    dist_sum(v, 2);
    EXPECT(v[0] == world * (world - 1) / 2.0 && v[1] == world, "dist_sum gave %g %g", v[0], v[1]);
    EXPECT(dist_any(rank == world - 1) == 1 && dist_any(0) == 0, "dist_any");
}

int main(int argc, char **argv) {
    comm_init(&argc, &argv);
    if (comm_world() == 1) {
        RUN(test_one_rank);
        return test_summary();
    }
    if (comm_rank() != 0 && !freopen("/dev/null", "w", stdout)) return 1; // rank 0 speaks for the job
    RUN(test_ranks);
    CommCheck k = {comm_host(), comm_host(), backend_select("cpu", 1)};
    const CommType types[3] = {COMM_F32, COMM_F64, COMM_I32}; // MPI has no bf16 (bf16 lives on GPUs: NCCL)
    comm_check_all(&k, types, 3);
    int rc = test_summary();
    comm_finalize();
    return rc;
}
