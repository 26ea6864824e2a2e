// dpo_loss.c: see dpo_loss.h.
#include "dpo_loss.h"

#include <math.h>
#include <string.h>

#include "../base/check.h"

const char *const DPO_LOSS_NAMES[] = {"sigmoid", "ipo", "robust", NULL};

DpoLossType dpo_loss_type(const char *name) {
    if (strcmp(name, "sigmoid") == 0) return DPO_SIGMOID;
    if (strcmp(name, "ipo") == 0) return DPO_IPO;
    if (strcmp(name, "robust") == 0) return DPO_ROBUST;
    fail("the DPO loss '%s' is unknown (choose sigmoid, ipo or robust)", name);
}

// log sigmoid(x) without overflow
static double log_sigmoid(double x) { return x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x)); }
static double sigmoid(double x) { return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)); }

double dpo_pair_loss(const DpoLoss *o, double pi_chosen, double pi_rejected, double ref_chosen, double ref_rejected,
                     double *d_pi_chosen, double *d_pi_rejected) {
    double z = (pi_chosen - pi_rejected) - (ref_chosen - ref_rejected), b = o->beta, e = o->label_smoothing;
    double loss, dz;
    switch (o->type) {
    case DPO_IPO:
        loss = (z - 1 / (2 * b)) * (z - 1 / (2 * b));
        dz = 2 * (z - 1 / (2 * b));
        break;
    case DPO_ROBUST:
        CHECK(e < 0.5, "robust DPO needs label smoothing below 0.5 (got %g)", e);
        loss = (-(1 - e) * log_sigmoid(b * z) + e * log_sigmoid(-b * z)) / (1 - 2 * e);
        dz = (-(1 - e) * b * sigmoid(-b * z) - e * b * sigmoid(b * z)) / (1 - 2 * e);
        break;
    default:
        loss = -(1 - e) * log_sigmoid(b * z) - e * log_sigmoid(-b * z);
        dz = -(1 - e) * b * sigmoid(-b * z) + e * b * sigmoid(b * z);
    }
    *d_pi_chosen = dz;
    *d_pi_rejected = -dz;
    return loss;
}
