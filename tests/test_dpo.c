// test_dpo.c: the DPO-family losses and their derivatives against TRL's formulas evaluated
// by PyTorch autograd in float64 (tests/ref/make_dpo_fixture.py).
#include <jansson.h>
#include <math.h>

#include "../base/check.h"
#include "../model/dpo_loss.h"
#include "../model/llama.h"
#include "../model/safetensors.h"
#include "test.h"

static void test_against_trl_fixture(void) {
    json_error_t err;
    json_t *root = json_load_file("tests/ref/fixtures/dpo_loss.json", 0, &err);
    EXPECT(root != NULL, "fixture: %s", err.text);
    if (!root) return;
    size_t i;
    json_t *c;
    int n = 0;
    json_array_foreach(json_object_get(root, "cases"), i, c) {
        DpoLoss o = {dpo_loss_type(json_string_value(json_object_get(c, "loss_type"))),
                     json_number_value(json_object_get(c, "beta")),
                     json_number_value(json_object_get(c, "label_smoothing"))};
        json_t *p = json_object_get(c, "logps");
        double dc, dr;
        double loss =
            dpo_pair_loss(&o, json_number_value(json_array_get(p, 0)), json_number_value(json_array_get(p, 1)),
                          json_number_value(json_array_get(p, 2)), json_number_value(json_array_get(p, 3)), &dc, &dr);
        double want = json_number_value(json_object_get(c, "loss")),
               want_dc = json_number_value(json_object_get(c, "d_pi_chosen")),
               want_dr = json_number_value(json_object_get(c, "d_pi_rejected"));
        // float64 on both sides: agreement to ~1e-12 relative (1e-10 leaves margin)
        EXPECT(fabs(loss - want) <= 1e-10 * fmax(1, fabs(want)), "case %zu: loss %.15g vs %.15g", i, loss, want);
        EXPECT(fabs(dc - want_dc) <= 1e-10 * fmax(1, fabs(want_dc)), "case %zu: d chosen %.15g vs %.15g", i, dc,
               want_dc);
        EXPECT(fabs(dr - want_dr) <= 1e-10 * fmax(1, fabs(want_dr)), "case %zu: d rejected %.15g vs %.15g", i, dr,
               want_dr);
        n++;
    }
    EXPECT(n >= 30, "only %d fixture cases", n);
    json_decref(root);
}

// A whole DPO step on the tiny tied HF model: sequence log-probs of the answer tokens,
// the loss, and every parameter's gradient against PyTorch (tests/ref/make_dpo_fixture.py).
static void test_dpo_step_against_pytorch(void) {
    Model m;
    model_load(&m, "tests/ref/fixtures/gqa_tied", backend_cpu(0));
    model_enable_grads(&m);
    SafeTensors st;
    st_open(&st, "tests/ref/fixtures/dpo_step/expected.safetensors");
    json_t *ref = json_load_file("tests/ref/fixtures/dpo_step/expected.json", 0, NULL);
    EXPECT(ref != NULL, "expected.json");
    if (!ref) return;
    int B = 4, T = 11, N = B * T;
    int tokens[44], targets[44];
    st_read_i32(&st, st_find(&st, "tokens"), tokens);
    st_read_i32(&st, st_find(&st, "targets"), targets);
    float loss_ignored = model_forward(&m, tokens, targets, B, T);
    (void)loss_ignored;
    double logp[4] = {0}, worst_logp = 0;
    for (int i = 0; i < N; i++)
        if (targets[i] >= 0) logp[i / T] -= m.acts.losses_host[i];
    for (int s = 0; s < B; s++) {
        double want = json_number_value(json_array_get(json_object_get(ref, "policy_logps"), (size_t)s));
        worst_logp = fmax(worst_logp, fabs(logp[s] - want) / fabs(want));
    }
    EXPECT(worst_logp < 1e-5, "sequence log-probs differ by %.3g (relative)", worst_logp);
    DpoLoss o = {DPO_SIGMOID, json_number_value(json_object_get(ref, "beta")),
                 json_number_value(json_object_get(ref, "label_smoothing"))};
    json_t *r = json_object_get(ref, "ref_logps");
    float weights[44];
    double loss = 0;
    for (int k = 0; k < 2; k++) {
        double dc, dr;
        loss += dpo_pair_loss(&o, logp[2 * k], logp[2 * k + 1], json_number_value(json_array_get(r, (size_t)(2 * k))),
                              json_number_value(json_array_get(r, (size_t)(2 * k + 1))), &dc, &dr) /
                2;
        for (int t = 0; t < T; t++) { // a token loss is -log p: d loss / d token loss = -d loss / d logp
            weights[(2 * k) * T + t] = (float)(-dc / 2);
            weights[(2 * k + 1) * T + t] = (float)(-dr / 2);
        }
    }
    double want_loss = json_number_value(json_object_get(ref, "loss"));
    EXPECT(fabs(loss - want_loss) < 1e-5 * want_loss, "DPO loss %.7f vs %.7f", loss, want_loss);
    model_zero_grads(&m);
    model_backward_weighted(&m, weights);
    float *g = xmalloc(m.n_params * sizeof(float));
    model_get_grads_host(&m, g);
    double worst = 0;
    for (int i = 0; i < m.n_tensors; i++) {
        const ParamTensor *t = &m.tensors[i];
        char name[128];
        snprintf(name, sizeof name, "grad.%s", t->name);
        const StTensor *s = st_find(&st, name);
        EXPECT(s != NULL, "fixture lacks %s", name);
        if (!s) continue;
        float *want = xmalloc(t->numel * sizeof(float));
        st_read_f32(&st, s, want);
        double scale = 1e-12, err = 0;
        for (size_t k = 0; k < t->numel; k++) scale = fmax(scale, fabs(want[k]));
        for (size_t k = 0; k < t->numel; k++) err = fmax(err, fabs(g[t->offset + k] - want[k]));
        worst = fmax(worst, err / scale);
        free(want);
    }
    // fp32 against float64 through 3 layers, as the model test: 1e-4 scaled
    EXPECT(worst < 1e-4, "DPO gradients: worst scaled error %.3g", worst);
    printf("    dpo step: loss %.6f (ref %.6f), log-prob err %.2g, worst grad err %.2g\n", loss, want_loss, worst_logp,
           worst);
    free(g);
    json_decref(ref);
    st_close(&st);
    model_free(&m);
}

int main(void) {
    RUN(test_against_trl_fixture);
    RUN(test_dpo_step_against_pytorch);
    return test_summary();
}
