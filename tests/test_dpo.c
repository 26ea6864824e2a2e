// test_dpo.c: the DPO-family losses and their derivatives against TRL's formulas evaluated
// by PyTorch autograd in float64 (tests/ref/make_dpo_fixture.py).
#include <jansson.h>
#include <math.h>

#include "../train/dpo_loss.h"
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
        double loss = dpo_pair_loss(&o, json_number_value(json_array_get(p, 0)), json_number_value(json_array_get(p, 1)),
                                    json_number_value(json_array_get(p, 2)), json_number_value(json_array_get(p, 3)),
                                    &dc, &dr);
        double want = json_number_value(json_object_get(c, "loss")),
               want_dc = json_number_value(json_object_get(c, "d_pi_chosen")),
               want_dr = json_number_value(json_object_get(c, "d_pi_rejected"));
        // float64 on both sides: agreement to ~1e-12 relative (1e-10 leaves margin)
        EXPECT(fabs(loss - want) <= 1e-10 * fmax(1, fabs(want)), "case %zu: loss %.15g vs %.15g", i, loss, want);
        EXPECT(fabs(dc - want_dc) <= 1e-10 * fmax(1, fabs(want_dc)), "case %zu: d chosen %.15g vs %.15g", i, dc, want_dc);
        EXPECT(fabs(dr - want_dr) <= 1e-10 * fmax(1, fabs(want_dr)), "case %zu: d rejected %.15g vs %.15g", i, dr, want_dr);
        n++;
    }
    EXPECT(n >= 30, "only %d fixture cases", n);
    json_decref(root);
}

int main(void) {
    RUN(test_against_trl_fixture);
    return test_summary();
}
