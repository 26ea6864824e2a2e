// bench_model.h: the model a benchmark runs (strap bench step and gen): a checkpoint, or a
// named shape (model/presets.h) with random weights.
#pragma once
#include "../kernels/backend.h"
#include "../model/llama.h"

// Loads model_dir, or builds the preset's shape with random weights, its context stretched
// to min_seq tokens if that is longer. Fails on an unknown preset.
void bench_model(Model *m, const char *model_dir, const char *preset, int min_seq, Backend *backend);

// qsort comparison of doubles, ascending
int bench_cmp_double(const void *a, const void *b);
