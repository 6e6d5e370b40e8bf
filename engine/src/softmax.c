/*
 * f8_softmax (f8.h): the one softmax of the project (the CLI's `f8 classify` and the daemon's
 * scores both call it), for reports: the engine's answer is the integer logits.
 */
#include <math.h>

#include "f8.h"

void f8_softmax(const int32_t *logits, uint32_t n, int fl, double *probs)
{
    if (n == 0)
        return;
    int32_t max = logits[0];
    for (uint32_t i = 1; i < n; i++)
        max = logits[i] > max ? logits[i] : max;
    /* exp((logit - max) · 2^-fl): the difference is exact in 64 bits, the scaling exact in
     * double, and every exponent <= 0, so nothing overflows and the largest term is 1. */
    double sum = 0.0;
    for (uint32_t i = 0; i < n; i++) {
        probs[i] = exp(ldexp((double)((int64_t)logits[i] - (int64_t)max), -fl));
        sum += probs[i];
    }
    for (uint32_t i = 0; i < n; i++)
        probs[i] /= sum;
}
