// dist.h: what every command run by several ranks shares: the device of this rank and
// small collectives on host values. The process group and the collectives themselves are
// comm.h; splitting a record file among the ranks is dist_records.h; data-parallel training
// (gradient reduction, ZeRO-1) is train/dist_opt.h.
#pragma once
#include "../kernels/backend.h"
#include "comm.h"

// The backend for --device on this rank: a rank's GPU is its local rank; with several ranks
// on one node and --threads 0, each CPU rank gets its share of the cores. All ranks must
// land on the same kind of device (checked).
Backend *dist_backend_select(const char *device, int threads);

// Helpers on host values (no-ops with one rank): sums, max.
void dist_sum(double *values, int n);
int dist_any(int flag);
