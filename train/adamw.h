// adamw.h: AdamW optimizer state for a Model: fp32 moments (and fp32 master weights on
// backends whose parameters are lower precision), and its checkpoint file
// optimizer.safetensors, which holds everything needed to resume bit-identically
// (master weights, moments, and the trainer state as JSON in the metadata).
#pragma once
#include "../model/llama.h"

typedef struct {
    float beta1, beta2, eps, weight_decay;
    float *m;      // (n_params) device fp32
    float *v;      // (n_params) device fp32
    float *master; // (n_params) device fp32, NULL when the backend updates params in place
    int step;      // optimizer steps taken
} AdamW;

// `weights` (n_params fp32 on the host) seeds the master copy; NULL: read the params back
// (then lower-precision backends start from their rounded values).
void adamw_build(AdamW *o, Model *model, const float *weights, float beta1, float beta2, float eps, float weight_decay);
void adamw_free(AdamW *o, Model *model);
// One update of every tensor: grads are multiplied by grad_scale (clipping) first; weight
// decay applies to matrices only (ParamTensor.decay).
void adamw_step(AdamW *o, Model *model, float lr, float grad_scale);
// Global L2 norm of model->grads.
float grad_global_norm(Model *model);

// Writes PATH (optimizer.safetensors) atomically: master.<name>, exp_avg.<name>,
// exp_avg_sq.<name> for every parameter tensor, and `state_json` under metadata key
// "trainer_state".
void adamw_save(const AdamW *o, const Model *model, const char *path, const char *state_json);
// Restores weights, moments and step from PATH; returns the trainer_state JSON (malloc'd).
char *adamw_load(AdamW *o, Model *model, const char *path);
// The same file from / into host fp32 vectors (n_params each): what a sharded (ZeRO-1)
// optimizer gathers before saving and scatters after loading.
void adamw_save_host(const Model *model, const float *master, const float *m, const float *v, int step,
                     const char *path, const char *state_json);
char *adamw_load_host(const Model *model, const char *path, float *master, float *m, float *v, int *step);
