// schedule.h: learning rate schedule: linear warmup from 0 to lr over `warmup` steps, then
// cosine decay from lr to min_lr at step `total`.
#pragma once

typedef struct {
    float lr, min_lr;
    int warmup, total;
} LrSchedule;

// lr for step (1-based)
float lr_at(const LrSchedule *s, int step);
