// schedule.c: see schedule.h.
#include "schedule.h"

#include <math.h>

float lr_at(const LrSchedule *s, int step) {
    if (s->warmup > 0 && step <= s->warmup) return s->lr * (float)step / (float)s->warmup;
    int decay_steps = s->total - s->warmup;
    if (decay_steps <= 0) return s->lr;
    double progress = (double)(step - s->warmup) / decay_steps;
    if (progress > 1) progress = 1;
    double cosine = 0.5 * (1.0 + cos(M_PI * progress));
    return (float)(s->min_lr + (s->lr - s->min_lr) * cosine);
}
