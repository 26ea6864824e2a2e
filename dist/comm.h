// comm.h: the processes of a distributed run and the collectives between them.
//
// A run is `world` processes (ranks) started by mpirun or srun; a process started without a
// launcher is rank 0 of 1 and never touches MPI. MPI starts the ranks, tells each its rank,
// world size and local rank (its index among the ranks on the same node, which picks its
// GPU), and does the collectives on host (CPU) buffers. On GPUs, NCCL does the collectives
// on device buffers: rank 0 makes an NCCL unique id and MPI broadcasts it.
//
// The op table (Comm) and its buffer rules: kernels/comm_ops.h.
#pragma once
#include <stddef.h>

#include "../kernels/backend.h"
#include "../kernels/comm_ops.h"

// ---- the process group (one per process) ----

// Called first thing in main: joins the MPI job when launched by mpirun / srun (MPI_Init),
// and makes every later failure of this process (exit with a non-zero status) abort the
// whole job with a message naming the rank instead of leaving the other ranks waiting.
void comm_init(int *argc, char ***argv);
// Called when main returns normally: MPI_Finalize (no-op for a single process).
void comm_finalize(void);
int comm_rank(void);
int comm_world(void);
int comm_local_rank(void);  // index among the ranks on this node
int comm_local_world(void); // ranks on this node
// 1 when this strap was built with MPI (make MPI=0 builds a single-rank binary).
int comm_have_mpi(void);
// What this build can do across processes, e.g. "mpi, nccl" or "none (built with MPI=0)".
const char *comm_compiled_list(void);

// Collectives on host buffers (MPI); NULL when world == 1.
Comm *comm_host(void);
// Collectives on `backend`'s buffers: the host table for the CPU backend, NCCL for CUDA
// (created on first use). NULL when world == 1. Fails when the backend has no collectives
// in this build (CUDA without NCCL).
Comm *comm_for_backend(const Backend *backend);
