/* f8_softmax: the probabilities of logit·2^-fl, checked against values computed by hand. */
#include <math.h>
#include <stdint.h>

#include "f8.h"
#include "unit.h"

#define NEAR(a, b) CU_ASSERT(fabs((a) - (b)) < 1e-12)

static void test_values(void)
{
    /* logits 0, 1, 2 at fl 0: e^0, e^1, e^2 over their sum */
    const int32_t l[3] = {0, 1, 2};
    double p[3];
    f8_softmax(l, 3, 0, p);
    const double s = 1.0 + exp(1.0) + exp(2.0);
    NEAR(p[0], 1.0 / s);
    NEAR(p[1], exp(1.0) / s);
    NEAR(p[2], exp(2.0) / s);
    NEAR(p[0], 0.09003057317038046);
    NEAR(p[2], 0.6652409557748219);
    /* the same values at fl 8 (logit / 256) */
    const int32_t l8[3] = {0, 256, 512};
    double p8[3];
    f8_softmax(l8, 3, 8, p8);
    for (int i = 0; i < 3; i++)
        NEAR(p8[i], p[i]);
    /* equal logits: uniform; a negative fl scales up */
    const int32_t eq[4] = {7, 7, 7, 7};
    double pe[4];
    f8_softmax(eq, 4, -3, pe);
    for (int i = 0; i < 4; i++)
        NEAR(pe[i], 0.25);
}

static void test_extremes(void)
{
    /* the full s32 range: no overflow, the largest logit takes (almost) everything */
    const int32_t l[2] = {INT32_MIN, INT32_MAX};
    double p[2];
    f8_softmax(l, 2, 0, p);
    NEAR(p[0], 0.0);
    NEAR(p[1], 1.0);
    /* one logit: probability 1; none: nothing written */
    const int32_t one = -5;
    double p1 = 0;
    f8_softmax(&one, 1, 3, &p1);
    NEAR(p1, 1.0);
    double untouched = 42.0;
    f8_softmax(l, 0, 0, &untouched);
    NEAR(untouched, 42.0);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"values", test_values},
        {"extremes", test_extremes},
        CU_TEST_INFO_NULL,
    };
    return unit_run("softmax", tests);
}
