// loop_report.h: W/report.md of a self-rewarding run (strap loop): one summary table with a
// row per iteration, then per iteration the synthesis, judging, cleaning, pairing, DPO and
// evaluation figures read from the files the stages wrote (W/iter-NN/*.json,
// model/metrics.jsonl). PNG plots of the DPO metrics are made by scripts/plot_loop.py when
// python3 with matplotlib is available; the report says how to make them otherwise.
#pragma once

// Rewrites W/report.md (atomically) for iterations 1..iterations.
void loop_report_write(const char *workdir, int iterations);
