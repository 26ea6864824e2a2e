// presets.h: named model shapes for `strap init --preset` and `strap bench --preset`.
//   tiny  : 2 layers, width 64 (tests, seconds on a CPU)
//   15m   : 6 layers, width 288, 6 heads (llama2.c's stories15M shape)
//   125m  : 30 layers, width 576, 9 heads / 3 KV heads, tied (SmolLM2-135M's shape)
#pragma once
#include "config.h"

// Fills c and returns 1, or returns 0 for an unknown name.
int preset_config(const char *name, LlamaConfig *c);
// "tiny, 15m, 125m"
const char *preset_names(void);
