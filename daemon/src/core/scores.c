/* f8d scores: softmax in double and top-k via libf8. */
#include "scores.h"

#include <math.h>

#include "f8.h"

static int32_t max_logit(const int32_t *logits, uint32_t n)
{
    int32_t m = logits[0];
    for (uint32_t i = 1; i < n; i++)
        m = logits[i] > m ? logits[i] : m;
    return m;
}

/* exp((logit - max) * 2^-fl): the difference is exact in 64 bits, the scaling exact in double. */
static double shifted_exp(int32_t logit, int32_t max, int fl)
{
    return exp(ldexp((double)((int64_t)logit - (int64_t)max), -fl));
}

static double denominator(const int32_t *logits, uint32_t n, int32_t max, int fl)
{
    double sum = 0.0;
    for (uint32_t i = 0; i < n; i++)
        sum += shifted_exp(logits[i], max, fl);
    return sum;
}

/* The engine's f8_softmax: the CLI and the daemon share one. */
void f8d_softmax(const int32_t *logits, uint32_t n, int fl, double *probs)
{
    f8_softmax(logits, n, fl, probs);
}

/* Not f8_softmax: that needs n doubles of scratch per image and this function (scores.h) has
 * no way to report a failed allocation, while only the k best probabilities are wanted. It
 * computes the same terms in the same order (max, then exp(ldexp(logit - max, -fl)) summed
 * from index 0, then one division), so every score is bit-identical to f8_softmax's;
 * tests/unit/test_daemon_softmax.c checks that with ==. */
uint32_t f8d_scores_top_k(const int32_t *logits, uint32_t n, int fl, uint32_t k,
                          uint32_t *indices, double *scores)
{
    if (n == 0 || k == 0)
        return 0;
    uint32_t count = f8_top_k(logits, n, k, indices);
    int32_t max = max_logit(logits, n);
    double sum = denominator(logits, n, max, fl);
    for (uint32_t i = 0; i < count; i++)
        scores[i] = shifted_exp(logits[indices[i]], max, fl) / sum;
    return count;
}
