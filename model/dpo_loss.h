// dpo_loss.h: preference losses on sequence log-probabilities, as in Hugging Face TRL's
// DPOTrainer: z = (pi_chosen - pi_rejected) - (ref_chosen - ref_rejected), where each term
// is the sum of log p(response token) under the policy or the frozen reference.
//   sigmoid (DPO):  -(1-e) log sigmoid(beta z) - e log sigmoid(-beta z)      (e: label smoothing)
//   ipo:            (z - 1/(2 beta))^2
//   robust (rDPO):  (-(1-e) log sigmoid(beta z) + e log sigmoid(-beta z)) / (1 - 2e)
// Implicit rewards: beta (pi_chosen - ref_chosen) and beta (pi_rejected - ref_rejected).
#pragma once

typedef enum { DPO_SIGMOID, DPO_IPO, DPO_ROBUST } DpoLossType;
extern const char *const DPO_LOSS_NAMES[]; // "sigmoid", "ipo", "robust", NULL: indexed by DpoLossType

typedef struct {
    DpoLossType type;
    double beta;
    double label_smoothing;
} DpoLoss;

// "sigmoid" | "ipo" | "robust"; fails naming the value otherwise.
DpoLossType dpo_loss_type(const char *name);
// The loss of one pair, and its derivatives with respect to the policy's chosen and
// rejected log-probabilities (the reference is frozen).
double dpo_pair_loss(const DpoLoss *o, double pi_chosen, double pi_rejected, double ref_chosen, double ref_rejected,
                     double *d_pi_chosen, double *d_pi_rejected);
