// cmd_bench_comm.h: `strap bench comm` (cli/cmd_bench_comm.c, the benchmark itself
// bench/bench_comm.c), dispatched from cmd_bench(). argv[0] is the kind ("comm").
#pragma once

int bench_comm(int argc, char **argv);
