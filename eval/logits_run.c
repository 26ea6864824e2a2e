// logits_run.c: see logits_run.h.
#include "logits_run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/check.h"
#include "../model/llama.h"
#include "ppl_run.h"

void logits_options_default(LogitsOptions *o) {
    memset(o, 0, sizeof *o);
    o->top = 20;
    o->device = "auto";
}

int logits_run(const LogitsOptions *o) {
    Model m;
    model_load(&m, o->model_dir, backend_select(o->device, o->threads));
    int64_t n;
    int *ids = tokens_file_read(o->tokens_file, &n);
    if (n < 1 || n > m.config.max_seq)
        fail("%s: %lld tokens; the model takes 1 to %d", o->tokens_file, (long long)n, m.config.max_seq);
    int V = m.config.vocab_size;
    float *last = xmalloc((size_t)V * sizeof(float));
    model_forward(&m, ids, NULL, 1, (int)n);
    model_logits_rows(&m, (int)n - 1, 1, last); // the classifier of the last position alone
    int top = o->top < V ? o->top : V;
    printf("{\"top\": [");
    for (int k = 0; k < top; k++) { // selection: k passes over V (K is small)
        int best = -1;
        for (int v = 0; v < V; v++)
            if (!isnan(last[v]) && (best < 0 || last[v] > last[best])) best = v;
        printf("%s[%d, %.6f]", k ? ", " : "", best, last[best]);
        last[best] = NAN;
    }
    printf("]}\n");
    free(last), free(ids);
    model_free(&m);
    return 0;
}
