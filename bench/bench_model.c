// bench_model.c: see bench_model.h.
#include "bench_model.h"

#include "../base/check.h"
#include "../model/presets.h"

void bench_model(Model *m, const char *model_dir, const char *preset, int min_seq, Backend *backend) {
    if (model_dir) {
        model_load(m, model_dir, backend);
        return;
    }
    LlamaConfig c;
    if (!preset_config(preset, &c)) fail("the model shape '%s' is unknown (known: %s)", preset, preset_names());
    if (min_seq > c.max_seq) c.max_seq = min_seq;
    model_build(m, &c, backend);
    model_init_weights(m, 1);
}

int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
